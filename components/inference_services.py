"""The team's InferenceServices, served by the Triton runtime, each in its namespace with model access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from catalog import model_loading as loading_catalog
from catalog import triton_metrics as tm
from catalog.gcp import GpuShare
from catalog.gpu_placement import GpuPlacement
from components.kserve_types import (
    DeploymentStrategy,
    InferenceService,
    InferenceServiceSpec,
    ModelFormat,
    ModelSpec,
    PredictorSpec,
    RollingUpdate,
)
from components.model_namespace import PSA_LABELS, load_balancer_ranges, network_policies
from components.model_storage import MODEL_READER_KSA
from components.model_volumes import (
    HYPERDISK_ML_CLASS,
    ModelVolumeArgs,
    claim_name,
    fuse_annotations,
    hyperdisk_class_spec,
    model_volume,
)
from components.observability_types import (
    AdvancedConfig,
    AuthenticationRef,
    HorizontalPodAutoscalerConfig,
    HpaBehavior,
    HpaScalingPolicy,
    HpaScalingRules,
    LabelSelector,
    PodIdentity,
    PodMonitoring,
    PodMonitoringSpec,
    ScaledObject,
    ScaledObjectSpec,
    ScaleTargetRef,
    ScaleTrigger,
    ScrapeEndpoint,
    TargetLabels,
    TriggerAuthentication,
    TriggerAuthenticationSpec,
)
from components.triton_runtime import (
    ON_DEMAND_GRACE_SECONDS,
    RUNTIME_LABELS,
    RUNTIME_NAME,
    gpu_tolerations,
    spot_gpus,
    termination_grace_seconds,
    triton_resources,
)
from settings.base import memory_mib

if TYPE_CHECKING:
    from components.gpu_capacity import GpuCapacity
    from components.gpu_node_pool import GpuNodePool
    from components.kserve_platform import KServePlatform
    from components.model_storage import ModelStorageAccess
    from components.triton_runtime import TritonRuntime
    from settings import StackSettings

# Namespaces every cluster already has.
EXISTING_NAMESPACES = {"default"}

# KEDA's per-namespace credentials (a ScaledObject names a TriggerAuthentication of its own namespace).
TRIGGER_AUTHENTICATION = "gmp-workload-identity"
POD_MONITORING = "triton"
SCRAPE_INTERVAL = "15s"
# `pulumi up` waits for Ready: the node, the driver and the image come before Triton's own start-up allowance.
NODE_AND_IMAGE_ALLOWANCE_SECONDS = 20 * 60

# Every container of a predictor pod runs as non-root with the RuntimeDefault seccomp profile, whatever KServe puts
# in it: the storage initializer (from the ClusterStorageContainer) sets neither at container level in KServe v0.20.
POD_SECURITY_CONTEXT = k8s.core.v1.PodSecurityContextArgs(
    run_as_non_root=True, seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")
)
ZONE = "topology.kubernetes.io/zone"


def predictor_labels(name: str) -> dict[str, str]:
    """Labels KServe puts on every predictor pod of an InferenceService (and on no transformer or explainer pod):
    `serving.kserve.io/inferenceservice` and `component` (KServe v0.20 predictor.go, buildObjectMeta)."""
    return {"serving.kserve.io/inferenceservice": name, "component": "predictor"}


def zone_spread(name: str) -> k8s.core.v1.TopologySpreadConstraintArgs:
    """Replicas spread over the zones the GPU pool has: a preference (ScheduleAnyway), so a replica is never left
    pending for want of a GPU in the emptiest zone, and a single-zone pool is unaffected."""
    return k8s.core.v1.TopologySpreadConstraintArgs(
        max_skew=1,
        topology_key=ZONE,
        when_unsatisfiable="ScheduleAnyway",
        label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=predictor_labels(name)),
    )


def disruption_budget(name: str) -> dict[str, object]:
    """The predictor's PodDisruptionBudget spec: drains, upgrades and scale-downs take one replica at a time.

    maxUnavailable 1 never blocks a drain (a single replica may still be evicted), and AlwaysAllow lets an unready
    replica be evicted even when the budget is spent, so a crash-looping pod cannot hold up a node upgrade
    (Kubernetes docs, "Specifying a Disruption Budget": unhealthy pod eviction policy, GA in 1.31). Preemption of a
    spot VM is not a voluntary disruption: no budget applies to it."""
    return {
        "maxUnavailable": 1,
        "selector": {"matchLabels": predictor_labels(name)},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }


def gmp_query_address(project: str) -> str:
    """Managed Service for Prometheus's query API for a project (KEDA appends /api/v1/query)."""
    return f"https://monitoring.googleapis.com/v1/projects/{project}/location/global/prometheus"


