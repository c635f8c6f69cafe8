"""KServe v0.20's autoscaling rules and what its KEDA reconciler makes of an InferenceService, written from
KServe's source (kserve/kserve v0.20.0, ../shared/notes/autoscaling-observability.md §1.3-1.5):

- `pkg/apis/serving/v1beta1/inference_service_validation.go`: the autoscaler class annotation must be one of
  hpa, external, keda, none; for keda, `scaleMetric` must be unset and an External metric needs a non-empty
  query and `target.value`; hpa takes only Resource metrics; min <= max unless max is 0 (`component.go`).
- `pkg/controller/v1beta1/inferenceservice/reconcilers/keda/keda_reconciler.go`: the ScaledObject is named
  after the predictor, targets its Deployment, has minReplicaCount = minReplicas (or 1) and maxReplicaCount =
  max(maxReplicas, min); each External metric becomes a trigger of type `backend` with metadata
  serverAddress, query, threshold (`target.value` as written) and the TriggerAuthentication's name.

Mirrors: kserve/kserve v0.20.0: pkg/apis/serving/v1beta1/inference_service_validation.go, component.go;
pkg/controller/v1beta1/inferenceservice/reconcilers/keda/keda_reconciler.go.
Checked by the real part: none yet: no real KServe or KEDA runs in these suites.
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


def scaled_object(isvc: dict[str, Any]) -> dict[str, Any] | None:
    """The KEDA ScaledObject KServe's controller creates for an InferenceService of class keda."""
    annotations = isvc["metadata"].get("annotations") or {}
    if annotations.get("serving.kserve.io/autoscalerClass") != "keda":
        return None
    predictor = isvc["spec"]["predictor"]
    name = f"{isvc['metadata']['name']}-predictor"
    low = predictor.get("minReplicas") or 1
    triggers = []
    for metric in predictor["autoScaling"]["metrics"]:
        external = metric["external"]
        trigger: dict[str, Any] = {
            "type": external["metric"]["backend"],
            "metadata": {
                "serverAddress": external["metric"]["serverAddress"],
                "query": external["metric"]["query"],
                "threshold": str(external["target"]["value"]),
            },
        }
        reference = (external.get("authenticationRef") or {}).get("authenticationRef")
        if reference:
            trigger["authenticationRef"] = {"name": reference["name"]}
        triggers.append(trigger)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": isvc["metadata"]["namespace"]},
        "spec": {
            "scaleTargetRef": {"name": name},
            "minReplicaCount": low,
            "maxReplicaCount": max(predictor.get("maxReplicas") or 0, low),
            "triggers": triggers,
        },
    }
