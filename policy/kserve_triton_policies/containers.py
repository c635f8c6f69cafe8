"""Containers of the Triton runtime and the InferenceServices: non-root, no escalation, no capabilities, RuntimeDefault
seccomp, pinned images."""

from __future__ import annotations

import re

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from kserve_triton_policies.common import (
    _CONTAINERS,
    CSR,
    ISVC,
    MANDATORY,
    SR,
    _containers,
    _name,
    _only,
)


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
]
