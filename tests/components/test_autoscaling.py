"""Autoscaling on Triton's own signal (KServe's KEDA class), metrics collection (GMP) and the dashboard, as
the real program declares them for a stack, and checked against KServe's, KEDA's and GMP's own schemas and
rules (tests/upstream/kserve_autoscaling.py is KServe's validation and KEDA reconciler, written from its source)."""

from __future__ import annotations

import copy
import json
import re

import pytest

from catalog import triton_metrics as tm
from components.dashboard import dashboard
from components.inference_services import SCALE_DOWN_STABILIZATION_SECONDS, SCALE_UP_POLICIES
from kserve_triton.offline import OfflineRun
from settings import stack as config
from tests.support.schemas import crd_errors
from tests.support.stacks import ROOT, STACK_FILES, TEST_PROJECT, deployable_config, shared_dir, shared_missing
from tests.upstream.hpa import Hpa, Policy
from tests.upstream.kserve_autoscaling import validation_errors

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
TRIGGER_AUTH = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
POD_MONITORING = "kubernetes:monitoring.googleapis.com/v1:PodMonitoring"
RELEASE = "kubernetes:helm.sh/v3:Release"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
SHARED = shared_dir()
GMP = f"https://monitoring.googleapis.com/v1/projects/{TEST_PROJECT}/location/global/prometheus"


def deploy(harness, config_, **isvc):
    config_ = copy.deepcopy(config_)
    config_["kserve-triton:inferenceServices"][0].update(isvc)
    config_["kserve-triton:gpuNodePool"]["maxNodes"] = 4
    harness.configure(config_)
    harness.run_main(reuse=True)
    return harness.monitor


def predictor_of(monitor, name="torchscript-cifar10"):
    (node,) = [n for n in monitor.of_type(ISVC) if n.inputs["metadata"]["name"] == name]
    return node


def scaled_objects(monitor) -> dict[str, dict]:
    return {n.inputs["metadata"]["name"]: n for n in monitor.of_type(SCALED_OBJECT)}


def test_a_fixed_replica_count_has_no_autoscaler(pulumi_mocks, dev_config):
    monitor = deploy(pulumi_mocks, dev_config, minReplicas=1, maxReplicas=1)
    isvc = predictor_of(monitor)
    assert isvc.inputs["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"
    assert "autoScaling" not in isvc.inputs["spec"]["predictor"]
    assert scaled_objects(monitor) == {}


def test_by_default_replicas_scale_on_tritons_queue_time_through_the_programs_own_scaled_object(
    pulumi_mocks, dev_config
):
    monitor = deploy(pulumi_mocks, dev_config, minReplicas=1, maxReplicas=3)
    isvc = predictor_of(monitor)
    # external: KServe makes no autoscaler and leaves the Deployment's replicas to KEDA; none would pin them.
    assert isvc.inputs["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"
    predictor = isvc.inputs["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 3)
    assert "autoScaling" not in predictor, "KServe would make a ScaledObject it never deletes"
    node = scaled_objects(monitor)["torchscript-cifar10-predictor"]
    scope = tm.Scope.inference_service(
        cluster="kserve-triton-dev", location="us-central1-a", namespace="models", name="torchscript-cifar10"
    )
    assert node.inputs["metadata"] == {"name": "torchscript-cifar10-predictor", "namespace": "models"}
    assert node.inputs["spec"] == {
        "scaleTargetRef": {"name": "torchscript-cifar10-predictor", "apiVersion": "apps/v1", "kind": "Deployment"},
        "minReplicaCount": 1,
        "maxReplicaCount": 3,
        "pollingInterval": 15,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleUp": {
                        "stabilizationWindowSeconds": 0,
                        "selectPolicy": "Max",
                        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                    },
                    "scaleDown": {
                        "stabilizationWindowSeconds": 120,
                        "selectPolicy": "Max",
                        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                    },
                }
            }
        },
        "triggers": [
            {
                "type": "prometheus",
                "metadata": {
                    "serverAddress": GMP,
                    "query": tm.QUEUE_TIME.promql(scope, "1m"),
                    # 50 ms of queue time per request per replica, in the query's µs.
                    "threshold": "50000",
                    "ignoreNullValues": "false",
                },
                "authenticationRef": {"name": "gmp-workload-identity"},
            }
        ],
    }
    assert (
        'top_level_controller_name="torchscript-cifar10-predictor"'
        in node.inputs["spec"]["triggers"][0]["metadata"]["query"]
    )
    assert monitor.depends_on(node, isvc), "made after (so deleted before) the InferenceService it scales"


