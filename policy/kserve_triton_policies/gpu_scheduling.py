"""GPU scheduling: whole GPUs requested as limits, the GPU taint tolerated, no two runtimes claiming one format."""

from __future__ import annotations

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from kserve_triton_policies.common import (
    _CONTAINERS,
    AUTOPILOT_GPU_COUNT,
    CSR,
    GPU,
    ISVC,
    MANDATORY,
    SR,
    _containers,
    _name,
    _only,
)


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


POLICIES = [
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
]
