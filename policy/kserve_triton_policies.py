"""Security and cost guardrails for kserve-triton stacks, checked on every `pulumi preview`.

Run: `pulumi preview --policy-pack policy`. Mandatory policies fail the preview; advisory ones warn.
Resource properties are the engine's (camelCase inputs). A stack is production when its GKE cluster carries
the `kserve-triton-production: "true"` label, which the program sets from the stack's `production` setting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY

CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
SR = "kubernetes:serving.kserve.io/v1alpha1:ServingRuntime"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
NAMESPACE = "kubernetes:core/v1:Namespace"
NAMESPACE_PATCH = "kubernetes:core/v1:NamespacePatch"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
GPU = "nvidia.com/gpu"
AUTOPILOT_GPU_COUNT = "cloud.google.com/gke-accelerator-count"
PRODUCTION_LABEL = "kserve-triton-production"
DEFAULT_MAX_GPU_NODES = 32
ZONE = "topology.kubernetes.io/zone"
# GKE gives non-system pods the first 15 s of a spot VM's 30 s preemption notice (GKE docs, "Spot VMs").
SPOT_NOTICE_SECONDS = 15
# KServe v0.20's controller: its Deployment's name and its pods' labels (kserve-resources chart).
KSERVE_CONTROLLER = "kserve-controller-manager"
KSERVE_CONTROLLER_LABELS = {
    "app.kubernetes.io/name": KSERVE_CONTROLLER,
    "control-plane": KSERVE_CONTROLLER,
    "controller-tools.k8s.io": "1.0",
}


# --- reading resources ---------------------------------------------------------------------------------


def _containers(args: ResourceValidationArgs) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, container, pod-level spec) for the Triton runtime's containers and an InferenceService's model."""
    spec = args.props.get("spec") or {}
    if args.resource_type in (CSR, SR):
        for container in spec.get("containers") or []:
            yield f"container {container.get('name')}", container, spec
    elif args.resource_type == ISVC:
        predictor = spec.get("predictor") or {}
        if "model" in predictor:
            yield "predictor.model", predictor["model"], predictor
        for container in predictor.get("containers") or []:
            yield f"predictor container {container.get('name')}", container, predictor


def _name(args: ResourceValidationArgs) -> str:
    return (args.props.get("metadata") or {}).get("name") or args.name


def _is_production(resources: Iterable[PolicyResource]) -> bool:
    return any(
        (r.props.get("resourceLabels") or {}).get(PRODUCTION_LABEL) == "true"
        for r in resources
        if r.resource_type == CLUSTER
    )


def _gpu_count(pool_props: dict[str, Any]) -> int:
    accelerators = (pool_props.get("nodeConfig") or {}).get("guestAccelerators") or []
    return int(sum(a.get("count") or 0 for a in accelerators))


def _metadata(resource: PolicyResource) -> dict[str, Any]:
    return resource.props.get("metadata") or {}


def _of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels AND matchExpressions); {} selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        matched = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(operator, False)
        if not matched:
            return False
    return True


def _predictors(resources: list[PolicyResource]) -> Iterator[tuple[PolicyResource, str, str, dict[str, str]]]:
    """(InferenceService, namespace, name, labels of its predictor pods) for every InferenceService whose namespace
    is known. The labels are KServe's (v0.20 predictor.go, buildObjectMeta): the runtime's, the InferenceService's,
    the predictor's, then `serving.kserve.io/inferenceservice` and `component: predictor`."""
    runtime_labels = {
        _metadata(r).get("name"): (r.props.get("spec") or {}).get("labels") or {} for r in _of_type(resources, CSR, SR)
    }
    for isvc in _of_type(resources, ISVC):
        metadata, predictor = _metadata(isvc), (isvc.props.get("spec") or {}).get("predictor") or {}
        namespace, name = metadata.get("namespace"), metadata.get("name") or isvc.name
        if not isinstance(namespace, str):
            continue  # not known until the namespace exists
        labels = {
            **runtime_labels.get((predictor.get("model") or {}).get("runtime"), {}),
            **(metadata.get("labels") or {}),
            **(predictor.get("labels") or {}),
            "serving.kserve.io/inferenceservice": name,
            "component": "predictor",
        }
        yield isvc, namespace, name, labels


def _in_namespace(resources: list[PolicyResource], type_: str, namespace: str) -> list[PolicyResource]:
    return [r for r in _of_type(resources, type_) if _metadata(r).get("namespace") == namespace]


Check = Callable[[ResourceValidationArgs, ReportViolation], None]


