"""Check Helm values against a chart's reference values.yaml: Helm silently ignores unknown keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Keys whose value is a free-form map (label selectors, annotations...): their keys are ours to choose. A
# securityContext is a Kubernetes object the charts pass through whole (toYaml): its keys are Kubernetes', and the
# built-in objects of the render are validated against Kubernetes' schemas.
FREE_FORM = {
    "nodeSelector",
    "labels",
    "podLabels",
    "annotations",
    "podAnnotations",
    "serviceAnnotations",
    "containerSecurityContext",
}


def reference_values(shared: Path, chart: str, version: str) -> dict[str, Any]:
    return yaml.safe_load((shared / "chart-values" / f"{chart}-{version}.yaml").read_text())


def unknown_keys(values: dict[str, Any], reference: dict[str, Any], path: str = "") -> list[str]:
    """Dotted paths of keys in `values` that the chart's values.yaml does not have."""
    unknown: list[str] = []
    for key, value in values.items():
        here = f"{path}.{key}" if path else key
        if key not in reference:
            unknown.append(here)
        elif isinstance(value, dict) and key not in FREE_FORM:
            known = reference[key]
            if not isinstance(known, dict):
                unknown.append(f"{here} (the chart's value is not a map)")
            elif known:  # an empty map in values.yaml takes any keys
                unknown.extend(unknown_keys(value, known, here))
    return unknown
