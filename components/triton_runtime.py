"""The `kserve-tritonserver` ClusterServingRuntime: KServe's own definition, made production-ready on GPUs.

Upstream (`config/runtimes/kserve-tritonserver.yaml`, KServe v0.20.0) gives the model formats, protocols,
container name, args, Prometheus annotations and hardened security context kept here verbatim. On top,
each addition fixes a known failure of the stock runtime (../shared/notes/kserve.md §5): a pinned image,
no GPU requested, a 64Mi /dev/shm, TCP-only probes that route traffic before models load, an undeclared
metrics port, and 1 CPU / 2Gi that a GPU model server outgrows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from catalog.gcp import GpuShare
from catalog.gpu_placement import COMPUTE_CLASS_LABEL, GpuPlacement
from catalog.kserve_runtime import PROTOCOL_VERSIONS, SERVED_FORMATS
from catalog.triton_metrics import TRITON_METRICS_ARGS
from components.image_cache import cached_image
from components.kserve_types import ClusterServingRuntime, ServingRuntimeSpec, SupportedModelFormat

if TYPE_CHECKING:
    from components.image_cache import ImageCache
    from settings import StackSettings

RUNTIME_NAME = "kserve-tritonserver"
MODEL_STORE = "/mnt/models"
HTTP_PORT = 8080
GRPC_PORT = 9000
METRICS_PORT = 8002
GPU_RESOURCE = "nvidia.com/gpu"
PROBE_PERIOD_SECONDS = 10

# The formats and protocols KServe's own runtime declares (catalog/kserve_runtime.py), as the CRD's objects.
SUPPORTED_MODEL_FORMATS: list[SupportedModelFormat] = [
    SupportedModelFormat(name=f.name, version=f.version, auto_select=f.auto_select or None, priority=f.priority)
    for f in SERVED_FORMATS
]

# Upstream's args, plus the metrics endpoint made explicit (Triton's default port, declared below) and the
# latency summaries the dashboard's p50/p99 read (catalog/triton_metrics.py). `triton_args` adds the exit timeout.
TRITON_ARGS = [
    "tritonserver",
    f"--model-store={MODEL_STORE}",
    f"--grpc-port={GRPC_PORT}",
    f"--http-port={HTTP_PORT}",
    "--allow-grpc=true",
    "--allow-http=true",
    "--allow-metrics=true",
    f"--metrics-port={METRICS_PORT}",
    *TRITON_METRICS_ARGS,
]

# Shutting down within the time the node gives. A spot VM gets 30 s of notice, and GKE's graceful node shutdown
# gives non-system pods the first 15 s of it, critical system pods the rest (GKE docs, "Spot VMs": termination and
# graceful shutdown of Spot VMs); a pod's terminationGracePeriodSeconds above that is cut short. Elsewhere (drains,
# upgrades, scale-down, rollouts) the pod's own grace applies: 45 s. Triton waits --exit-timeout-secs (default 30)
# for in-flight inferences after SIGTERM, so it gets the grace minus a margin, and exits before the SIGKILL.
SPOT_GRACE_SECONDS = 15
ON_DEMAND_GRACE_SECONDS = 45
EXIT_MARGIN_SECONDS = 5


def spot_gpus(stack: StackSettings) -> bool:
    """Whether the replicas' GPUs are preemptible: this program's spot pool, or Autopilot's spot capacity (taken to
    give pods the same 15 s). GPU nodes an existing cluster already has are taken as on-demand: nothing says."""
    pool, autopilot = stack.gpu_node_pool, stack.cluster.autopilot
    tiers = (pool.capacity if pool else None) or (
        autopilot.capacity if autopilot and stack.cluster.is_autopilot else None
    )
    if tiers is not None:  # a fallback list: spot is one of its tiers, or none
        return "spot" in tiers
    return bool((pool and pool.spot) or (stack.cluster.is_autopilot and autopilot and autopilot.spot))


def termination_grace_seconds(spot: bool) -> int:
    """terminationGracePeriodSeconds of a predictor on a spot (or on-demand) GPU pool."""
    return SPOT_GRACE_SECONDS if spot else ON_DEMAND_GRACE_SECONDS


def triton_args(grace_seconds: int) -> list[str]:
    """The container's args for pods given `grace_seconds` to stop. The runtime is cluster-wide, so this must fit
    the strictest pool its pods run on. InferenceServices add no args: KServe appends theirs to these, and a
    flag given twice would depend on Triton's parser."""
    return [*TRITON_ARGS, f"--exit-timeout-secs={grace_seconds - EXIT_MARGIN_SECONDS}"]


