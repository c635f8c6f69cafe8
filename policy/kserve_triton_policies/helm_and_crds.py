"""Helm releases and CRDs: exact chart versions, and the KServe CRDs protected."""

from __future__ import annotations

import re

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from kserve_triton_policies.common import (
    ADVISORY,
    MANDATORY,
    RELEASE,
    _only,
)

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


POLICIES = [
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
