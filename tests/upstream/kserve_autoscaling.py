"""KServe v0.20's autoscaling rules, written from KServe's source (kserve/kserve v0.20.0,
../shared/notes/autoscaling-observability.md §1.3-1.5). What its KEDA reconciler makes of an InferenceService is no
longer modelled: the program declares its own ScaledObject and gives KServe the `external` class, because the real
KServe v0.20, run in the embedded cluster, leaves the ScaledObject it made behind when the class changes
(tests/e2e).

- `pkg/apis/serving/v1beta1/inference_service_validation.go`: the autoscaler class annotation must be one of
  hpa, external, keda, none; for keda, `scaleMetric` must be unset and an External metric needs a non-empty
  query and `target.value`; hpa takes only Resource metrics; min <= max unless max is 0 (`component.go`).

Mirrors: kserve/kserve v0.20.0: pkg/apis/serving/v1beta1/inference_service_validation.go, component.go.
Checked by the real part: KServe's validating webhook in the embedded cluster (tests/e2e) admits every stack's
InferenceServices and refuses a broken one.
"""

from __future__ import annotations

from typing import Any

AUTOSCALER_CLASSES = ("hpa", "external", "keda", "none")


def validation_errors(isvc: dict[str, Any]) -> list[str]:
    """What KServe's validating webhook would refuse about the predictor's autoscaling."""
    annotations = isvc["metadata"].get("annotations") or {}
    predictor = isvc["spec"]["predictor"]
    autoscaler = annotations.get("serving.kserve.io/autoscalerClass", "hpa")
    errors = []
    if autoscaler not in AUTOSCALER_CLASSES:
        errors.append(f"autoscalerClass {autoscaler!r} is not one of {AUTOSCALER_CLASSES}")
    low, high = predictor.get("minReplicas", 1), predictor.get("maxReplicas", 0)
    if high and low > high:
        errors.append(f"minReplicas {low} > maxReplicas {high}")
    metrics = (predictor.get("autoScaling") or {}).get("metrics", [])
    if autoscaler == "keda":
        if "scaleMetric" in predictor:
            errors.append("ScaleMetric is not supported for KEDA")
        for metric in metrics:
            if metric["type"] == "External":
                external = metric.get("external") or {}
                if not (external.get("metric") or {}).get("query"):
                    errors.append("an External metric needs a query")
                if (external.get("target") or {}).get("value") is None:
                    errors.append("an External metric needs target.value")
            elif metric["type"] != "Resource":
                errors.append(f"metric type {metric['type']} is not supported here")
    if autoscaler == "hpa" and any(m["type"] != "Resource" for m in metrics):
        errors.append("the hpa autoscaler takes only Resource metrics")
    return errors