def test_under_any_overload_the_hpa_at_most_doubles_per_sync_and_waits_two_minutes_to_scale_down():
    """The program's behaviour, through the HPA's rules (tests/upstream/hpa.py): a backlog signal reads thousands
    under overload; the default policies would add 4 replicas at once, these double."""
    policies = tuple(Policy(p["type"], p["value"], p["periodSeconds"]) for p in SCALE_UP_POLICIES)
    hpa = Hpa(
        target=4, min_replicas=1, max_replicas=20, scale_down_window=SCALE_DOWN_STABILIZATION_SECONDS, scale_up=policies
    )
    assert [hpa.sync(t, 5000) for t in (15, 30, 45)] == [2, 4, 8]
    default = Hpa(target=4, min_replicas=1, max_replicas=20)
    assert default.sync(15, 5000) == 5
    # Load gone after the sync at 45 s: the count holds until that sync's recommendation leaves the window, then
    # drops to the minimum at once.
    last_high = 45
    counts = {t: hpa.sync(t, 0) for t in range(60, last_high + SCALE_DOWN_STABILIZATION_SECONDS + 30, 15)}
    assert {c for t, c in counts.items() if t < last_high + SCALE_DOWN_STABILIZATION_SECONDS} == {8}
    assert counts[last_high + SCALE_DOWN_STABILIZATION_SECONDS] == 1


@pytest.mark.parametrize(
    ("autoscaling", "gpus", "query", "threshold"),
    [
        ({"signal": "requestRate", "target": 12.5}, 1, tm.REQUEST_RATE, "12.5"),
        ({"signal": "queueTime", "target": "2"}, 1, tm.QUEUE_TIME, "2000"),
        ({"signal": "gpuUtilization"}, 1, tm.GPU_UTILIZATION, "70"),
        ({"signal": "gpuUtilization", "target": 60}, 2, tm.GPU_UTILIZATION, "120"),  # a total over 2 GPUs
        ({"signal": "pendingRequests"}, 1, tm.PENDING_REQUESTS, "4"),
    ],
)
def test_each_signal_and_target_reaches_keda_as_a_per_replica_threshold(
    pulumi_mocks, dev_config, autoscaling, gpus, query, threshold
):
    if gpus > 1:
        dev_config["kserve-triton:gpuNodePool"].update(machineType="g2-standard-24", acceleratorCount=2)
    monitor = deploy(pulumi_mocks, dev_config, minReplicas=1, maxReplicas=2, gpus=gpus, autoscaling=autoscaling)
    (trigger,) = scaled_objects(monitor)["torchscript-cifar10-predictor"].inputs["spec"]["triggers"]
    scope = tm.Scope.inference_service(
        cluster="kserve-triton-dev", location="us-central1-a", namespace="models", name="torchscript-cifar10"
    )
    assert trigger["metadata"]["query"] == query.promql(scope, "1m")
    assert trigger["metadata"]["threshold"] == threshold


def test_keda_authenticates_with_workload_identity_from_each_scaled_namespace(pulumi_mocks, dev_config):
    monitor = deploy(pulumi_mocks, dev_config, minReplicas=1, maxReplicas=2)
    (auth,) = monitor.of_type(TRIGGER_AUTH)
    assert auth.inputs["metadata"] == {"name": "gmp-workload-identity", "namespace": "models"}
    assert auth.inputs["spec"] == {"podIdentity": {"provider": "gcp"}}
    assert monitor.depends_on(scaled_objects(monitor)["torchscript-cifar10-predictor"], auth)
    assert monitor.depends_on(auth, monitor.one(RELEASE, "keda")), "its CRD comes with KEDA"


def test_no_trigger_authentication_where_nothing_scales(pulumi_mocks, dev_config):
    assert deploy(pulumi_mocks, dev_config, minReplicas=1, maxReplicas=1).of_type(TRIGGER_AUTH) == []