def _only(types: tuple[str, ...], check: Check) -> Check:
    """Run `check` on resources of the given types only."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in types:
            check(args, report)

    return validate


# --- containers ----------------------------------------------------------------------------------------


def _non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, container, pod in _containers(args):
        context = container.get("securityContext") or {}
        pod_context = pod.get("securityContext") or {}
        if args.resource_type == ISVC and not context and not pod_context:
            continue  # the model inherits the runtime container's securityContext
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if user == 0 or non_root is False or (args.resource_type != ISVC and non_root is not True):
            report(f"{_name(args)} {where}: must run as non-root (runAsNonRoot: true, runAsUser not 0)", None)


def _no_escalation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, container, _ in _containers(args):
        context = container.get("securityContext") or {}
        if args.resource_type == ISVC and not context:
            continue
        if context.get("privileged") is True or context.get("allowPrivilegeEscalation") is not False:
            report(f"{_name(args)} {where}: set allowPrivilegeEscalation: false and never privileged", None)


def _drop_all(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, container, _ in _containers(args):
        context = container.get("securityContext") or {}
        if args.resource_type == ISVC and not context:
            continue
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []) or capabilities.get("add"):
            report(f"{_name(args)} {where}: capabilities must drop ALL and add none", None)


def _seccomp(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, container, pod in _containers(args):
        if args.resource_type == ISVC and not container.get("securityContext"):
            continue
        profile = (container.get("securityContext") or {}).get("seccompProfile") or (
            (pod.get("securityContext") or {}).get("seccompProfile") or {}
        )
        if profile.get("type") not in ("RuntimeDefault", "Localhost"):
            report(f"{_name(args)} {where}: seccompProfile must be RuntimeDefault", None)


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _image_pinned(image: str) -> bool:
    if _DIGEST.search(image):
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")


def _pinned_images(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, container, _ in _containers(args):
        image = container.get("image")
        if image is not None and not _image_pinned(image):
            report(f"{_name(args)} {where}: image {image!r} must be pinned to a tag or digest, never latest", None)
        version = container.get("runtimeVersion")
        if version in ("latest", ""):
            report(f"{_name(args)} {where}: runtimeVersion must be a pinned tag, not {version!r}", None)
    if args.resource_type in (CSR, SR):
        for container in (args.props.get("spec") or {}).get("containers") or []:
            if "image" not in container:
                report(f"{_name(args)} container {container.get('name')}: has no image", None)


# --- GPU scheduling ------------------------------------------------------------------------------------


def _gpu_requests_equal_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, container, _ in _containers(args):
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        if (GPU in requests or GPU in limits) and str(requests.get(GPU, limits.get(GPU))) != str(limits.get(GPU)):
            report(f"{_name(args)} {where}: {GPU} requests and limits must be equal (and set in limits)", None)


def _gpu_toleration(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, container, pod in _containers(args):
        limits = (container.get("resources") or {}).get("limits") or {}
        if str(limits.get(GPU, "0")) in ("0", ""):
            continue
        if AUTOPILOT_GPU_COUNT in (pod.get("nodeSelector") or {}):
            continue  # Autopilot adds the toleration to a Pod that selects a GPU count (GKE docs, Autopilot GPUs)
        tolerated = any(
            t.get("key") == GPU
            and t.get("effect") in (None, "", "NoSchedule")
            and (t.get("operator") == "Exists" or t.get("value") == "present")
            for t in pod.get("tolerations") or []
        )
        if not tolerated:
            report(f"{_name(args)} {where}: requests a GPU but does not tolerate the {GPU} NoSchedule taint", None)


def _runtime_priority_clash(args: StackValidationArgs, report: ReportViolation) -> None:
    """KServe's webhook refuses two enabled runtimes auto-selecting the same format version at one priority."""
    claims: dict[tuple[str, str, int], list[tuple[str, set[str]]]] = {}
    for resource in args.resources:
        if resource.resource_type not in (CSR, SR):
            continue
        spec = resource.props.get("spec") or {}
        if spec.get("disabled") or spec.get("multiModel"):
            continue
        name = (resource.props.get("metadata") or {}).get("name") or resource.name
        priorities: dict[str, set[int]] = {}
        for entry in spec.get("supportedModelFormats") or []:
            if entry.get("autoSelect"):
                priorities.setdefault(entry["name"], set()).add(int(entry.get("priority") or 0))
                key = (entry["name"], str(entry.get("version", "")), int(entry.get("priority") or 0))
                claims.setdefault(key, []).append((name, set(spec.get("protocolVersions") or ["v1"])))
        for format_name, found in priorities.items():
            if len(found) > 1:
                report(f"runtime {name} gives model format {format_name} different priorities {sorted(found)}", None)
    for (format_name, version, priority), runtimes in sorted(claims.items()):
        for index, (first, first_protocols) in enumerate(runtimes):
            for second, second_protocols in runtimes[index + 1 :]:
                if first_protocols & second_protocols:
                    report(
                        f"runtimes {first} and {second} both auto-select {format_name} {version} at priority "
                        f"{priority}; KServe's webhook rejects that",
                        None,
                    )


