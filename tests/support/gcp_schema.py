"""The GCP provider's schema, as pulumi_gcp's Python argument classes state it (pulumi_gcp 10.2.0, pinned in
requirements.txt): which keys a resource's inputs may have, nested objects included. A key the provider does not
declare would fail at `pulumi preview` against the real engine; the mocks would accept it."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pulumi_gcp.container as container
from pulumi_gcp.container import _inputs
from pydantic.alias_generators import to_camel

RESOURCES = {
    "gcp:container/cluster:Cluster": container.ClusterArgs,
    "gcp:container/nodePool:NodePool": container.NodePoolArgs,
}


def _fields(cls: type) -> dict[str, str]:
    """camelCase input name -> the annotation text of an argument class's __init__ parameter."""
    parameters = inspect.signature(cls.__init__).parameters
    hints = {name: str(p.annotation) for name, p in parameters.items() if name not in ("self", "__self__")}
    return {to_camel(name): hint for name, hint in hints.items()}


def _nested(hint: str) -> type | None:
    match = re.search(r"'(\w+Args)'", hint) or re.search(r"(\w+Args)\b", hint)
    return getattr(_inputs, match[1], None) if match else None


def _walk(cls: type, value: Any, path: str, found: list[str]) -> None:
    fields = _fields(cls)
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            found.append(where)
            continue
        nested = _nested(fields[key])
        items = item if isinstance(item, list) else [item]
        for element in items:
            if nested is not None and isinstance(element, dict):
                _walk(nested, element, where, found)


def unknown_inputs(resource_type: str, inputs: dict[str, Any]) -> list[str]:
    """Dotted paths of input keys the provider's schema does not declare (resource options aside)."""
    found: list[str] = []
    _walk(RESOURCES[resource_type], inputs, "", found)
    return sorted(found)