def test_keda_reads_managed_prometheus_as_an_account_that_can_only_view_metrics(pulumi_mocks, dev_config):
    monitor = deploy(pulumi_mocks, dev_config, minReplicas=1, maxReplicas=2)
    account = monitor.one("gcp:serviceaccount/account:Account", "keda-metrics-reader")
    member = account.outputs["member"]
    project_roles = [
        g.inputs["role"] for g in monitor.of_type("gcp:projects/iAMMember:IAMMember") if g.inputs["member"] == member
    ]
    assert project_roles == ["roles/monitoring.viewer"]
    binding = monitor.one("gcp:serviceaccount/iAMMember:IAMMember", "keda-workload-identity")
    assert binding.inputs["member"] == f"serviceAccount:{TEST_PROJECT}.svc.id.goog[keda/keda-operator]"
    assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
    assert monitor.depends_on(binding, monitor.one("gcp:container/cluster:Cluster"))
    release = monitor.one(RELEASE, "keda")
    assert release.inputs["values"]["podIdentity"] == {
        "gcp": {"enabled": True, "gcpIAMServiceAccount": account.outputs["email"]}
    }
    assert monitor.depends_on(release, binding)


def test_keda_is_installed_before_kserve_starts_and_kept(pulumi_mocks, dev_config):
    """KServe's controller watches ScaledObjects only if their CRD existed when it started."""
    monitor = deploy(pulumi_mocks, dev_config)
    keda, controller = monitor.one(RELEASE, "keda"), monitor.one(RELEASE, "kserve-resources")
    assert (keda.inputs["chart"], keda.inputs["version"]) == ("keda", "2.18.3")
    assert keda.inputs["repositoryOpts"] == {"repo": "https://kedacore.github.io/charts"}
    assert keda.inputs["namespace"] == "keda"
    assert monitor.depends_on(controller, keda)
    assert not monitor.depends_on(keda, monitor.one(RELEASE, "kserve-cert-manager")), "the two install side by side"
    assert keda.retain_on_delete is True, "it carries KEDA's CRDs"
    assert keda.protect is False  # dev: kserve.protectCrds is off


def test_gmp_scrapes_every_triton_predictor_on_its_named_metrics_port(pulumi_mocks, dev_config):
    monitor = deploy(pulumi_mocks, dev_config)
    (scrape,) = monitor.of_type(POD_MONITORING)
    assert scrape.inputs["metadata"] == {"name": "triton", "namespace": "models"}
    assert scrape.inputs["spec"] == {
        "selector": {"matchLabels": {"kserve-triton/runtime": "kserve-tritonserver"}},
        "endpoints": [{"port": "metrics", "interval": "15s"}],
        "targetLabels": {"metadata": ["container", "pod", "top_level_controller_name", "top_level_controller_type"]},
    }
    runtime = monitor.one("kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime").inputs["spec"]
    assert runtime["labels"] == {"kserve-triton/runtime": "kserve-tritonserver"}, "KServe copies them to the pods"
    (container,) = runtime["containers"]
    assert {"name": "metrics", "containerPort": 8002, "protocol": "TCP"} in container["ports"]