@dataclass(frozen=True)
class Scaling:
    """What KEDA scales one InferenceService on."""

    signal: tm.AutoscalingSignal
    threshold: float
    """What one replica should carry, in the query's unit (KEDA's threshold: it aims at ceil(total / it))."""

    @classmethod
    def of(cls, signal: str, target: float, gpus: int) -> Scaling:
        """From the settings' signal and target (queue time in ms, requests/s, % per GPU)."""
        if signal == "queueTime":
            return cls(tm.QUEUE_TIME, target * 1000)  # the query is in µs
        if signal == "requestRate":
            return cls(tm.REQUEST_RATE, target)
        if signal == "pendingRequests":
            return cls(tm.PENDING_REQUESTS, target)
        return cls(tm.GPU_UTILIZATION, target * max(gpus, 1))  # the query sums the replica's GPUs


@dataclass(frozen=True)
class ManagedPrometheus:
    """Where Triton's metrics are collected (GMP) and queried from, for one GKE cluster."""

    project: str
    cluster_name: str
    location: str
    """The cluster's region or zone: GMP's `location` label."""


@dataclass(frozen=True)
class InferenceServiceArgs:
    name: str
    namespace: str
    model_format: str
    model_format_version: str | None
    storage_uri: str
    gpus: int
    min_replicas: int
    max_replicas: int
    runtime_version: str | None
    bucket: str | None = None
    """The GCS bucket of a gs:// storage URI."""
    scaling: Scaling | None = None
    """None: the replica count is fixed (minReplicas = maxReplicas), no autoscaler."""
    loading: str = "download"
    """download (KServe's storage initializer), gcsFuse or hyperdiskMl (a volume mounted at /mnt/models)."""
    model_size_gb: float | None = None


