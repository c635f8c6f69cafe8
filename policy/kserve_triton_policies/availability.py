"""Availability in production: budgets and zone spread for predictors, a highly available control plane."""

from __future__ import annotations

from pulumi_policy import (
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from kserve_triton_policies.common import (
    DEPLOYMENT,
    DEPLOYMENT_PATCH,
    KSERVE_CONTROLLER,
    KSERVE_CONTROLLER_LABELS,
    MANDATORY,
    PDB,
    RELEASE,
    ZONE,
    _in_namespace,
    _is_production,
    _metadata,
    _of_type,
    _predictors,
    _selects,
)


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


POLICIES = [
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
]