def gmp_pod_metadata_permitted() -> set[str]:
    """The pod metadata a PodMonitoring may attach: the enum of `targetLabels.metadata` in GMP's own CRD."""
    import yaml

    if shared_dir() is None:
        pytest.skip(shared_missing("Managed Prometheus's CRDs"))
    crd = yaml.safe_load(
        (shared_dir() / "crds" / "gmp-v0.17.2" / "monitoring.googleapis.com_podmonitorings.yaml").read_text()
    )
    (v1,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    target_labels = v1["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["targetLabels"]
    assert "default" not in target_labels, "0.17.2 defaults metadata only inside a targetLabels that is given"
    return set(target_labels["properties"]["metadata"]["items"]["enum"])


def test_the_scrape_attaches_every_pod_label_the_autoscaling_queries_read(pulumi_mocks, dev_config):
    monitor = deploy(pulumi_mocks, dev_config, minReplicas=1, maxReplicas=3)
    (scrape,) = monitor.of_type(POD_MONITORING)
    attached = set(scrape.inputs["spec"]["targetLabels"]["metadata"])
    queries = tm.autoscaling_queries(cluster="c", location="us-central1-a", namespace="models", name="m")
    triton_queries = [q for name, q in queries.items() if name != "gpu_utilization"]  # DCGM has its own scrape
    read = {label for q in triton_queries for label in re.findall(r"([a-z_]+)(?:=~?\"|[,)])", q)}
    needed = read & gmp_pod_metadata_permitted()
    assert needed == {"pod", "top_level_controller_name"}
    assert needed <= attached


def test_an_existing_cluster_gets_no_gmp_scrape_nor_gcp_identity(pulumi_mocks):
    pulumi_mocks.configure(deployable_config(ROOT / "Pulumi.local.yaml"))
    pulumi_mocks.run_main(reuse=True)
    assert pulumi_mocks.monitor.of_type(POD_MONITORING) == []
    assert "podIdentity" not in pulumi_mocks.monitor.one(RELEASE, "keda").inputs["values"]


# --- pulumi up waits for Ready ---------------------------------------------------------------------------------


READY_PATCH = "kubernetes:serving.kserve.io/v1beta1:InferenceServicePatch"


def test_pulumi_up_waits_for_ready_once_when_an_inference_service_is_created(pulumi_mocks, dev_config):
    monitor = deploy(pulumi_mocks, dev_config)
    isvc = predictor_of(monitor)
    (wait,) = monitor.of_type(READY_PATCH)
    assert wait.inputs["metadata"] == {
        "name": "torchscript-cifar10",
        "namespace": "models",
        "annotations": {"kserve-triton/waited-for-ready": "true", "pulumi.com/waitFor": "condition=Ready"},
    }
    assert monitor.depends_on(wait, isvc)
    # triton.startupTimeoutSeconds (900) plus 20 minutes for a node, its driver and the image.
    assert wait.custom_timeouts == {"create": "2100s", "update": "2100s"}
    # Not on the InferenceService itself: KServe v0.20's observedGeneration is the Deployment's, so a wait on its
    # updates would outlast them (tests/e2e).
    assert "pulumi.com/waitFor" not in isvc.inputs["metadata"]["annotations"]
    assert isvc.custom_timeouts == {}
    # The patch leaves waitFor on the live InferenceService, where the provider reads it on every update: the
    # InferenceService's own inputs turn its waits off (tests/e2e: an update KServe never "observes" returns).
    assert isvc.inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


def test_the_wait_does_not_change_with_the_model_so_later_ups_do_not_wait(pulumi_mocks, dev_config):
    first = deploy(pulumi_mocks, dev_config).one(READY_PATCH).inputs
    second = OfflineRun()
    dev_config["kserve-triton:triton"]["image"] = "nvcr.io/nvidia/tritonserver:25.02-py3"
    assert deploy(second, dev_config).one(READY_PATCH).inputs == first


def test_waiting_for_ready_can_be_turned_off_for_platform_only_ups(pulumi_mocks, dev_config):
    dev_config["kserve-triton:kserve"]["waitForReady"] = False
    monitor = deploy(pulumi_mocks, dev_config)
    assert monitor.of_type(READY_PATCH) == []


# --- the dashboard ------------------------------------------------------------------------------------------


def test_gke_stacks_get_the_dashboard_built_from_the_autoscalers_query_definitions(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main(reuse=True)
    board = pulumi_mocks.monitor.one("gcp:monitoring/dashboard:Dashboard")
    assert json.loads(board.inputs["dashboardJson"]) == dashboard("KServe Triton: kserve-triton-dev")
    api = pulumi_mocks.monitor.one("gcp:projects/service:Service", "dashboard-api")
    assert api.inputs["service"] == "monitoring.googleapis.com" and pulumi_mocks.monitor.depends_on(board, api)
    assert pulumi_mocks.exports["dashboardUrl"].value == (
        f"https://console.cloud.google.com/monitoring/dashboards/custom/dashboard-id?project={TEST_PROJECT}"
    )


# --- every stack: the objects validate, and KServe would accept them --------------------------------------------


# (stack file, minReplicas, maxReplicas): fixed everywhere, scaling where there is a Prometheus (GKE's, or the
# stack's own kserve.prometheusUrl).
CASES = [
    (stack_file, replicas)
    for stack_file in STACK_FILES
    for replicas in ((2, 2), (2, 4))
    if replicas[0] == replicas[1]
    or "existing" not in deployable_config(stack_file)["kserve-triton:cluster"]
    or "prometheusUrl" in deployable_config(stack_file).get("kserve-triton:kserve", {})
]


@pytest.mark.parametrize(("stack_file", "replicas"), CASES, ids=[f"{f.name}-{r[0]}-{r[1]}" for f, r in CASES])
def test_kserve_accepts_the_inference_services_and_keda_the_scaled_objects(pulumi_mocks, stack_file, replicas):
    if SHARED is None:
        pytest.skip(shared_missing("KServe and KEDA CRDs"))
    config_ = deployable_config(stack_file)
    existing = "existing" in config_["kserve-triton:cluster"]
    for isvc in config_["kserve-triton:inferenceServices"]:
        isvc.update(minReplicas=replicas[0], maxReplicas=replicas[1])
        if replicas[0] == replicas[1]:
            isvc.pop("autoscaling", None)  # a fixed count takes no autoscaling (refused: nothing would scale)
    if not existing:
        config_["kserve-triton:gpuNodePool"]["maxNodes"] = 8
    pulumi_mocks.configure(config_)
    pulumi_mocks.run_main(reuse=True)
    services = pulumi_mocks.monitor.of_type(ISVC)
    scaling = scaled_objects(pulumi_mocks.monitor)
    for node in services:
        assert validation_errors(node.inputs) == [], node.name
        assert crd_errors(SHARED, node.inputs) == [], node.name
        made = scaling.get(f"{node.inputs['metadata']['name']}-predictor")
        if replicas[0] == replicas[1]:
            assert made is None
        else:
            assert (made.inputs["spec"]["minReplicaCount"], made.inputs["spec"]["maxReplicaCount"]) == replicas
    for kind in (TRIGGER_AUTH, POD_MONITORING, SCALED_OBJECT):
        for node in pulumi_mocks.monitor.of_type(kind):
            assert crd_errors(SHARED, node.inputs) == [], node.name


def test_the_kserve_rules_checker_catches_what_kserve_refuses():
    isvc = {
        "metadata": {"annotations": {"serving.kserve.io/autoscalerClass": "hpa"}},
        "spec": {"predictor": {"minReplicas": 3, "maxReplicas": 2, "autoScaling": {"metrics": [{"type": "External"}]}}},
    }
    assert validation_errors(isvc) == [
        "minReplicas 3 > maxReplicas 2",
        "the hpa autoscaler takes only Resource metrics",
    ]
    isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "keda"
    isvc["spec"]["predictor"].update(minReplicas=1, scaleMetric="cpu")
    assert validation_errors(isvc) == [
        "ScaleMetric is not supported for KEDA",
        "an External metric needs a query",
        "an External metric needs target.value",
    ]
    isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "kpa"
    assert "autoscalerClass 'kpa' is not one of" in validation_errors(isvc)[0]


# --- refusals ---------------------------------------------------------------------------------------------------

GKE = {
    "gcp": {"project": "my-project"},
    "cluster": {"name": "c", "location": "us-central1-a"},
    "gpuNodePool": {"machineType": "g2-standard-8", "acceleratorType": "nvidia-l4", "maxNodes": 4},
}


def refused(raw) -> dict[str, str]:
    with pytest.raises(config.ConfigError) as error:
        config.parse(raw)
    return {p.setting: str(p) for p in error.value.problems}


def with_isvc(**isvc):
    return {
        **GKE,
        "inferenceServices": [{"name": "m", "modelFormat": "onnx", "storageUri": "gs://kfserving-examples/m", **isvc}],
    }


@pytest.mark.parametrize(
    ("isvc", "setting", "phrase"),
    [
        (
            {"autoscaling": {"signal": "queueTime"}},
            "inferenceServices[0].maxReplicas",
            "equals minReplicas, so nothing scales",
        ),
        (
            {"maxReplicas": 2, "autoscaling": {"signal": "requestRate"}},
            "inferenceServices[0].autoscaling.target",
            "requestRate needs a target",
        ),
        (
            {"maxReplicas": 2, "autoscaling": {"target": 0}},
            "inferenceServices[0].autoscaling.target",
            "must be above 0",
        ),
        (
            {"maxReplicas": 2, "autoscaling": {"signal": "gpuUtilization", "target": 120}},
            "inferenceServices[0].autoscaling.target",
            "at most 100",
        ),
        (
            {"maxReplicas": 2, "autoscaling": {"signal": "cpu"}},
            "inferenceServices[0].autoscaling.signal",
            "'queueTime', 'requestRate', 'gpuUtilization' or 'pendingRequests'",
        ),
        (
            {"maxReplicas": 2, "autoscaling": {"target": "fast"}},
            "inferenceServices[0].autoscaling.target",
            "must be a number",
        ),
        ({"runtimeVersion": "22.12-py3"}, "inferenceServices[0].runtimeVersion", "which Triton has from 23.05"),
        (
            {"maxReplicas": 2, "runtimeVersion": "23.08-py3", "autoscaling": {"signal": "pendingRequests"}},
            "inferenceServices[0].autoscaling.signal",
            "which Triton has from 23.09 and nvcr.io/nvidia/tritonserver:23.08-py3 does not",
        ),
    ],
)
def test_autoscaling_that_could_not_work_is_refused_by_name(isvc, setting, phrase):
    problems = refused(with_isvc(**isvc))
    assert setting in problems, problems
    assert phrase in problems[setting]


ON_OWN_CLUSTER = {
    "cluster": {"existing": {"context": "kind"}},
    "inferenceServices": [
        {"name": "m", "modelFormat": "onnx", "storageUri": "gs://kfserving-examples/m", "gpus": 0, "maxReplicas": 2}
    ],
}


def test_autoscaling_on_another_cluster_without_a_prometheus_is_refused():
    problem = refused(ON_OWN_CLUSTER)["inferenceServices[0].maxReplicas"]
    assert "set kserve.prometheusUrl to yours, or set maxReplicas equal to minReplicas" in problem


def own_prometheus(harness, url="http://prometheus.monitoring:9090"):
    raw = copy.deepcopy(ON_OWN_CLUSTER)
    harness.configure(
        {
            "kserve-triton:cluster": raw["cluster"],
            "kserve-triton:kserve": {"prometheusUrl": url},
            "kserve-triton:inferenceServices": raw["inferenceServices"],
        }
    )
    harness.run_main(reuse=True)
    return harness.monitor


def test_on_another_cluster_keda_queries_your_prometheus_by_namespace_and_pod(pulumi_mocks):
    monitor = own_prometheus(pulumi_mocks)
    (isvc,) = monitor.of_type(ISVC)
    (trigger,) = scaled_objects(monitor)["m-predictor"].inputs["spec"]["triggers"]
    scope = tm.Scope.pods(namespace="models", name="m")
    assert trigger["metadata"] == {
        "serverAddress": "http://prometheus.monitoring:9090",
        "query": tm.QUEUE_TIME.promql(scope, "1m"),
        "threshold": "50000",
        "ignoreNullValues": "false",
    }
    assert 'pod=~"m-predictor-[a-z0-9]+-[a-z0-9]+"' in trigger["metadata"]["query"]
    assert "cluster=" not in trigger["metadata"]["query"]
    assert "authenticationRef" not in trigger, "no GCP identity to authenticate with"
    assert monitor.of_type(TRIGGER_AUTH) == [] and monitor.of_type(POD_MONITORING) == []
    assert validation_errors(isvc.inputs) == []


def test_your_prometheus_namespace_may_scrape_the_metrics_port_once_labelled(pulumi_mocks):
    monitor = own_prometheus(pulumi_mocks)
    policies = {
        n.inputs["metadata"]["name"]: n.inputs["spec"]
        for n in monitor.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    assert policies["predictors-allow-metrics-scrapers"]["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kserve-triton/metrics-scraper": "true"}}}],
            "ports": [{"protocol": "TCP", "port": 8002}],
        }
    ]
    assert "predictors-allow-gmp-scrape" not in policies


