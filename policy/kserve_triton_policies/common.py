"""What every concern of the pack shares: the resource types it reads, facts it checks against, and how it reads
resources as the engine hands them over (camelCase inputs)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
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


_CONTAINERS = (CSR, SR, ISVC)
