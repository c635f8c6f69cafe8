"""Model namespaces: restricted Pod Security, default-deny ingress, and no model read through oci:// modelcars."""

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
    ISVC,
    MANDATORY,
    NAMESPACE,
    NAMESPACE_PATCH,
    NETWORK_POLICY,
    _in_namespace,
    _metadata,
    _name,
    _of_type,
    _only,
    _predictors,
    _selects,
)


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


def _no_oci(args: ResourceValidationArgs, report: ReportViolation) -> None:
    model = ((args.props.get("spec") or {}).get("predictor") or {}).get("model") or {}
    if str(model.get("storageUri") or "").startswith("oci://"):
        report(
            f"{_name(args)}: oci:// storage (KServe's modelcars) does not work with Triton in KServe v0.20 "
            "(uid 1010 and a /mnt/models symlink Triton cannot follow, kserve/kserve#4753)",
            None,
        )


POLICIES = [
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
    ResourceValidationPolicy(
        "no-oci-storage-uri",
        "No InferenceService reads its model from oci:// (Triton cannot, through KServe v0.20's modelcars).",
        _only((ISVC,), _no_oci),
        MANDATORY,
    ),
]