# --- GKE -----------------------------------------------------------------------------------------------


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


# --- model namespaces ----------------------------------------------------------------------------------


def _psa_restricted(args: StackValidationArgs, report: ReportViolation) -> None:
    labels_of = {
        _metadata(r).get("name"): _metadata(r).get("labels") or {}
        for r in _of_type(args.resources, NAMESPACE, NAMESPACE_PATCH)
    }
    for _, namespace, name, _ in _predictors(args.resources):
        if labels_of.get(namespace, {}).get("pod-security.kubernetes.io/enforce") != "restricted":
            report(
                f"namespace {namespace} of InferenceService {name} must enforce the restricted Pod Security Standard "
                "(label pod-security.kubernetes.io/enforce: restricted, on a Namespace or NamespacePatch here)",
                None,
            )


def _admits_everyone(rule: dict[str, Any]) -> bool:
    peers = rule.get("from")
    if not peers:
        return True
    return any(
        (peer.get("namespaceSelector") == {} and not (peer.get("podSelector") or {}))
        or (peer.get("ipBlock") or {}).get("cidr") in ("0.0.0.0/0", "::/0")
        for peer in peers
    )


def _default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    for _, namespace, name, labels in _predictors(args.resources):
        selecting = [
            p.props.get("spec") or {}
            for p in _in_namespace(args.resources, NETWORK_POLICY, namespace)
            if "Ingress" in ((p.props.get("spec") or {}).get("policyTypes") or ["Ingress"])
            and _selects((p.props.get("spec") or {}).get("podSelector"), labels)
        ]
        if not any(not spec.get("ingress") for spec in selecting):
            report(
                f"InferenceService {namespace}/{name}: no NetworkPolicy here denies ingress to its predictor by "
                "default (one that selects its pods for Ingress with no rule)",
                None,
            )
        if any(_admits_everyone(rule) for spec in selecting for rule in spec.get("ingress") or []):
            report(f"InferenceService {namespace}/{name}: a NetworkPolicy admits every source to its predictor", None)


# --- availability in production ------------------------------------------------------------------------


