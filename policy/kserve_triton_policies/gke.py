"""GKE: Workload Identity, shielded nodes, own node accounts, release channels, bounded GPU pools; production protected,
on-demand and private; spot pods that stop within GKE's notice."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from kserve_triton_policies.common import (
    CLUSTER,
    CSR,
    DEFAULT_MAX_GPU_NODES,
    ISVC,
    MANDATORY,
    NODE_POOL,
    RELEASE,
    SPOT_NOTICE_SECONDS,
    SR,
    _gpu_count,
    _is_production,
    _metadata,
    _of_type,
    _only,
)


def _workload_identity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not (args.props.get("workloadIdentityConfig") or {}).get("workloadPool"):
        report("Workload Identity must be on (workloadIdentityConfig.workloadPool)", None)


def _gke_metadata_on_gpu_nodes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (
        _gpu_count(args.props)
        and ((args.props.get("nodeConfig") or {}).get("workloadMetadataConfig") or {}).get("mode") != "GKE_METADATA"
    ):
        report("GPU nodes must run the GKE metadata server (workloadMetadataConfig.mode: GKE_METADATA)", None)


def _shielded_nodes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == CLUSTER and args.props.get("enableShieldedNodes") is False:
        report("shielded GKE nodes must stay on (enableShieldedNodes)", None)
    if args.resource_type == NODE_POOL:
        shielded = (args.props.get("nodeConfig") or {}).get("shieldedInstanceConfig") or {}
        if shielded.get("enableSecureBoot") is not True or shielded.get("enableIntegrityMonitoring") is False:
            report("nodes must boot shielded: enableSecureBoot and enableIntegrityMonitoring", None)


def _no_default_compute_account(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == CLUSTER and args.props.get("enableAutopilot"):
        defaults = (args.props.get("clusterAutoscaling") or {}).get("autoProvisioningDefaults") or {}
        account = defaults.get("serviceAccount")
        if not account or account == "default" or str(account).endswith("-compute@developer.gserviceaccount.com"):
            report("Autopilot's nodes must run as a dedicated service account (autoProvisioningDefaults)", None)
        return
    if args.resource_type == CLUSTER and args.props.get("nodeConfig") is None:
        if not args.props.get("removeDefaultNodePool"):
            report("the default node pool would run as the default compute service account", None)
        return
    account = (args.props.get("nodeConfig") or {}).get("serviceAccount")
    if not account or account == "default" or str(account).endswith("-compute@developer.gserviceaccount.com"):
        report(f"nodes must run as a dedicated service account, not {account or 'the default compute account'}", None)


def _release_channel(args: ResourceValidationArgs, report: ReportViolation) -> None:
    channel = (args.props.get("releaseChannel") or {}).get("channel")
    if channel in (None, "", "UNSPECIFIED"):
        report("the cluster must be enrolled in a release channel (RAPID, REGULAR, STABLE or EXTENDED)", None)


def _bounded_gpu_pool(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _gpu_count(args.props):
        return
    autoscaling = args.props.get("autoscaling") or {}
    bound = autoscaling.get("totalMaxNodeCount") or autoscaling.get("maxNodeCount")
    limit = (args.get_config() or {}).get("maxGpuNodes", DEFAULT_MAX_GPU_NODES)
    if not bound:
        report("a GPU pool must autoscale to a bounded maxNodes (cost and GPU quota)", None)
    elif bound > limit:
        report(f"a GPU pool of up to {int(bound)} nodes exceeds the allowed {limit} (policy config maxGpuNodes)", None)


def _production_protection(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _is_production(args.resources):
        return
    for resource in args.resources:
        if resource.resource_type == CLUSTER:
            if resource.props.get("deletionProtection") is not True:
                report(f"production cluster {resource.name}: deletionProtection must be true", None)
            if not resource.opts.protect:
                report(f"production cluster {resource.name}: must be protected (Pulumi protect)", None)
        is_crds = resource.resource_type == RELEASE and str(resource.props.get("chart", "")).endswith("/kserve-crd")
        if is_crds and not resource.opts.protect:
            report("production KServe CRDs must be protected: deleting them deletes every InferenceService", None)


def _spot_outside_production(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _is_production(args.resources):
        return
    for resource in args.resources:
        if resource.resource_type == NODE_POOL and _gpu_count(resource.props) and _preemptible(resource.props):
            report(f"production GPU pool {resource.name} must be on-demand, not spot or preemptible", None)


def _private_nodes_in_production(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _is_production(args.resources):
        return
    for cluster in _of_type(args.resources, CLUSTER):
        if ((cluster.props.get("privateClusterConfig") or {}).get("enablePrivateNodes")) is not True:
            report(f"production cluster {cluster.name}: nodes must have no external IP (enablePrivateNodes)", None)


def _preemptible(pool_props: dict[str, Any]) -> bool:
    node_config = pool_props.get("nodeConfig") or {}
    return bool(node_config.get("spot") or node_config.get("preemptible"))


def _spot_grace(args: StackValidationArgs, report: ReportViolation) -> None:
    """On a spot GPU pool, a predictor's grace is cut to the notice GKE gives it: the pod must be told so, and Triton
    must stop waiting for in-flight requests before the grace runs out."""
    spot = any(_gpu_count(pool.props) and _preemptible(pool.props) for pool in _of_type(args.resources, NODE_POOL))
    if not spot:
        return
    exit_timeouts: dict[str, int | None] = {}
    for runtime in _of_type(args.resources, CSR, SR):
        for container in (runtime.props.get("spec") or {}).get("containers") or []:
            if container.get("name") == "kserve-container":
                flags = [a for a in container.get("args") or [] if str(a).startswith("--exit-timeout-secs=")]
                exit_timeouts[_metadata(runtime).get("name")] = int(flags[-1].split("=", 1)[1]) if flags else None
    for isvc in _of_type(args.resources, ISVC):
        predictor = (isvc.props.get("spec") or {}).get("predictor") or {}
        name = _metadata(isvc).get("name") or isvc.name
        grace = predictor.get("terminationGracePeriodSeconds")
        if grace is None or grace > SPOT_NOTICE_SECONDS:
            report(
                f"InferenceService {name} on a spot GPU pool: terminationGracePeriodSeconds must be at most "
                f"{SPOT_NOTICE_SECONDS} (GKE gives pods {SPOT_NOTICE_SECONDS} s of a spot VM's notice), not "
                f"{grace if grace is not None else 'the default 30'}",
                None,
            )
            continue
        runtime = (predictor.get("model") or {}).get("runtime")
        if runtime in exit_timeouts and (exit_timeouts[runtime] is None or exit_timeouts[runtime] >= grace):
            report(
                f"runtime {runtime}: Triton's --exit-timeout-secs must be below InferenceService {name}'s "
                f"{int(grace)} s grace (Triton's default is 30), got {exit_timeouts[runtime]}",
                None,
            )


POLICIES = [
    ResourceValidationPolicy(
        "gke-workload-identity",
        "GKE clusters have Workload Identity on.",
        _only((CLUSTER,), _workload_identity),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "gke-metadata-server-on-gpu-nodes",
        "GPU node pools run the GKE metadata server (Workload Identity for pods).",
        _only((NODE_POOL,), _gke_metadata_on_gpu_nodes),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "gke-shielded-nodes",
        "Clusters keep shielded nodes on; node pools use secure boot and integrity monitoring.",
        _only((CLUSTER, NODE_POOL), _shielded_nodes),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "gke-no-default-compute-service-account",
        "Nodes never run as the default compute service account.",
        _only((CLUSTER, NODE_POOL), _no_default_compute_account),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "gke-release-channel",
        "GKE clusters are enrolled in a release channel.",
        _only((CLUSTER,), _release_channel),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "gpu-pool-bounded",
        "GPU node pools autoscale to a bounded maximum (cost, quota).",
        _only((NODE_POOL,), _bounded_gpu_pool),
        MANDATORY,
    ),
    StackValidationPolicy(
        "production-is-protected",
        "In production: GKE deletion protection on, and the cluster and KServe CRDs Pulumi-protected.",
        _production_protection,
        MANDATORY,
    ),
    StackValidationPolicy(
        "spot-only-outside-production",
        "Production GPU pools are on-demand; spot is for other stacks.",
        _spot_outside_production,
        MANDATORY,
    ),
    StackValidationPolicy(
        "production-private-nodes",
        "Production GKE nodes have no external IP (privateClusterConfig.enablePrivateNodes).",
        _private_nodes_in_production,
        MANDATORY,
    ),
    StackValidationPolicy(
        "spot-grace-fits-notice",
        "On a spot GPU pool, predictors stop within GKE's 15 s, and Triton's exit timeout is below their grace.",
        _spot_grace,
        MANDATORY,
    ),
]
