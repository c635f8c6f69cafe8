"""The part of GKE's `ComputeClass` CRD (`computeclasses.cloud.google.com`, `cloud.google.com/v1`) this program's
objects use, as a JSON Schema written from a reading of the published CRD, with unknown fields refused
(`additionalProperties: false`), as `kubectl --validate=strict` would; plus the CEL rules those objects could break.

Google publishes no YAML of the CRD; what was read is the `openAPIV3Schema` a GKE cluster serves, as collected by
datreeio/CRDs-catalog (`cloud.google.com/computeclass_v1.json` at commit 77e49833da1a, 2026-08-02), with GKE's
"About custom compute classes" and "ComputeClass CRD reference" pages. Only the fields the program sets (and their
siblings it might set by mistake) are modelled: a field the program starts to set must be added here first.

Mirrors: GKE's ComputeClass CRD, cloud.google.com/v1, as served by GKE 1.33 and later.
Checked by the real part: none: no GKE control plane runs here.
"""

from __future__ import annotations

from typing import Any

import jsonschema


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


_ENABLED = _object({"enabled": {"type": "boolean"}}, ("enabled",))
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

_GPU = _object(
    {
        "type": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "driverVersion": {"enum": ["default", "latest"]},
        "gpuSharing": _object(
            {
                "gpuPartitionSize": {"type": "string"},
                "maxSharedClientsPerGPU": {"type": "integer", "minimum": 0},
                "sharingStrategy": {"enum": ["MPS", "TIME_SHARING"]},
            }
        ),
    }
)
_RESERVATIONS = _object(
    {
        "affinity": {"enum": ["Specific", "AnyBestEffort", "None"]},
        "specific": {
            "type": "array",
            "items": _object(
                {
                    "name": {"type": "string"},
                    "project": {"type": "string"},
                    "zones": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "reservationBlock": _object({"name": {"type": "string"}}, ("name",)),
                }
            ),
        },
    },
    ("affinity",),
)
_PRIORITY = _object(
    {
        "machineFamily": {"type": "string", "maxLength": 10},
        "machineType": {"type": "string", "maxLength": 100},
        "spot": {"type": "boolean"},
        "gpu": _GPU,
        "reservations": _RESERVATIONS,
        "flexStart": _object(
            {
                "enabled": {"type": "boolean"},
                "nodeRecycling": _object(
                    {"leadTimeSeconds": {"type": "integer", "minimum": 1, "maximum": 604800}}, ("leadTimeSeconds",)
                ),
            },
            ("enabled",),
        ),
        "nodepools": {"type": "array", "items": {"type": "string"}},
    }
)
_NODE_POOL_CONFIG = _object(
    {
        "imageStreaming": _ENABLED,
        "gvnic": _ENABLED,
        "imageType": {"enum": ["cos_containerd", "ubuntu_containerd"]},
        "serviceAccount": {"type": "string"},
        "nodeLabels": _STRING_MAP,
        "taints": {
            "type": "array",
            "maxItems": 100,
            "items": _object(
                {
                    "key": {"type": "string", "maxLength": 320},
                    "value": {"type": "string", "maxLength": 63},
                    "effect": {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
                }
            ),
        },
        "autoRepair": {"type": "boolean"},
        "autoUpgrade": {"type": "boolean"},
    }
)
SPEC = _object(
    {
        "description": {"type": "string"},
        "whenUnsatisfiable": {"enum": ["ScaleUpAnyway", "DoNotScaleUp"]},
        "nodePoolAutoCreation": _ENABLED,
        "activeMigration": _object(
            {"optimizeRulePriority": {"type": "boolean"}, "ensureAllDaemonSetPodsRunning": {"type": "boolean"}},
            ("optimizeRulePriority",),
        ),
        "priorityDefaults": _object(
            {
                "location": _object(
                    {
                        "locationPolicy": {"enum": ["ANY", "BALANCED"]},
                        "zones": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    }
                )
            }
        ),
        "nodePoolConfig": _NODE_POOL_CONFIG,
        "priorities": {"type": "array", "maxItems": 1000, "items": _PRIORITY},
    },
    ("whenUnsatisfiable",),
)
SCHEMA = _object(
    {
        "apiVersion": {"const": "cloud.google.com/v1"},
        "kind": {"const": "ComputeClass"},
        "metadata": {"type": "object"},
        "spec": SPEC,
    },
    ("apiVersion", "kind", "spec"),
)


def schema_errors(obj: dict[str, Any]) -> list[str]:
    """Where `obj` breaks the schema, as `path: message`."""
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def cel_errors(spec: dict[str, Any]) -> list[str]:
    """The CRD's x-kubernetes-validations these objects could break, in the CRD's words."""
    found = []
    for index, rule in enumerate(spec.get("priorities", [])):
        if rule.get("flexStart", {}).get("enabled") and rule.get("spot") is True:
            found.append(f"priorities[{index}]: Flex Start provisioning model is incompatible with Spot")
        if "machineFamily" in rule and "machineType" in rule:
            found.append(f"priorities[{index}]: MachineFamily and MachineType cannot be set together")
        if "nodepools" in rule and len(rule) > 1:
            found.append(f"priorities[{index}]: Nodepool field cannot be set along with other fields")
    return found
