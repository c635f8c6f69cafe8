"""The real __main__.py, run under mocks with each stack file's configuration."""

from __future__ import annotations

import pytest
import yaml

from tests.support.schemas import CRD_FILES, builtin_errors, crd_errors
from tests.support.stacks import STACK_FILES, TEST_PROJECT, deployable_config, shared_dir, shared_missing, unwrap_secret


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=[f.name for f in STACK_FILES])
def test_every_stack_file_deploys_under_mocks(stack_file, pulumi_mocks):
    pulumi_mocks.configure(deployable_config(stack_file))
    pulumi_mocks.run_main(reuse=True)
    assert pulumi_mocks.monitor.nodes, f"{stack_file.name} registered nothing"


def test_dev_stack_exports_what_a_user_needs(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main(reuse=True)
    exports = pulumi_mocks.exports
    assert exports["clusterName"].value == "kserve-triton-dev"
    assert exports["clusterLocation"].value == "us-central1-a"
    assert exports["gpuNodePoolName"].value.startswith("gpu-")
    assert exports["kubeconfig"].secret, "the kubeconfig output must be a secret"
    kubeconfig = yaml.safe_load(unwrap_secret(exports["kubeconfig"].value))
    assert kubeconfig["current-context"] == f"gke_{TEST_PROJECT}_us-central1-a_kserve-triton-dev"
    assert not any(e.secret for name, e in exports.items() if name != "kubeconfig")


def test_kserve_installs_on_the_cluster_without_waiting_for_gpu_nodes(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main(reuse=True)
    monitor = pulumi_mocks.monitor
    gpu_pool = monitor.one("gcp:container/nodePool:NodePool", "gpu")
    provider = monitor.one("pulumi:providers:kubernetes")
    assert not monitor.depends_on(provider, gpu_pool)
    for release in monitor.of_type("kubernetes:helm.sh/v3:Release"):
        assert monitor.provider_of(release) is provider, f"{release.name} must use the cluster's provider"
        assert monitor.depends_on(release, monitor.one("gcp:container/nodePool:NodePool", "gke-system"))
        assert not monitor.depends_on(release, gpu_pool), f"{release.name} must not wait for GPU nodes"


def test_dev_stack_exports_the_kserve_namespace_and_version(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main(reuse=True)
    assert pulumi_mocks.exports["kserveNamespace"].value == "kserve"
    assert pulumi_mocks.exports["kserveVersion"].value == "v0.20.0"


ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
WI_BINDING = "gcp:serviceaccount/iAMMember:IAMMember"
SHARED = shared_dir()


@pytest.fixture
def dev(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main(reuse=True)
    return pulumi_mocks


def test_dev_stack_ships_the_public_sample_model(dev):
    services = {n.inputs["metadata"]["name"]: n.inputs["spec"]["predictor"]["model"] for n in dev.monitor.of_type(ISVC)}
    assert list(services) == ["torchscript-cifar10"]
    assert services["torchscript-cifar10"] == {
        **services["torchscript-cifar10"],
        "modelFormat": {"name": "pytorch"},
        "runtime": "kserve-tritonserver",
        "storageUri": "gs://kfserving-examples/models/torchscript",
    }
    assert dev.exports["inferenceServices"].value == {
        "models/torchscript-cifar10": "http://torchscript-cifar10-predictor.models.svc.cluster.local",
    }


def test_runtime_sizes_triton_to_the_dev_pools_l4_machine(dev):
    (container,) = dev.monitor.one(CSR).inputs["spec"]["containers"]
    # g2-standard-8 with image streaming: 8 vCPU / 32 GiB less the kernel, GKE's reservations, its DaemonSets and
    # headroom, for its one L4 (catalog.gcp.node_budget shows the arithmetic).
    assert container["resources"]["requests"] == {"cpu": "6900m", "memory": "25344Mi", "nvidia.com/gpu": "1"}
    assert container["resources"]["limits"] == {"memory": "25344Mi", "nvidia.com/gpu": "1"}


def test_install_order_reaches_from_cert_manager_to_every_inference_service(dev):
    monitor = dev.monitor
    cert_manager = monitor.one("kubernetes:helm.sh/v3:Release", "kserve-cert-manager")
    controller = monitor.one("kubernetes:helm.sh/v3:Release", "kserve-resources")
    runtime = monitor.one(CSR)
    gpu_pool = monitor.one("gcp:container/nodePool:NodePool", "gpu")
    grants = monitor.of_type("gcp:storage/bucketIAMMember:BucketIAMMember") + monitor.of_type(
        "gcp:serviceaccount/iAMMember:IAMMember"
    )
    assert monitor.depends_on(runtime, controller) and monitor.depends_on(controller, cert_manager)
    for isvc in monitor.of_type(ISVC):
        # Created after, and so deleted before, the controller whose finalizer they carry.
        for prerequisite in (runtime, controller, gpu_pool, *grants):
            assert monitor.depends_on(isvc, prerequisite), f"{isvc.name} must wait for {prerequisite.name}"


@pytest.fixture
def two_teams(pulumi_mocks, dev_config):
    """dev plus a second team's model in its own namespace, read from a bucket the stack grants."""
    dev_config["kserve-triton:modelStorage"]["buckets"] = ["team-models"]
    dev_config["kserve-triton:inferenceServices"].append(
        {"name": "resnet", "namespace": "vision", "modelFormat": "onnx", "storageUri": "gs://team-models/resnet"}
    )
    dev_config["kserve-triton:gpuNodePool"]["maxNodes"] = 3
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main(reuse=True)
    return pulumi_mocks


def test_model_access_covers_exactly_the_configured_buckets_and_namespaces(two_teams):
    pulumi_mocks = two_teams
    grants = pulumi_mocks.monitor.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert [g.inputs["bucket"] for g in grants] == ["team-models"]
    bindings = [b for b in pulumi_mocks.monitor.of_type(WI_BINDING) if b.inputs["member"].endswith("/model-reader]")]
    assert sorted(b.inputs["member"] for b in bindings) == [
        f"serviceAccount:{TEST_PROJECT}.svc.id.goog[models/model-reader]",
        f"serviceAccount:{TEST_PROJECT}.svc.id.goog[vision/model-reader]",
    ]


def test_every_kubernetes_resource_uses_the_cluster_provider(dev):
    provider = dev.monitor.one("pulumi:providers:kubernetes")
    for node in dev.monitor.nodes.values():
        if node.custom and node.type.startswith("kubernetes:"):
            assert dev.monitor.provider_of(node) is provider, f"{node.name} would use the default kubeconfig"


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=[f.name for f in STACK_FILES])
def test_every_declared_object_validates(stack_file, pulumi_mocks):
    pulumi_mocks.configure(deployable_config(stack_file))
    pulumi_mocks.run_main(reuse=True)
    kubernetes_objects = [
        n for n in pulumi_mocks.monitor.nodes.values() if n.type.startswith("kubernetes:") and n.custom
    ]
    for node in kubernetes_objects:
        if node.inputs.get("kind") in CRD_FILES:
            if SHARED is None:
                pytest.skip(shared_missing("KServe, KEDA and GMP CRDs"))
            assert crd_errors(SHARED, node.inputs) == [], node.name
        elif node.type.startswith("kubernetes:core/"):
            assert builtin_errors(node.inputs) == [], node.name


def test_each_model_waits_only_for_its_own_grants(two_teams):
    """A bad or missing bucket delays only the model that reads it."""
    pulumi_mocks = two_teams
    monitor = pulumi_mocks.monitor
    bucket_grant = monitor.one("gcp:storage/bucketIAMMember:BucketIAMMember")
    binding = {b.inputs["member"].split("[")[1].split("/")[0]: b for b in monitor.of_type(WI_BINDING)}
    public = monitor.one(ISVC, "isvc-models-torchscript-cifar10")
    private = monitor.one(ISVC, "isvc-vision-resnet")

    assert monitor.depends_on(public, binding["models"])
    assert not monitor.depends_on(public, bucket_grant), "a public-bucket model must not wait for a bucket grant"
    assert not monitor.depends_on(public, binding["vision"])
    assert monitor.depends_on(private, bucket_grant) and monitor.depends_on(private, binding["vision"])
    assert not monitor.depends_on(private, binding["models"])
