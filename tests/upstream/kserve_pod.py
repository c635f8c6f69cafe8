"""The predictor pod KServe v0.20 makes of an InferenceService in Standard mode, as far as its security, its volumes
and its labels go: what Pod Security Admission sees when the Deployment's ReplicaSet creates it.

Written from KServe v0.20.0's source:

- pkg/controller/v1beta1/inferenceservice/components/predictor.go: the `kserve-container` of the runtime is merged
  with `spec.predictor.model` (utils.MergeRuntimeContainers: a strategic merge, the InferenceService winning, args
  concatenated runtime then InferenceService); `runtimeVersion` replaces the image's tag; the runtime's pod fields
  (nodeSelector, affinity, tolerations, volumes, imagePullSecrets, schedulerName) are merged with the predictor's
  PodSpec fields (utils.MergePodSpec, strategic merge); labels are the runtime's, the InferenceService's, the
  predictor's, then `serving.kserve.io/inferenceservice` and `component: predictor` (buildObjectMeta).
- pkg/webhook/admission/pod/storage_initializer_injector.go and pkg/utils/storage.go: a pvc:// URI is mounted as the
  PersistentVolumeClaim volume `kserve-pvc-source` (no readOnly on the volume) at /mnt/models, read-only, with the
  URI's path as subPath (AddModelMount); otherwise an init container `storage-initializer` (image, args, resources
  and no securityContext: CreateInitContainerWithConfig) is added with an emptyDir `kserve-provision-location` at
  /mnt/models, then the container of the ClusterStorageContainer whose supportedUriFormats match the URI is
  strategically merged into it (MergeContainerWithPatch).

The strategic merge is modelled for what these objects use: maps merge key by key, `env`, `ports`,
`volumeMounts`, `volumes` and `containers` merge by their keys, other lists are replaced.

Mirrors: kserve/kserve v0.20.0: pkg/controller/v1beta1/inferenceservice/components/predictor.go, pkg/utils
(MergeRuntimeContainers, MergePodSpec), pkg/webhook/admission/pod/storage_initializer_injector.go.
Checked by the real part: tests/e2e/test_real_parts.py compares this model's pod with the one the real KServe v0.20.0
makes in the embedded cluster (after its pod mutator), field by field (the API server's defaults aside).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate

STORAGE_INITIALIZER = "storage-initializer"
PROVISION_VOLUME = "kserve-provision-location"
MODEL_DIR = "/mnt/models"
# ModelSpec fields that are KServe's, not a container's.
MODEL_ONLY = {"modelFormat", "runtime", "runtimeVersion", "storageUri", "protocolVersion", "storage"}
RUNTIME_POD_FIELDS = ("nodeSelector", "affinity", "tolerations", "volumes", "imagePullSecrets", "schedulerName")
MERGE_KEYS = {
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumes": "name",
    "containers": "name",
    "initContainers": "name",
}


def merge(base: Any, overlay: Any, key: str | None = None) -> Any:
    """A strategic merge patch of `overlay` onto `base`, for the fields above."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for name, value in overlay.items():
            merged[name] = merge(base[name], value, name) if name in base else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(overlay, list) and key in MERGE_KEYS:
        merge_key, merged = MERGE_KEYS[key], [copy.deepcopy(item) for item in base]
        for item in overlay:
            index = next((i for i, old in enumerate(merged) if old.get(merge_key) == item.get(merge_key)), None)
            if index is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[index] = merge(merged[index], item)
        return merged
    return copy.deepcopy(overlay)


@functools.cache
def pod_spec_fields() -> frozenset[str]:
    """The fields of a core/v1 PodSpec (Kubernetes 1.35's schema, from kubernetes-validate)."""
    schema = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema/v1.35.0-local-strict/podspec-v1.json"
    return frozenset(json.loads(schema.read_text())["properties"])


def _with_tag(image: str, tag: str) -> str:
    name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{name}:{tag}"