@dataclass(frozen=True)
class InferenceServicesArgs:
    services: list[InferenceServiceArgs]
    runtime_name: str
    per_gpu: GpuShare
    gpu_capacity: int
    """GPUs the pool can hold at its largest: decides whether a rollout may add a replica first."""
    gpu: GpuPlacement | None
    """Where GPU replicas run; None on a cluster without GPUs."""
    model_reader_email: pulumi.Input[str] | None
    """The GCP service account the `model-reader` Kubernetes account impersonates; None: no cloud access."""
    deployment_mode: str
    cluster_local: bool
    """No Ingress: label the services cluster-local."""
    depends_on: list[pulumi.Resource]
    """What must exist before every InferenceService: the runtime, the KServe controller, GPU nodes."""
    grants_for: Callable[[str, str | None], list[pulumi.Resource]] | None = None
    """(namespace, bucket) -> the grants one model's pods need to download it (its own, no other model's)."""
    prometheus: ManagedPrometheus | None = None
    """On GKE: scrape Triton with GMP, and autoscale on its metrics. None: neither."""
    prometheus_url: str | None = None
    """Elsewhere: the user's own Prometheus query endpoint, which scrapes the predictors (`kserve.prometheusUrl`)."""
    wait_for_ready: bool = False
    """`pulumi up` waits until each InferenceService is Ready (or fails naming it)."""
    startup_timeout_seconds: int = 900
    ephemeral_storage: str | None = None
    """Local disk each replica requests (the model download); None: no request."""
    termination_grace_seconds: int = ON_DEMAND_GRACE_SECONDS
    """terminationGracePeriodSeconds of every predictor: what the GPU pool's nodes give a pod to stop."""
    load_balancer_ranges: list[str] = field(default_factory=list)
    """Source ranges the model namespaces' NetworkPolicies admit on the http port: the Ingress's load balancer."""
    autopilot: bool = False
    """GKE Autopilot: the FUSE sidecar's limits equal its requests."""
    volume_zones: list[str] | None = None
    """Where a Hyperdisk ML volume may be created: the GPU zone."""
    capacity: list[pulumi.Resource] = field(default_factory=list)
    """The ComputeClasses GPU replicas and Volume Populator Jobs need (a fallback list)."""

    @classmethod
    def from_settings(
        cls,
        stack: StackSettings,
        triton: TritonRuntime,
        kserve: KServePlatform,
        gpu_pool: GpuNodePool | None,
        model_access: ModelStorageAccess | None,
        capacity: GpuCapacity | None = None,
    ) -> InferenceServicesArgs:
        from settings.capacity import capacity_zones
        from settings.gpu_pool import gpu_capacity, gpu_placement
        from settings.model_loading import loading_mode

        # Created after (so deleted before) the controller whose finalizer they carry; and after the runtime,
        # the GPU nodes (or the ComputeClass GKE creates them from) and their image grants.
        depends_on = [triton.runtime, kserve.controller]
        depends_on += [gpu_pool.node_pool] if gpu_pool and gpu_pool.node_pool else []
        depends_on += [*gpu_pool.image_bindings] if gpu_pool else []
        classes = [c for c in (capacity.compute_class, capacity.populator_class) if c] if capacity else []
        return cls(
            services=[
                InferenceServiceArgs(
                    **isvc.model_dump(exclude={"autoscaling", "model_loading"}),
                    bucket=isvc.bucket,
                    scaling=Scaling.of(isvc.scaling.signal, isvc.scaling.target_value, isvc.gpus)
                    if isvc.scaling
                    else None,
                    loading=loading_mode(stack, isvc),
                )
                for isvc in stack.inference_services
            ],
            runtime_name=RUNTIME_NAME,
            per_gpu=stack.replica_size,
            gpu_capacity=gpu_capacity(stack),
            gpu=gpu_placement(stack),
            ephemeral_storage=stack.triton.ephemeral_storage_or_default(stack.cluster.is_autopilot) or None,
            model_reader_email=model_access.email if model_access else None,
            deployment_mode=stack.kserve.deployment_mode,
            cluster_local=stack.kserve.ingress.class_name is None,
            depends_on=depends_on,
            grants_for=model_access.grants_for if model_access else None,
            prometheus=ManagedPrometheus(stack.project, stack.cluster.gke_name, stack.cluster.gke_location)
            if stack.on_gke
            else None,
            prometheus_url=stack.kserve.prometheus_url,
            wait_for_ready=stack.kserve.wait_for_ready,
            startup_timeout_seconds=stack.triton.startup_timeout_seconds,
            termination_grace_seconds=termination_grace_seconds(spot_gpus(stack)),
            load_balancer_ranges=load_balancer_ranges(stack.kserve.ingress.class_name),
            autopilot=stack.cluster.is_autopilot,
            volume_zones=capacity_zones(stack) if stack.on_gke else None,
            capacity=classes,
        )


def predictor_url(service: InferenceServiceArgs) -> str:
    return f"http://{service.name}-predictor.{service.namespace}.svc.cluster.local"


def rollout_strategy(service: InferenceServiceArgs, spare_gpus: int) -> DeploymentStrategy:
    """Start the new replica first when the pool has a GPU to spare for it; otherwise stop one first, or a
    rollout would wait forever for a GPU that cannot exist (Kubernetes' default surges 25%)."""
    if spare_gpus >= service.gpus:
        update = RollingUpdate(max_surge=1, max_unavailable=0)
    else:
        update = RollingUpdate(max_surge=0, max_unavailable=1)
    return DeploymentStrategy(type="RollingUpdate", rolling_update=update)


