"""InferenceServices from config: served by Triton on GPUs, with model access through Workload Identity."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from catalog.gcp import GpuShare
from catalog.gpu_placement import GpuPlacement
from components.inference_services import InferenceServiceArgs, InferenceServices, InferenceServicesArgs
from components.triton_runtime import TritonRuntime, TritonRuntimeArgs
from kserve_triton.offline import OfflineRun
from tests.support.schemas import builtin_errors, crd_errors
from tests.support.stacks import shared_dir, shared_missing
from tests.upstream.kserve_selection import NoRuntimeError, select

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
SHARED = shared_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason=shared_missing("KServe CRDs"))
SHARE = GpuShare(cpu_millis=5000, memory_mib=20480)


def service(name: str, model_format: str = "onnx", **overrides) -> InferenceServiceArgs:
    values = dict(
        name=name,
        namespace="models",
        model_format=model_format,
        model_format_version=None,
        storage_uri=f"gs://team-models/{name}",
        gpus=1,
        min_replicas=1,
        max_replicas=2,
        runtime_version=None,
    )
    values.update(overrides)
    return InferenceServiceArgs(**values)


L4_POOL = GpuPlacement.gke_pool("nvidia-l4")


def build(harness, services, gpu_capacity=4, gpu=L4_POOL, cluster_local=True, **extra):
    def program():
        provider = k8s.Provider("cluster", kubeconfig="{}")
        controller = k8s.helm.v3.Release(
            "kserve-resources", chart="kserve-resources", opts=pulumi.ResourceOptions(provider=provider)
        )
        triton = TritonRuntime(
            "triton",
            TritonRuntimeArgs(
                image="nvcr.io/nvidia/tritonserver:25.01-py3",
                per_gpu=SHARE,
                gpu=gpu,
                shm_size="1Gi",
                startup_timeout_seconds=900,
                kserve_controller=controller,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        InferenceServices(
            "isvc",
            InferenceServicesArgs(
                services=services,
                runtime_name="kserve-tritonserver",
                per_gpu=SHARE,
                gpu_capacity=gpu_capacity,
                gpu=gpu,
                model_reader_email="cluster-models@my-project.iam.gserviceaccount.com",
                deployment_mode="Standard",
                cluster_local=cluster_local,
                depends_on=[triton.runtime, controller],
                **extra,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    harness.run(program)
    return harness.monitor


def isvc(monitor, name):
    (found,) = [n for n in monitor.of_type(ISVC) if n.inputs["metadata"]["name"] == name]
    return found


def model(node):
    return node.inputs["spec"]["predictor"]["model"]


ALL_FORMATS = [service("trt", "tensorrt"), service("tf", "tensorflow", model_format_version="2"),
               service("onnx", "onnx"), service("repo", "triton"), service("torch", "pytorch")]  # fmt: skip


@pytest.fixture
def declared(pulumi_mocks):
    return build(pulumi_mocks, ALL_FORMATS, gpu_capacity=8)


def test_model_format_storage_and_protocol_v2(declared):
    onnx = model(isvc(declared, "onnx"))
    assert onnx["modelFormat"] == {"name": "onnx"}
    assert onnx["storageUri"] == "gs://team-models/onnx"
    assert onnx["protocolVersion"] == "v2"
    assert model(isvc(declared, "tf"))["modelFormat"] == {"name": "tensorflow", "version": "2"}


def test_every_service_names_the_triton_runtime(declared):
    assert {model(n)["runtime"] for n in declared.of_type(ISVC)} == {"kserve-tritonserver"}


def test_gpu_requests_and_limits_scale_with_gpus(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("big", gpus=2), service("small")], gpu_capacity=8)
    big = model(isvc(monitor, "big"))["resources"]
    assert big["requests"] == {"cpu": "10000m", "memory": "40960Mi", "nvidia.com/gpu": "2"}
    assert big["limits"] == {"memory": "40960Mi", "nvidia.com/gpu": "2"}, "no CPU limit: no CFS throttling"
    small = model(isvc(monitor, "small"))["resources"]
    assert small["requests"] == {"cpu": "5000m", "memory": "20480Mi", "nvidia.com/gpu": "1"}


def test_gpu_toleration_and_replicas(declared):
    predictor = isvc(declared, "onnx").inputs["spec"]["predictor"]
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 2)


def test_standard_mode_and_cluster_local_are_explicit(declared):
    metadata = isvc(declared, "onnx").inputs["metadata"]
    assert metadata["namespace"] == "models"
    assert metadata["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert metadata["labels"] == {"networking.kserve.io/visibility": "cluster-local"}


def test_with_an_ingress_services_are_not_labelled_cluster_local(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("public")], cluster_local=False)
    assert "labels" not in isvc(monitor, "public").inputs["metadata"]


def test_rollout_adds_a_replica_first_only_when_a_gpu_is_spare(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("a", gpus=1), service("b", gpus=2)], gpu_capacity=4)
    # 3 GPUs in use at minReplicas out of 4: "a" (1 GPU) can surge, "b" (2 GPUs) cannot.
    strategy = {n: isvc(monitor, n).inputs["spec"]["predictor"]["deploymentStrategy"] for n in ("a", "b")}
    assert strategy["a"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert strategy["b"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_runtime_version_pins_the_tag_of_one_service(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("pinned", runtime_version="24.12-py3"), service("default")])
    assert model(isvc(monitor, "pinned"))["runtimeVersion"] == "24.12-py3"
    assert "runtimeVersion" not in model(isvc(monitor, "default"))


def test_a_namespace_and_a_model_reader_account_per_namespace(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("a"), service("b"), service("c", namespace="default")])
    namespaces = [n.inputs["metadata"]["name"] for n in monitor.of_type("kubernetes:core/v1:Namespace")]
    assert namespaces == ["models"], "default exists already and must not be managed"
    accounts = {
        n.inputs["metadata"]["namespace"]: n.inputs for n in monitor.of_type("kubernetes:core/v1:ServiceAccount")
    }
    assert set(accounts) == {"models", "default"}
    for account in accounts.values():
        assert account["metadata"]["name"] == "model-reader"
        assert account["metadata"]["annotations"] == {
            "iam.gke.io/gcp-service-account": "cluster-models@my-project.iam.gserviceaccount.com"
        }
        assert account["automountServiceAccountToken"] is False
    for node in monitor.of_type(ISVC):
        assert node.inputs["spec"]["predictor"]["serviceAccountName"] == "model-reader"


def test_services_wait_for_runtime_controller_namespace_and_account(declared):
    runtime = declared.one(CSR)
    controller = declared.one("kubernetes:helm.sh/v3:Release")
    namespace = declared.one("kubernetes:core/v1:Namespace")
    account = declared.one("kubernetes:core/v1:ServiceAccount")
    for node in declared.of_type(ISVC):
        for prerequisite in (runtime, controller, namespace, account):
            assert prerequisite.urn in node.dependencies, f"{node.name} must wait for {prerequisite.name}"


def test_cpu_only_clusters_request_no_gpus(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("cpu")], gpu=None, gpu_capacity=0)
    predictor = isvc(monitor, "cpu").inputs["spec"]["predictor"]
    assert "nvidia.com/gpu" not in predictor["model"]["resources"]["limits"]
    assert "tolerations" not in predictor


def test_component_outputs_in_cluster_urls(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("onnx")])
    outputs = monitor.one("kserve-triton:kserve:InferenceServices").registered_outputs
    assert outputs["urls"] == {"models/onnx": "http://onnx-predictor.models.svc.cluster.local"}


# --- KServe's runtime selection ---------------------------------------------------------------------------


def test_kserve_selects_triton_for_every_declared_service(declared):
    runtimes = [n.inputs for n in declared.of_type(CSR)]
    for node in declared.of_type(ISVC):
        assert select(model(node), runtimes) == "kserve-tritonserver", node.name


@pytest.mark.parametrize("format_name", ["tensorrt", "tensorflow", "onnx", "triton"])
def test_without_an_explicit_runtime_kserve_would_still_auto_select_triton(declared, format_name):
    runtimes = [n.inputs for n in declared.of_type(CSR)]
    (node,) = [n for n in declared.of_type(ISVC) if model(n)["modelFormat"]["name"] == format_name]
    auto = {k: v for k, v in model(node).items() if k != "runtime"}
    assert select(auto, runtimes) == "kserve-tritonserver"


def test_pytorch_needs_the_explicit_runtime_and_protocol_v2_is_required(declared):
    runtimes = [n.inputs for n in declared.of_type(CSR)]
    torch = model(isvc(declared, "torch"))
    with pytest.raises(NoRuntimeError):
        select({k: v for k, v in torch.items() if k != "runtime"}, runtimes)
    onnx = model(isvc(declared, "onnx"))
    with pytest.raises(NoRuntimeError):  # KServe's default protocol v1 finds nothing for onnx
        select({k: v for k, v in onnx.items() if k not in ("runtime", "protocolVersion")}, runtimes)


def test_selection_rejects_a_version_the_runtime_does_not_declare(declared):
    runtimes = [n.inputs for n in declared.of_type(CSR)]
    with pytest.raises(NoRuntimeError, match="framework/version"):
        select({**model(isvc(declared, "trt")), "modelFormat": {"name": "tensorrt", "version": "10"}}, runtimes)


# --- schemas --------------------------------------------------------------------------------------------


@needs_shared
def test_every_inference_service_validates_against_the_kserve_crd(declared):
    for node in declared.of_type(ISVC):
        assert crd_errors(SHARED, node.inputs) == [], node.name


@needs_shared
def test_strict_validation_reports_an_unknown_field(declared):
    node = isvc(declared, "onnx")
    broken = {**node.inputs, "spec": {"predictor": {**node.inputs["spec"]["predictor"], "minReplica": 1}}}
    assert any("minReplica" in error for error in crd_errors(SHARED, broken))


def test_namespaces_and_service_accounts_validate_as_kubernetes_objects(declared):
    builtins = declared.of_type("kubernetes:core/v1:Namespace") + declared.of_type("kubernetes:core/v1:ServiceAccount")
    assert builtins
    for node in builtins:
        assert builtin_errors(node.inputs) == [], node.name


def test_predictors_have_a_termination_grace_that_fits_the_pool():
    def grace(**overrides):
        monitor = build(OfflineRun(), [service("a")], **overrides)
        return isvc(monitor, "a").inputs["spec"]["predictor"]["terminationGracePeriodSeconds"]

    assert grace() == 45
    assert grace(termination_grace_seconds=15) == 15


# --- Pod Security ---------------------------------------------------------------------------------------------

NAMESPACE = "kubernetes:core/v1:Namespace"
NAMESPACE_PATCH = "kubernetes:core/v1:NamespacePatch"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"


def test_every_predictor_pod_runs_non_root_with_runtime_default_seccomp(declared):
    for node in declared.of_type(ISVC):
        assert node.inputs["spec"]["predictor"]["securityContext"] == {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        }, node.name


def test_model_namespaces_enforce_the_restricted_pod_security_standard(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("a"), service("b", namespace="default")])
    expected = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.35",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
    }
    assert monitor.one(NAMESPACE).inputs["metadata"] == {"name": "models", "labels": expected}
    # `default` is never created nor deleted: only its labels are applied, by a server-side apply patch.
    assert monitor.one(NAMESPACE_PATCH).inputs["metadata"] == {"name": "default", "labels": expected}
    for node in monitor.of_type(ISVC):
        assert {monitor.one(NAMESPACE).urn, monitor.one(NAMESPACE_PATCH).urn} & set(node.dependencies), node.name


def test_network_policies_per_model_namespace(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("a"), service("b", namespace="team-b")])
    by_namespace: dict[str, set[str]] = {}
    for node in monitor.of_type(NETWORK_POLICY):
        metadata = node.inputs["metadata"]
        by_namespace.setdefault(metadata["namespace"], set()).add(metadata["name"])
    names = {
        "predictors-default-deny-ingress",
        "predictors-allow-same-namespace",
        "predictors-allow-model-clients",
    }
    assert by_namespace == {"models": names, "team-b": names}, "no Prometheus (GMP) here, no Ingress class"


def test_predictors_wait_for_their_namespaces_labels_and_network_policies(declared):
    policies = {n.urn for n in declared.of_type(NETWORK_POLICY)}
    namespace = declared.one(NAMESPACE)
    for node in declared.of_type(ISVC):
        assert policies <= set(node.dependencies), node.name
        assert namespace.urn in node.dependencies


def test_namespaces_network_policies_and_disruption_budgets_are_valid_kubernetes_objects(pulumi_mocks):
    monitor = build(pulumi_mocks, [service("a"), service("b", namespace="default")])
    objects = monitor.of_type(NETWORK_POLICY) + monitor.of_type(PDB) + monitor.of_type(NAMESPACE)
    assert {n.type for n in objects} == {NETWORK_POLICY, PDB, NAMESPACE}
    for node in objects:
        assert builtin_errors(node.inputs) == [], node.name


def test_replicas_spread_over_zones_as_a_preference(declared):
    predictor = isvc(declared, "onnx").inputs["spec"]["predictor"]
    assert predictor["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"serving.kserve.io/inferenceservice": "onnx", "component": "predictor"}},
        }
    ]


def test_a_disruption_budget_per_inference_service_that_never_blocks_a_drain(declared):
    budgets = {n.inputs["metadata"]["name"]: n.inputs for n in declared.of_type(PDB)}
    assert set(budgets) == {f"{s.name}-predictor" for s in ALL_FORMATS}
    onnx = budgets["onnx-predictor"]
    assert onnx["metadata"]["namespace"] == "models"
    assert onnx["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": "onnx", "component": "predictor"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    namespace = declared.one(NAMESPACE)
    assert all(namespace.urn in n.dependencies for n in declared.of_type(PDB))