@pytest.mark.parametrize(
    ("kserve", "phrase"),
    [
        ({"prometheusUrl": "prometheus:9090"}, "must be an http(s) URL of a Prometheus query endpoint"),
        ({"prometheusUrl": "ftp://p:9090"}, "must be an http(s) URL of a Prometheus query endpoint"),
    ],
)
def test_a_prometheus_url_that_is_not_one_is_refused(kserve, phrase):
    assert phrase in refused({**ON_OWN_CLUSTER, "kserve": kserve})["kserve.prometheusUrl"]


def test_a_gke_stack_reads_managed_prometheus_not_a_url():
    problem = refused({**with_isvc(), "kserve": {"prometheusUrl": "http://p:9090"}})["kserve.prometheusUrl"]
    assert "Managed Service for Prometheus; remove it" in problem


def test_a_triton_image_without_latency_summaries_is_refused():
    problems = refused({**GKE, "triton": {"image": "nvcr.io/nvidia/tritonserver:23.04-py3"}})
    assert "--metrics-config=summary_latencies=true" in problems["triton.image"]


def test_keda_is_pinned_to_the_minor_kserve_is_built_with():
    problems = refused({**GKE, "kserve": {"kedaVersion": "2.19.0"}})
    assert "2.18.x" in problems["kserve.kedaVersion"]
