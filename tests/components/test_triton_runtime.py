"""The kserve-tritonserver ClusterServingRuntime: upstream's definition, made production-ready on GPUs."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError

from catalog.gcp import GpuShare
from catalog.gpu_placement import GpuPlacement
from components.kserve_types import ServingRuntimeSpec, SupportedModelFormat
from components.triton_runtime import (
    ON_DEMAND_GRACE_SECONDS,
    SPOT_GRACE_SECONDS,
    TritonRuntime,
    TritonRuntimeArgs,
    termination_grace_seconds,
)
from kserve_triton.offline import OfflineRun, run_stack
from tests.support.schemas import crd_errors
from tests.support.stacks import PROJECT_OVERRIDE, shared_dir, shared_missing

CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
SHARED = shared_dir()


def runtime_args(controller, **overrides) -> TritonRuntimeArgs:
    values = dict(
        image="nvcr.io/nvidia/tritonserver:25.01-py3",
        per_gpu=GpuShare(cpu_millis=7300, memory_mib=27392),
        gpu=GpuPlacement.gke_pool("nvidia-l4"),
        shm_size="2Gi",
        startup_timeout_seconds=600,
        kserve_controller=controller,
    )
    values.update(overrides)
    return TritonRuntimeArgs(**values)


def build(harness, **overrides):
    def program():
        provider = k8s.Provider("cluster", kubeconfig="{}")
        controller = k8s.helm.v3.Release(
            "kserve-resources", chart="kserve-resources", opts=pulumi.ResourceOptions(provider=provider)
        )
        TritonRuntime(
            "triton", runtime_args(controller, **overrides), opts=pulumi.ResourceOptions(providers=[provider])
        )

    harness.run(program)
    return harness.monitor.one(CSR)


@pytest.fixture
def runtime(pulumi_mocks):
    return build(pulumi_mocks)


def container(runtime):
    (only,) = runtime.inputs["spec"]["containers"]
    return only


# --- exactly as upstream -------------------------------------------------------------------------------


def test_name_kind_and_server_type(runtime):
    assert runtime.inputs["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert runtime.inputs["kind"] == "ClusterServingRuntime"
    assert runtime.inputs["metadata"]["name"] == "kserve-tritonserver"
    assert runtime.inputs["metadata"]["annotations"] == {"serving.kserve.io/server-type": "tritonserver"}


def test_model_formats_are_upstreams(runtime):
    assert runtime.inputs["spec"]["supportedModelFormats"] == [
        {"name": "tensorrt", "version": "8", "autoSelect": True, "priority": 1},
        {"name": "tensorflow", "version": "1", "autoSelect": True, "priority": 1},
        {"name": "tensorflow", "version": "2", "autoSelect": True, "priority": 1},
        {"name": "onnx", "version": "1", "autoSelect": True, "priority": 1},
        {"name": "pytorch", "version": "1"},
        {"name": "triton", "version": "2", "autoSelect": True, "priority": 1},
    ]
    assert runtime.inputs["spec"]["protocolVersions"] == ["v2", "grpc-v2"]


def test_container_runs_tritonserver_with_upstreams_args(runtime):
    triton = container(runtime)
    assert triton["name"] == "kserve-container"
    assert triton["args"][:6] == [
        "tritonserver",
        "--model-store=/mnt/models",
        "--grpc-port=9000",
        "--http-port=8080",
        "--allow-grpc=true",
        "--allow-http=true",
    ]


def test_prometheus_annotations_for_predictor_pods(runtime):
    assert runtime.inputs["spec"]["annotations"] == {
        "prometheus.kserve.io/port": "8002",
        "prometheus.kserve.io/path": "/metrics",
    }


def test_hardened_security_context(runtime):
    assert container(runtime)["securityContext"] == {
        "runAsUser": 1000,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# --- beyond upstream -------------------------------------------------------------------------------------


def test_image_comes_from_config(pulumi_mocks):
    runtime = build(pulumi_mocks, image="nvcr.io/nvidia/tritonserver:24.12-py3")
    assert container(runtime)["image"] == "nvcr.io/nvidia/tritonserver:24.12-py3"


def test_metrics_port_is_served_and_ports_are_declared_http_grpc_metrics(runtime):
    triton = container(runtime)
    assert "--allow-metrics=true" in triton["args"]
    assert "--metrics-port=8002" in triton["args"]
    assert triton["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "grpc", "containerPort": 9000, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 8002, "protocol": "TCP"},
    ]


def _exit_timeouts(args: list[str]) -> list[int]:
    return [int(arg.split("=", 1)[1]) for arg in args if arg.startswith("--exit-timeout-secs")]


def test_triton_stops_within_the_grace_the_pods_get(runtime):
    """Triton's default exit timeout (30 s) outlives a spot pod's 15 s: it gets the grace minus a margin, once."""
    assert _exit_timeouts(container(runtime)["args"]) == [ON_DEMAND_GRACE_SECONDS - 5] == [40]
    spot = build(OfflineRun(), termination_grace_seconds=termination_grace_seconds(spot=True))
    assert _exit_timeouts(container(spot)["args"]) == [SPOT_GRACE_SECONDS - 5] == [10]


def _assert_grace(monitor, grace: int, timeout: int) -> None:
    (only,) = monitor.one(CSR).inputs["spec"]["containers"]
    assert _exit_timeouts(only["args"]) == [timeout]
    isvcs = monitor.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert isvcs and {n.inputs["spec"]["predictor"]["terminationGracePeriodSeconds"] for n in isvcs} == {grace}


@pytest.mark.parametrize(
    ("stack", "grace", "timeout"), [("dev", 15, 10), ("prod", 45, 40), ("local", 45, 40), ("shared-gpu", 15, 10)]
)
def test_the_grace_and_exit_timeout_follow_the_gpu_pool_of_the_stack(stack, grace, timeout):
    """dev's and shared-gpu's GPU pools are spot; prod's is on-demand; local has none."""
    _assert_grace(run_stack(stack, overrides=PROJECT_OVERRIDE if stack != "local" else None).monitor, grace, timeout)