# On every predictor pod (KServe copies a runtime's labels onto its pods): the metrics scrape selects them.
RUNTIME_LABELS = {"kserve-triton/runtime": RUNTIME_NAME}

GPU_TOLERATION = k8s.core.v1.TolerationArgs(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")


def gpu_tolerations(gpu: GpuPlacement | None) -> list[k8s.core.v1.TolerationArgs] | None:
    """The GPU taint, and a ComputeClass's own (GKE taints the nodes it creates for a class with its name)."""
    if gpu is None or not gpu.tolerate_taint:
        return None
    tolerations = [GPU_TOLERATION]
    if gpu.compute_class is not None:
        tolerations.append(
            k8s.core.v1.TolerationArgs(
                key=COMPUTE_CLASS_LABEL, operator="Equal", value=gpu.compute_class, effect="NoSchedule"
            )
        )
    return tolerations


@dataclass(frozen=True)
class TritonRuntimeArgs:
    image: str
    """A pinned Triton image, e.g. nvcr.io/nvidia/tritonserver:25.01-py3."""
    per_gpu: GpuShare
    """The CPU and memory one GPU of the pool's machine comes with: the default for one replica."""
    gpu: GpuPlacement | None
    """Where GPU replicas run; None for a cluster without GPUs (Triton on the CPU)."""
    shm_size: str
    startup_timeout_seconds: int
    """How long a replica may take to load its models before Kubernetes restarts it."""
    kserve_controller: pulumi.Resource
    """KServe's validating webhook admits runtimes, so the controller must be up first."""
    ephemeral_storage: str | None = None
    """Local disk each replica requests (the model download); None: no request."""
    termination_grace_seconds: int = ON_DEMAND_GRACE_SECONDS
    """What the predictor pods get to stop (their terminationGracePeriodSeconds): Triton's exit timeout fits it."""

    @classmethod
    def from_settings(
        cls, stack: StackSettings, image_cache: ImageCache | None, kserve_controller: pulumi.Resource
    ) -> TritonRuntimeArgs:
        """triton.image as the nodes pull it: through the image cache when it is on."""
        from settings.gpu_pool import gpu_placement

        return cls(
            image=cached_image(stack.triton.image, image_cache.prefix) if image_cache else stack.triton.image,
            per_gpu=stack.replica_size,
            gpu=gpu_placement(stack),
            ephemeral_storage=stack.triton.ephemeral_storage_or_default(stack.cluster.is_autopilot) or None,
            shm_size=stack.shm_size,
            startup_timeout_seconds=stack.triton.startup_timeout_seconds,
            kserve_controller=kserve_controller,
            termination_grace_seconds=termination_grace_seconds(spot_gpus(stack)),
        )


def triton_resources(
    share: GpuShare, gpus: int, gpu: GpuPlacement | None = None, ephemeral_storage: str | None = None
) -> k8s.core.v1.ResourceRequirementsArgs:
    """CPU requested without a limit, memory and GPUs requested at their limit.

    - No CPU limit: a limit is enforced by CFS throttling, which stretches a multi-threaded server's tail
      latency even when the node has idle cores; the request still reserves the replica's share.
    - Memory request = limit: the replica never uses more than it reserved, so node-pressure eviction takes it
      last (as it would a Guaranteed pod) and it cannot push a neighbour out.
    - GPUs are extended resources, which Kubernetes requires to be requested at their limit.
    (Kubernetes docs "Resource Management for Pods and Containers" and "Node-pressure Eviction".)
    """
    requests = {"cpu": f"{share.cpu_millis}m", "memory": f"{share.memory_mib}Mi"}
    limits = {"memory": f"{share.memory_mib}Mi"}
    if gpu is not None and gpu.cpu_limit:  # Autopilot places and bills by requests: no burst beyond them
        limits["cpu"] = requests["cpu"]
    if ephemeral_storage:  # the model download's disk (Autopilot gives 1Gi unless asked)
        requests["ephemeral-storage"] = limits["ephemeral-storage"] = ephemeral_storage
    if gpus:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(gpus)
    return k8s.core.v1.ResourceRequirementsArgs(requests=requests, limits=limits)


def _http_probe(path: str, failure_threshold: int) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=HTTP_PORT),
        period_seconds=PROBE_PERIOD_SECONDS,
        timeout_seconds=5,
        failure_threshold=failure_threshold,
    )