def _isvc_pdb(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _is_production(args.resources):
        return
    for _, namespace, name, labels in _predictors(args.resources):
        budgets = [
            b
            for b in _in_namespace(args.resources, PDB, namespace)
            if _selects((b.props.get("spec") or {}).get("selector"), labels)
        ]
        if not budgets:
            report(
                f"production InferenceService {namespace}/{name}: no PodDisruptionBudget selects its predictor", None
            )


def _isvc_zone_spread(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _is_production(args.resources):
        return
    for isvc, namespace, name, labels in _predictors(args.resources):
        predictor = (isvc.props.get("spec") or {}).get("predictor") or {}
        spread = [
            c
            for c in predictor.get("topologySpreadConstraints") or []
            if c.get("topologyKey") == ZONE and c.get("labelSelector") and _selects(c["labelSelector"], labels)
        ]
        if not spread:
            report(
                f"production InferenceService {namespace}/{name}: its predictor must spread over zones "
                f"(topologySpreadConstraints on {ZONE} selecting its pods)",
                None,
            )


def _control_plane_ha(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _is_production(args.resources):
        return
    controllers = [
        d
        for d in _of_type(args.resources, DEPLOYMENT, DEPLOYMENT_PATCH)
        if _metadata(d).get("name") == KSERVE_CONTROLLER
    ]
    if not any(((d.props.get("spec") or {}).get("replicas") or 0) >= 2 for d in controllers):
        report(f"production: KServe's controller ({KSERVE_CONTROLLER}) must run at least 2 replicas", None)
    namespaces = {_metadata(d).get("namespace") for d in controllers} or {"kserve"}
    if not any(
        _selects((b.props.get("spec") or {}).get("selector"), KSERVE_CONTROLLER_LABELS)
        for namespace in namespaces
        for b in _in_namespace(args.resources, PDB, namespace)
    ):
        report(f"production: no PodDisruptionBudget protects KServe's controller ({KSERVE_CONTROLLER})", None)
    for release in _of_type(args.resources, RELEASE):
        if release.props.get("chart") != "cert-manager":
            continue
        webhook = (release.props.get("values") or {}).get("webhook") or {}
        if (webhook.get("replicaCount") or 1) < 2:
            report("production: cert-manager's webhook must run at least 2 replicas (webhook.replicaCount)", None)
        if not (webhook.get("podDisruptionBudget") or {}).get("enabled"):
            report(
                "production: cert-manager's webhook needs its PodDisruptionBudget (webhook.podDisruptionBudget)", None
            )


def _no_oci(args: ResourceValidationArgs, report: ReportViolation) -> None:
    model = ((args.props.get("spec") or {}).get("predictor") or {}).get("model") or {}
    if str(model.get("storageUri") or "").startswith("oci://"):
        report(
            f"{_name(args)}: oci:// storage (KServe's modelcars) does not work with Triton in KServe v0.20 "
            "(uid 1010 and a /mnt/models symlink Triton cannot follow, kserve/kserve#4753)",
            None,
        )


# --- Helm and CRDs -------------------------------------------------------------------------------------

_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")


def _helm_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    version = str(args.props.get("version") or "")
    if not _EXACT_VERSION.match(version):
        report(
            f"Helm release {args.props.get('name', args.name)}: chart version must be pinned (got {version!r})", None
        )


def _crds_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if str(args.props.get("chart", "")).endswith("/kserve-crd") and not args.opts.protect:
        report("the KServe CRDs are not protected; deleting them deletes every InferenceService", None)


# --- the pack ------------------------------------------------------------------------------------------

_CONTAINERS = (CSR, SR, ISVC)

POLICIES = [
    ResourceValidationPolicy(
        "triton-non-root",
        "Triton runtime and InferenceService containers run as non-root.",
        _only(_CONTAINERS, _non_root),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "triton-no-privilege-escalation",
        "Containers never escalate privileges and are never privileged.",
        _only(_CONTAINERS, _no_escalation),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "triton-drop-all-capabilities",
        "Containers drop all Linux capabilities.",
        _only(_CONTAINERS, _drop_all),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "triton-seccomp-runtime-default",
        "Containers run with the RuntimeDefault seccomp profile.",
        _only(_CONTAINERS, _seccomp),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "images-pinned",
        "Images are pinned to a tag or digest, never latest.",
        _only(_CONTAINERS, _pinned_images),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "gpu-requests-equal-limits",
        "An InferenceService requesting nvidia.com/gpu has equal requests and limits.",
        _only(_CONTAINERS, _gpu_requests_equal_limits),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "gpu-taint-tolerated",
        "An InferenceService requesting nvidia.com/gpu tolerates the GPU nodes' taint.",
        _only((ISVC,), _gpu_toleration),
        MANDATORY,
    ),
    StackValidationPolicy(
        "runtime-priorities-do-not-clash",
        "No two enabled runtimes auto-select the same model format version at the same priority.",
        _runtime_priority_clash,
        MANDATORY,
    ),
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
    StackValidationPolicy(
        "model-namespace-psa-restricted",
        "Every namespace holding an InferenceService enforces the restricted Pod Security Standard.",
        _psa_restricted,
        MANDATORY,
    ),
    StackValidationPolicy(
        "model-namespace-default-deny",
        "Every predictor is isolated by a default-deny ingress NetworkPolicy, and no policy admits every source.",
        _default_deny,
        MANDATORY,
    ),
    StackValidationPolicy(
        "isvc-pdb-in-production",
        "In production, a PodDisruptionBudget selects every InferenceService's predictor.",
        _isvc_pdb,
        MANDATORY,
    ),
    StackValidationPolicy(
        "isvc-zone-spread-in-production",
        "In production, every predictor spreads over zones.",
        _isvc_zone_spread,
        MANDATORY,
    ),
    StackValidationPolicy(
        "control-plane-ha-in-production",
        "In production, KServe's controller and cert-manager's webhook run 2+ replicas with disruption budgets.",
        _control_plane_ha,
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "no-oci-storage-uri",
        "No InferenceService reads its model from oci:// (Triton cannot, through KServe v0.20's modelcars).",
        _only((ISVC,), _no_oci),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "helm-chart-pinned",
        "Helm releases pin an exact chart version.",
        _only((RELEASE,), _helm_pinned),
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "kserve-crds-protected",
        "The KServe CRDs are Pulumi-protected (mandatory in production, via production-is-protected).",
        _only((RELEASE,), _crds_protected),
        ADVISORY,
    ),
]
