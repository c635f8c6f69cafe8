"""KServe's runtime selection for a predictor `model`, written from its source (v0.20.0), independently of
the program: `pkg/apis/serving/v1beta1/predictor_model.go` (GetSupportingRuntimes, RuntimeSupportsModel,
sortServingRuntimeList) and `pkg/controller/.../components/predictor.go` (explicit runtime checks).
See ../shared/notes/kserve.md §4.

Mirrors: kserve/kserve v0.20.0: pkg/apis/serving/v1beta1/predictor_model.go,
pkg/controller/v1beta1/inferenceservice/components/predictor.go.
Checked by the real part: partly. In tests/e2e the real KServe v0.20.0 admits every shipped stack's InferenceServices
with the runtime the program names, and builds the embedded stack's pod from it; selection without a named runtime
(what this model mostly covers) is not exercised there."""

from __future__ import annotations

from typing import Any


class NoRuntimeError(Exception):
    pass


def _label(model_format: dict[str, Any]) -> str:
    version = model_format.get("version")
    return f"mt:{model_format['name']}:{version}" if version else f"mt:{model_format['name']}"


def _supports(runtime_spec: dict[str, Any], model_format: dict[str, Any], auto_selected_only: bool) -> bool:
    """Version matching is an exact label match; an unversioned model matches any version."""
    offered: set[str] = set()
    for entry in runtime_spec.get("supportedModelFormats", []):
        if auto_selected_only and not entry.get("autoSelect"):
            continue
        offered.add(f"mt:{entry['name']}")
        if entry.get("version"):
            offered.add(f"mt:{entry['name']}:{entry['version']}")
    return _label(model_format) in offered


def _priority(runtime_spec: dict[str, Any], format_name: str) -> int | None:
    for entry in runtime_spec.get("supportedModelFormats", []):
        if entry["name"] == format_name and entry.get("autoSelect"):
            return entry.get("priority")
    return None


def select(model: dict[str, Any], runtimes: list[dict[str, Any]]) -> str:
    """The name of the runtime KServe serves this `spec.predictor.model` with, or NoRuntimeError."""
    model_format = model["modelFormat"]
    protocol = model.get("protocolVersion", "v1")
    by_name = {r["metadata"]["name"]: r for r in runtimes}

    if "runtime" in model:
        runtime = by_name.get(model["runtime"])
        if runtime is None:
            raise NoRuntimeError(f"No ServingRuntimes or ClusterServingRuntimes with the name: {model['runtime']}")
        spec = runtime["spec"]
        if spec.get("disabled"):
            raise NoRuntimeError(f"Specified runtime {model['runtime']} is disabled")
        if "protocolVersion" in model and protocol not in spec.get("protocolVersions", ["v1"]):
            raise NoRuntimeError(f"Specified runtime {model['runtime']} does not support protocol {protocol}")
        if not _supports(spec, model_format, auto_selected_only=False):
            raise NoRuntimeError(f"Specified runtime {model['runtime']} does not support specified framework/version")
        return model["runtime"]

    candidates = [
        runtime
        for runtime in runtimes
        if not runtime["spec"].get("disabled")
        and not runtime["spec"].get("multiModel")
        and protocol in runtime["spec"].get("protocolVersions", ["v1"])
        and _supports(runtime["spec"], model_format, auto_selected_only=True)
    ]
    if not candidates:
        raise NoRuntimeError("No runtime found to support specified framework/version")
    candidates.sort(key=lambda r: r["metadata"]["name"])
    candidates.sort(key=lambda r: -(_priority(r["spec"], model_format["name"]) or 0))
    return candidates[0]["metadata"]["name"]