def triton_container(args: TritonRuntimeArgs) -> k8s.core.v1.ContainerArgs:
    return k8s.core.v1.ContainerArgs(
        # KServe merges the InferenceService's model into the container with exactly this name.
        name="kserve-container",
        image=args.image,
        args=triton_args(args.termination_grace_seconds),
        # Order matters: KServe points the predictor Service's port 80 at the first port.
        ports=[
            k8s.core.v1.ContainerPortArgs(name="http", container_port=HTTP_PORT, protocol="TCP"),
            k8s.core.v1.ContainerPortArgs(name="grpc", container_port=GRPC_PORT, protocol="TCP"),
            k8s.core.v1.ContainerPortArgs(name="metrics", container_port=METRICS_PORT, protocol="TCP"),
        ],
        resources=triton_resources(args.per_gpu, 1 if args.gpu else 0, args.gpu, args.ephemeral_storage),
        # Triton answers ready only once its models are loaded; until then the startup probe holds off
        # the liveness probe, so a slow load is not mistaken for a hung server.
        startup_probe=_http_probe("/v2/health/ready", math.ceil(args.startup_timeout_seconds / PROBE_PERIOD_SECONDS)),
        readiness_probe=_http_probe("/v2/health/ready", 3),
        liveness_probe=_http_probe("/v2/health/live", 6),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="dshm", mount_path="/dev/shm")],
        security_context=k8s.core.v1.SecurityContextArgs(
            run_as_user=1000,  # triton-server, the NGC image's own non-root user
            run_as_non_root=True,
            allow_privilege_escalation=False,
            privileged=False,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
    )


def runtime_spec(args: TritonRuntimeArgs) -> ServingRuntimeSpec:
    return ServingRuntimeSpec(
        supported_model_formats=list(SUPPORTED_MODEL_FORMATS),
        protocol_versions=list(PROTOCOL_VERSIONS),
        annotations={"prometheus.kserve.io/port": str(METRICS_PORT), "prometheus.kserve.io/path": "/metrics"},
        labels=dict(RUNTIME_LABELS),
        containers=[triton_container(args)],
        # The default 64Mi /dev/shm breaks the Python backend and large tensors.
        volumes=[
            k8s.core.v1.VolumeArgs(
                name="dshm", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit=args.shm_size)
            )
        ],
        # Where every replica's GPUs are, unless each InferenceService selects its own (Autopilot: by count).
        node_selector=dict(args.gpu.node_selector) if args.gpu and not args.gpu.per_replica else None,
        tolerations=gpu_tolerations(args.gpu),
    )


class TritonRuntime(pulumi.ComponentResource):
    """The `kserve-tritonserver` ClusterServingRuntime. Pass the cluster provider in `opts.providers`."""

    name: pulumi.Output[str]
    runtime: ClusterServingRuntime

    def __init__(self, name: str, args: TritonRuntimeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:kserve:TritonRuntime", name, None, opts)
        self.runtime = ClusterServingRuntime(
            name,
            name=RUNTIME_NAME,
            # Turns on KServe's Triton defaults (protocol v2) whatever the runtime is called.
            annotations={"serving.kserve.io/server-type": "tritonserver"},
            spec=runtime_spec(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.kserve_controller]),
        )
        self.name = self.runtime.metadata.apply(lambda metadata: metadata["name"])
        self.register_outputs({"name": self.name})