@pytest.mark.parametrize(("capacity", "grace", "timeout"), [("AUTOPILOT", 15, 10), ("EXISTING_GPU_NODES", 45, 40)])
def test_autopilot_spot_is_spot_and_an_existing_clusters_gpu_nodes_are_taken_as_on_demand(capacity, grace, timeout):
    from tests.support import capacity_models

    harness = OfflineRun()
    harness.configure(getattr(capacity_models, capacity))
    harness.run_main()
    _assert_grace(harness.monitor, grace, timeout)


def test_dev_shm_is_memory_backed(runtime):
    assert runtime.inputs["spec"]["volumes"] == [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}]
    assert container(runtime)["volumeMounts"] == [{"name": "dshm", "mountPath": "/dev/shm"}]


def test_probes_wait_for_models_and_tolerate_slow_loads(runtime):
    triton = container(runtime)
    assert triton["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert triton["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    startup = triton["startupProbe"]
    assert startup["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


def test_runs_on_the_gpu_pool(runtime):
    spec = runtime.inputs["spec"]
    assert spec["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_a_replica_requests_one_gpu_with_its_share_and_is_never_cpu_throttled(runtime):
    resources = container(runtime)["resources"]
    # Memory and GPU at their limit (evicted last, never over its share); CPU requested, not limited.
    assert resources == {
        "requests": {"cpu": "7300m", "memory": "27392Mi", "nvidia.com/gpu": "1"},
        "limits": {"memory": "27392Mi", "nvidia.com/gpu": "1"},
    }


def test_cpu_only_clusters_get_no_gpu_request_selector_or_toleration(pulumi_mocks):
    runtime = build(pulumi_mocks, gpu=None)
    assert "nvidia.com/gpu" not in container(runtime)["resources"]["limits"]
    assert "nodeSelector" not in runtime.inputs["spec"]
    assert "tolerations" not in runtime.inputs["spec"]


def test_runtime_waits_for_the_kserve_controller(pulumi_mocks):
    runtime = build(pulumi_mocks)
    controller = pulumi_mocks.monitor.one("kubernetes:helm.sh/v3:Release")
    assert controller.urn in runtime.dependencies
    assert pulumi_mocks.monitor.provider_of(runtime) is pulumi_mocks.monitor.one("pulumi:providers:kubernetes")


@pytest.mark.skipif(SHARED is None, reason=shared_missing("KServe CRDs"))
def test_runtime_validates_against_the_kserve_crd(runtime):
    assert crd_errors(SHARED, runtime.inputs) == []


def test_a_misspelt_field_is_a_python_error():
    with pytest.raises(ValidationError, match="auto_selct"):
        SupportedModelFormat(name="onnx", auto_selct=True)
    with pytest.raises(ValidationError, match="protocol_versions"):
        ServingRuntimeSpec(supported_model_formats=[], protocol_versions=["v3"], containers=[])