def quantity(value: float) -> str:
    """A number as a Kubernetes quantity: plain decimal, never an exponent."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


POLLING_SECONDS = 15
"""How often KEDA asks Prometheus (its default is 30 s)."""

SCALE_UP_POLICIES = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
"""At most double the replicas per HPA sync (the HPA's default also allows +4 pods at once)."""
SCALE_DOWN_STABILIZATION_SECONDS = 120
"""The HPA scales down to the highest count it recommended in this window (its default is 300 s)."""


def behavior() -> HpaBehavior:
    """How fast KEDA's HPA may move: up by doubling per sync at most, down only to the highest count it recommended
    over the stabilisation window (scripts/benchmark-scaling measures both; README, "Autoscaling")."""
    return HpaBehavior(
        scale_up=HpaScalingRules(
            stabilization_window_seconds=0,
            select_policy="Max",
            policies=[
                HpaScalingPolicy(type=p["type"], value=p["value"], period_seconds=p["periodSeconds"])
                for p in SCALE_UP_POLICIES
            ],
        ),
        scale_down=HpaScalingRules(
            stabilization_window_seconds=SCALE_DOWN_STABILIZATION_SECONDS,
            select_policy="Max",
            policies=[HpaScalingPolicy(type="Percent", value=100, period_seconds=15)],
        ),
    )


def scaled_object(args: InferenceServicesArgs, service: InferenceServiceArgs) -> ScaledObjectSpec | None:
    """KEDA's ScaledObject for the predictor Deployment: one Prometheus trigger whose query totals the service's
    replicas; KEDA aims at ceil(total / threshold) replicas (AverageValue).

    The program declares it, and the InferenceService is of KServe's `external` class (KServe then neither makes
    an autoscaler nor sets the Deployment's replicas after creating it). KServe v0.20 makes one itself for its
    `keda` class, but never deletes it when the class changes: a ScaledObject left behind would keep its HPA scaling
    the Deployment KServe then pins to minReplicas. Declared here, it goes when autoscaling goes."""
    if service.scaling is None:
        return None
    authentication = None
    if args.prometheus is not None:  # GMP, read with the namespace's TriggerAuthentication (Workload Identity)
        scope = tm.Scope.inference_service(
            cluster=args.prometheus.cluster_name,
            location=args.prometheus.location,
            namespace=service.namespace,
            name=service.name,
        )
        address = gmp_query_address(args.prometheus.project)
        authentication = AuthenticationRef(name=TRIGGER_AUTHENTICATION)
    else:  # the user's own Prometheus; the settings refuse scaling without one off GKE
        assert args.prometheus_url is not None
        scope = tm.Scope.pods(namespace=service.namespace, name=service.name)
        address = args.prometheus_url
    return ScaledObjectSpec(
        scale_target_ref=ScaleTargetRef(name=f"{service.name}-predictor"),
        min_replica_count=service.min_replicas,
        max_replica_count=service.max_replicas,
        polling_interval=POLLING_SECONDS,
        advanced=AdvancedConfig(horizontal_pod_autoscaler_config=HorizontalPodAutoscalerConfig(behavior=behavior())),
        triggers=[
            ScaleTrigger(
                type="prometheus",
                metadata={
                    "serverAddress": address,
                    "query": service.scaling.signal.promql(scope, tm.AUTOSCALING_WINDOW),
                    "threshold": quantity(service.scaling.threshold),
                    # No series at all (nothing scraped yet, or the scrape broke) is an error, not 0: the HPA then
                    # keeps the count it has (ScalingActive False) instead of scaling down to minReplicas.
                    "ignoreNullValues": "false",
                },
                authentication_ref=authentication,
            )
        ],
    )


READY_MARKER = "kserve-triton/waited-for-ready"
SKIP_AWAIT = "pulumi.com/skipAwait"


def ready_once(
    resource_name: str,
    service: InferenceServiceArgs,
    namespaces: dict[str, pulumi.Input[str]],
    isvc: pulumi.Resource,
    timeouts: pulumi.CustomTimeouts,
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResourcePatch:
    """`pulumi up` waits until KServe reports the InferenceService Ready, once: when it is created (or moved).

    The wait is a patch of one constant annotation, made after the InferenceService, carrying `pulumi.com/waitFor`.
    It changes only with the InferenceService's name or namespace, so later ups leave it alone and do not wait.
    Waiting on every update cannot work with KServe v0.20 in Standard mode: it reports the Deployment's
    observedGeneration as the InferenceService's (pkg/apis/serving/v1beta1/inference_service_status.go,
    PropagateRawStatus), so a change that leaves the Deployment alone (min/max with a ScaledObject, say) is never
    "observed", and the provider's wait (condition and jsonpath alike require observedGeneration >= generation)
    would last until its timeout. The annotation stays on the live InferenceService, where the provider looks for
    it on every update: the InferenceService itself therefore carries `pulumi.com/skipAwait` (`annotations`). Both
    found by the real engine and KServe in the embedded cluster (tests/e2e)."""
    return k8s.apiextensions.CustomResourcePatch(
        resource_name,
        api_version="serving.kserve.io/v1beta1",
        kind="InferenceService",
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(
            name=service.name,
            namespace=namespaces[service.namespace],
            annotations={READY_MARKER: "true", "pulumi.com/waitFor": "condition=Ready"},
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[isvc], custom_timeouts=timeouts),
    )


def annotations(args: InferenceServicesArgs, service: InferenceServiceArgs) -> dict[str, str]:
    found = {
        "serving.kserve.io/deploymentMode": args.deployment_mode,
        # external: the program's ScaledObject scales the Deployment; none: no autoscaler, replicas = minReplicas.
        "serving.kserve.io/autoscalerClass": "external" if service.scaling else "none",
    }
    if args.wait_for_ready:
        # The provider reads `pulumi.com/waitFor` from the live object, where the wait's patch (ready_once) leaves
        # it: without this, every later update of the InferenceService would wait on it too. skipAwait is read from
        # this resource's own inputs, so only the patch waits; deletes still wait for KServe's finalizer (the
        # provider skips a delete's wait only for a few built-in kinds: pkg/metadata/overrides.go).
        found[SKIP_AWAIT] = "true"
    return found


def replica_share(args: InferenceServicesArgs, service: InferenceServiceArgs, gpus: int) -> GpuShare:
    """The Triton container's CPU and memory: its GPUs' share, less the FUSE sidecar's requests when the pod has one
    (the pod must still fit the node the share was computed for)."""
    share = args.per_gpu.times(max(gpus, 1))
    if service.loading != "gcsFuse":
        return share
    sidecar = loading_catalog.FUSE_SIDECAR_DEFAULTS
    return GpuShare(
        share.cpu_millis - int(sidecar["cpu"].removesuffix("m")), share.memory_mib - memory_mib(sidecar["memory"])
    )


def model_annotations(args: InferenceServicesArgs, service: InferenceServiceArgs) -> dict[str, str] | None:
    """Pod annotations of the predictor: the FUSE sidecar's (KServe copies a predictor's annotations to its pods)."""
    if service.loading != "gcsFuse":
        return None
    assert service.model_size_gb is not None  # required with gcsFuse by the settings
    from settings.model_loading import cache_megabytes

    return fuse_annotations(cache_megabytes(service.model_size_gb), args.autopilot)


def storage_uri(service: InferenceServiceArgs) -> str:
    """Where KServe takes the model from: the model's volume (pvc://, mounted read-only, no init container), or the
    URI itself (downloaded by the storage initializer)."""
    return f"pvc://{claim_name(service.name)}" if service.loading in ("gcsFuse", "hyperdiskMl") else service.storage_uri


def predictor(args: InferenceServicesArgs, service: InferenceServiceArgs) -> PredictorSpec:
    gpus = service.gpus if args.gpu else 0
    spare = args.gpu_capacity - sum(s.min_replicas * s.gpus for s in args.services)
    return PredictorSpec(
        annotations=model_annotations(args, service),
        min_replicas=service.min_replicas,
        max_replicas=service.max_replicas,
        service_account_name=MODEL_READER_KSA,
        # An InferenceService's tolerations replace the runtime's (no merge key), so repeat the GPU one.
        tolerations=gpu_tolerations(args.gpu) if gpus else None,
        node_selector=args.gpu.replica_selector(gpus) if args.gpu else None,
        deployment_strategy=rollout_strategy(service, spare) if gpus else None,
        security_context=POD_SECURITY_CONTEXT,
        termination_grace_period_seconds=args.termination_grace_seconds,
        topology_spread_constraints=[zone_spread(service.name)],
        model=ModelSpec(
            model_format=ModelFormat(name=service.model_format, version=service.model_format_version),
            # Named explicitly: pytorch is never auto-selected, and no other runtime can take over a model.
            runtime=args.runtime_name,
            runtime_version=service.runtime_version,
            storage_uri=storage_uri(service),
            # KServe defaults to v1, which Triton does not speak: no runtime would be found for onnx/tensorrt.
            protocol_version="v2",
            resources=triton_resources(replica_share(args, service, gpus), gpus, args.gpu, args.ephemeral_storage),
        ),
    )


class InferenceServices(pulumi.ComponentResource):
    """Namespaces, a `model-reader` service account per namespace, and one InferenceService per entry.
    Pass the cluster provider in `opts.providers`."""

    urls: pulumi.Output[dict[str, str]]
    """namespace/name -> the predictor's in-cluster URL."""

    def __init__(self, name: str, args: InferenceServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:kserve:InferenceServices", name, None, opts)

        namespaces: dict[str, pulumi.Input[str]] = {}
        accounts: dict[str, k8s.core.v1.ServiceAccount] = {}
        labelled: dict[str, pulumi.Resource] = {}
        for namespace in dict.fromkeys(s.namespace for s in args.services):
            if namespace in EXISTING_NAMESPACES:
                # Not ours to create or delete: only its Pod Security labels are applied (server-side apply, under
                # the patch's own field manager; removing the patch removes them).
                labelled[namespace] = k8s.core.v1.NamespacePatch(
                    f"{name}-{namespace}-pod-security",
                    metadata={"name": namespace, "labels": dict(PSA_LABELS)},
                    opts=pulumi.ResourceOptions(parent=self),
                )
                namespaces[namespace] = namespace
            else:
                created = k8s.core.v1.Namespace(
                    f"{name}-{namespace}",
                    metadata={"name": namespace, "labels": dict(PSA_LABELS)},
                    opts=pulumi.ResourceOptions(parent=self),
                )
                labelled[namespace] = created
                namespaces[namespace] = created.metadata["name"]
            accounts[namespace] = k8s.core.v1.ServiceAccount(
                f"{name}-{namespace}-model-reader",
                metadata={
                    "name": MODEL_READER_KSA,
                    "namespace": namespaces[namespace],
                    "annotations": (
                        {"iam.gke.io/gcp-service-account": args.model_reader_email}
                        if args.model_reader_email is not None
                        else None
                    ),
                },
                # Workload Identity needs no token in the pod, and Triton never calls the Kubernetes API.
                automount_service_account_token=False,
                opts=pulumi.ResourceOptions(parent=self),
            )

        # The Pod Security labels and the NetworkPolicies are in place before any predictor pod exists.
        per_namespace: dict[str, list[pulumi.Resource]] = {namespace: [labelled[namespace]] for namespace in namespaces}
        policies = network_policies(
            gmp_scrape=args.prometheus is not None,
            own_scrape=args.prometheus_url is not None,
            load_balancer_ranges=args.load_balancer_ranges,
        )
        for namespace in namespaces:
            for policy, spec in policies.items():
                per_namespace[namespace].append(
                    k8s.networking.v1.NetworkPolicy(
                        f"{name}-{namespace}-{policy}",
                        metadata={"name": policy, "namespace": namespaces[namespace]},
                        spec=spec,
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[labelled[namespace]]),
                    )
                )
            if args.prometheus is not None:
                per_namespace[namespace].append(
                    PodMonitoring(
                        f"{name}-{namespace}-metrics",
                        name=POD_MONITORING,
                        namespace=namespaces[namespace],
                        spec=PodMonitoringSpec(
                            selector=LabelSelector(match_labels=dict(RUNTIME_LABELS)),
                            endpoints=[ScrapeEndpoint(port="metrics", interval=SCRAPE_INTERVAL)],
                            target_labels=TargetLabels(metadata=list(tm.TRITON_TARGET_METADATA)),
                        ),
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            if args.prometheus is not None and any(s.scaling for s in args.services if s.namespace == namespace):
                per_namespace[namespace].append(
                    TriggerAuthentication(
                        f"{name}-{namespace}-keda-auth",
                        name=TRIGGER_AUTHENTICATION,
                        namespace=namespaces[namespace],
                        spec=TriggerAuthenticationSpec(pod_identity=PodIdentity(provider="gcp")),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on),
                    )
                )

        ready_within = args.startup_timeout_seconds + NODE_AND_IMAGE_ALLOWANCE_SECONDS
        timeouts = pulumi.CustomTimeouts(create=f"{ready_within}s", update=f"{ready_within}s")
        labels = {"networking.kserve.io/visibility": "cluster-local"} if args.cluster_local else None
        self.storage_class = (
            k8s.storage.v1.StorageClass(
                f"{name}-hyperdisk-ml",
                metadata={"name": HYPERDISK_ML_CLASS},
                **hyperdisk_class_spec(args.volume_zones),
                opts=pulumi.ResourceOptions(parent=self),
            )
            if any(s.loading == "hyperdiskMl" for s in args.services)
            else None
        )
        self.services: list[InferenceService] = []
        self.volumes: dict[str, list[pulumi.Resource]] = {}
        for service in args.services:
            volume: list[pulumi.Resource] = []
            if service.loading in ("gcsFuse", "hyperdiskMl"):
                assert service.model_size_gb is not None  # required by the settings
                grants = args.grants_for(service.namespace, service.bucket) if args.grants_for else []
                volume = model_volume(
                    name,
                    ModelVolumeArgs(
                        name=service.name,
                        namespace=service.namespace,
                        namespace_output=namespaces[service.namespace],
                        storage_uri=service.storage_uri,
                        mode=service.loading,
                        size_gb=service.model_size_gb,
                        service_account=MODEL_READER_KSA,
                        depends_on=[*grants, accounts[service.namespace], *args.capacity],
                    ),
                    self,
                    self.storage_class,
                )
                self.volumes[f"{service.namespace}/{service.name}"] = volume
            # Needs no pod to exist: it waits only for the namespace.
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-{service.namespace}-{service.name}-pdb",
                metadata={"name": f"{service.name}-predictor", "namespace": namespaces[service.namespace]},
                spec=disruption_budget(service.name),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[labelled[service.namespace]]),
            )
            isvc = InferenceService(
                f"{name}-{service.namespace}-{service.name}",
                name=service.name,
                namespace=namespaces[service.namespace],
                annotations=annotations(args, service),
                labels=labels,
                spec=InferenceServiceSpec(predictor=predictor(args, service)),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[
                        *args.depends_on,
                        *(args.grants_for(service.namespace, service.bucket) if args.grants_for else []),
                        accounts[service.namespace],
                        *per_namespace[service.namespace],
                        *volume,
                        *args.capacity,
                    ],
                ),
            )
            self.services.append(isvc)
            if args.wait_for_ready:
                ready_once(
                    f"{name}-{service.namespace}-{service.name}-ready", service, namespaces, isvc, timeouts, self
                )
            scaling = scaled_object(args, service)
            if scaling is not None:
                # After the InferenceService (whose Deployment it scales), so deleted before it.
                ScaledObject(
                    f"{name}-{service.namespace}-{service.name}-scaling",
                    name=f"{service.name}-predictor",
                    namespace=namespaces[service.namespace],
                    spec=scaling,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[isvc, *per_namespace[service.namespace]]),
                )

        self.urls = pulumi.Output.from_input({f"{s.namespace}/{s.name}": predictor_url(s) for s in args.services})
        self.register_outputs({"urls": self.urls})
