"""Validate declared Kubernetes objects as a cluster would: KServe kinds against the upstream CRDs'
openAPIV3Schema with unknown fields reported (`kubectl --validate=strict`), built-in kinds with
kubernetes-validate."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

KSERVE_VERSION = "v0.20.0"
KUBERNETES_VERSION = "1.35.0"

# kind -> the CRD file under ../shared that a cluster validates it against.
CRD_FILES = {
    "ClusterServingRuntime": f"kserve-crds/{KSERVE_VERSION}/serving.kserve.io_clusterservingruntimes.yaml",
    "InferenceService": f"kserve-crds/{KSERVE_VERSION}/serving.kserve.io_inferenceservices.yaml",
    "PodMonitoring": "crds/gmp-v0.17.2/monitoring.googleapis.com_podmonitorings.yaml",
    "TriggerAuthentication": "crds/keda-2.18.3/keda.sh_triggerauthentications.yaml",
    "ScaledObject": "crds/keda-2.18.3/keda.sh_scaledobjects.yaml",
}


def _strict(schema: Any) -> Any:
    """Report fields the schema does not declare, as the API server's strict field validation does."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


PARSED = Path(__file__).resolve().parents[2] / ".tools" / "parsed-yaml"


def load_yaml(path: Path) -> Any:
    """A (large) YAML file, parsed; kept as JSON under a digest of its bytes, which reads ~30x faster."""
    data = path.read_bytes()
    cached = PARSED / f"{hashlib.sha256(data).hexdigest()}.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    parsed = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    PARSED.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(parsed))
    partial.replace(cached)
    return parsed


@functools.cache
def crd_validator(shared: Path, kind: str, api_version: str) -> jsonschema.Draft7Validator:
    crd = load_yaml(shared / CRD_FILES[kind])  # the InferenceService CRD is ~2 MB
    version = api_version.split("/", 1)[1]
    served = {v["name"]: v for v in crd["spec"]["versions"]}
    assert version in served, f"{kind} {api_version} is not served by the CRD (served: {list(served)})"
    schema = _strict(copy.deepcopy(served[version]["schema"]["openAPIV3Schema"]))
    return jsonschema.Draft7Validator(schema)


def crd_errors(shared: Path, obj: dict[str, Any]) -> list[str]:
    validator = crd_validator(shared, obj["kind"], obj["apiVersion"])
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(_plain(obj))
    ]


def builtin_errors(obj: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(_plain(obj), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path))}: {error.message}"]
    return []


def _plain(value: Any) -> Any:
    """The object as JSON would carry it: whole floats (protobuf's numbers) back to ints."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