def storage_container(uri: str, storage_containers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The container of the first ClusterStorageContainer that supports this URI."""
    for storage in storage_containers:
        for supported in storage["spec"].get("supportedUriFormats") or []:
            if ("prefix" in supported and uri.startswith(supported["prefix"])) or (
                "regex" in supported and re.match(supported["regex"], uri)
            ):
                return storage["spec"]["container"]
    return None


def predictor_pod(
    isvc: dict[str, Any],
    runtimes: dict[str, dict[str, Any]],
    storage_containers: list[dict[str, Any]],
    storage_image: str = "kserve/storage-initializer:v0.20.0",
) -> dict[str, Any]:
    """The Pod (metadata and spec) of an InferenceService's predictor; `runtimes`: name -> ServingRuntime spec."""
    predictor = isvc["spec"]["predictor"]
    model = predictor["model"]
    runtime = runtimes[model["runtime"]]
    (base,) = [c for c in runtime["containers"] if c["name"] == "kserve-container"]
    overlay = {k: v for k, v in model.items() if k not in MODEL_ONLY}
    container = merge(base, overlay)
    # The merged container is the runtime's `kserve-container` (MergeServingRuntimeAndInferenceServiceSpecs picks it by
    # that name); KServe's defaulting leaves the model's own name empty, which does not rename it (the real pod, in
    # tests/e2e, is named kserve-container).
    container["name"] = base["name"]
    container["args"] = [*(base.get("args") or []), *(overlay.get("args") or [])]
    if model.get("runtimeVersion"):
        container["image"] = _with_tag(container["image"], model["runtimeVersion"])

    spec = {field: copy.deepcopy(runtime[field]) for field in RUNTIME_POD_FIELDS if field in runtime}
    spec = merge(spec, {k: v for k, v in predictor.items() if k in pod_spec_fields()})
    spec["containers"] = [container]

    uri = model["storageUri"]
    if uri.startswith("pvc://"):
        claim, _, sub_path = uri.removeprefix("pvc://").partition("/")
        # AddModelMount: the volume has no readOnly, the mount is read-only (storage.kserve.io/readonly, default true).
        claim_volume = {"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": claim}}
        spec["volumes"] = [*(spec.get("volumes") or []), claim_volume]
        container.setdefault("volumeMounts", []).append(
            {"name": "kserve-pvc-source", "mountPath": MODEL_DIR, "subPath": sub_path, "readOnly": True}
        )
    else:
        init = {
            "name": STORAGE_INITIALIZER,
            "image": storage_image,
            "args": [uri, MODEL_DIR],
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": [{"name": PROVISION_VOLUME, "mountPath": MODEL_DIR}],
        }
        matched = storage_container(uri, storage_containers)
        if matched is not None:
            init = merge(init, matched)
            init["name"] = STORAGE_INITIALIZER
        spec["initContainers"] = [*(spec.get("initContainers") or []), init]
        spec["volumes"] = [*(spec.get("volumes") or []), {"name": PROVISION_VOLUME, "emptyDir": {}}]
        container.setdefault("volumeMounts", []).append(
            {"name": PROVISION_VOLUME, "mountPath": MODEL_DIR, "readOnly": True}
        )

    metadata = isvc["metadata"]
    labels = {
        **(runtime.get("labels") or {}),
        **(metadata.get("labels") or {}),
        **(predictor.get("labels") or {}),
        "serving.kserve.io/inferenceservice": metadata["name"],
        "component": "predictor",
    }
    # The runtime's, the InferenceService's and the predictor's annotations, the predictor's winning
    # (buildObjectMeta; none of these keys is in ServiceAnnotationDisallowedList).
    annotations = {
        **(runtime.get("annotations") or {}),
        **(metadata.get("annotations") or {}),
        **(predictor.get("annotations") or {}),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{metadata['name']}-predictor",
            "namespace": metadata["namespace"],
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }
