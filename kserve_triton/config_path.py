"""`--config KEY=VALUE`: a setting on top of a stack file's, stored exactly as `pulumi config set --path KEY VALUE`
would store it.

Pulumi's rules (pulumi/pulumi at 1b59498):
- `pkg/cmd/pulumi/config/io.go` `parseConfigKey`: with `--path`, the key's first segment (up to the first `.` or `[`)
  is a config key (`namespace:name`, or just `name` for the project's namespace); the rest is a property path.
- `sdk/go/common/resource/properties_path.go` `parsePropertyPath` (strict): `a.b`, `a[0]`, `a["key with ."]`,
  `["a"].b`; a `.` must be followed by a name.
- `sdk/go/common/resource/config/map.go` `Map.Set` and `object.go` `object.Set`: a top-level key stores the value as
  text; a nested one stores `true`/`false` as booleans and base-10 integers without a leading zero as numbers
  (`coerce`), anything else as text. A missing container is created from the next path element (a list for an
  index, a map for a name); a list index may be one past the end (an append), not more; a scalar at the top level is
  replaced by the container, deeper it is an error.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from kserve_triton.stack_file import parse_key

PathElement = str | int


class ConfigPathError(ValueError):
    """A `--config` the Pulumi CLI would refuse, in words."""


def parse_property_path(path: str) -> list[PathElement]:
    """parsePropertyPath(path, strict=true)."""
    elements: list[PathElement] = []
    if path.startswith("."):
        raise ConfigPathError("a path starts with a name or an index, not '.'")
    while path:
        if path[0] == ".":
            path = path[1:]
            if not path:
                raise ConfigPathError("a path ends with a name or an index, not '.'")
            if path[0] == "[":
                raise ConfigPathError("a name must follow '.'")
        elif path[0] == "[":
            if len(path) > 1 and path[1] == '"':
                key, i = [], 2
                while True:
                    if i >= len(path):
                        raise ConfigPathError('a quoted name is missing its closing "')
                    if path[i] == '"':
                        i += 1
                        break
                    if path[i] == "\\" and i + 1 < len(path) and path[i + 1] == '"':
                        key.append('"')
                        i += 2
                    else:
                        key.append(path[i])
                        i += 1
                if i >= len(path) or path[i] != "]":
                    raise ConfigPathError("a quoted name is missing its closing ]")
                elements.append("".join(key))
                path = path[i + 1 :]
            else:
                end = path.find("]")
                if end == -1:
                    raise ConfigPathError("an index is missing its closing ]")
                segment = path[1:end]
                if segment == "*":
                    elements.append("*")
                elif re.fullmatch(r"[+-]?[0-9]+", segment):
                    elements.append(int(segment))
                else:
                    raise ConfigPathError(f'[{segment}] is not an index: write [0], [1], ... or ["name"]')
                path = path[end + 1 :]
        else:
            end = min((i for i in (path.find("."), path.find("[")) if i >= 0), default=len(path))
            elements.append(path[:end])
            path = path[end:]
    return elements


def parse_config_key(key: str, project: str) -> tuple[str, list[PathElement]]:
    """(namespace:name of the setting, the path inside it) of a `pulumi config set --path` key."""
    split = min((i for i in (key.find("["), key.find(".")) if i > 0), default=-1)
    if split > 0:
        top, rest = key[:split], key[split:]
    else:
        top, rest = key, ""
    full = parse_key(top if ":" in top else f"{project}:{top}")
    if full is None:
        raise ConfigPathError(f"{top!r} is not a config key: write namespace:name, e.g. {project}:gpuNodePool")
    namespace, _, name = full.partition(":")
    path = parse_property_path(name + rest)
    if not path or not isinstance(path[0], str) or not path[0]:
        raise ConfigPathError("the path must start with the setting's name")
    return f"{namespace}:{path[0]}", path[1:]


def coerce(text: str) -> Any:
    """config.coerce: "true"/"false", and base-10 integers that do not start with 0 (but 0 itself)."""
    if text in ("true", "false"):
        return text == "true"
    if len(text) > 1 and text[0] == "0":
        return text
    if re.fullmatch(r"[+-]?[0-9]+", text):
        value = int(text)
        if -(2**63) <= value < 2**64:
            return value
    return text


def set_path(config: dict[str, Any], key: str, value: str, project: str) -> None:
    """Apply `pulumi config set --path KEY VALUE` to `config` (namespace:name -> decoded value), in place."""
    setting, path = parse_config_key(key, project)
    if not path:
        config[setting] = value
        return
    root = copy.deepcopy(config.get(setting))
    if not isinstance(root, (dict, list)):
        root = _container(path[0])  # a scalar (or nothing) at the top level is replaced (COMPAT in object.Set)
    config[setting] = _set(root, [setting], path, coerce(value))


def _container(accessor: PathElement) -> Any:
    return [None] * (accessor + 1) if isinstance(accessor, int) else {}


def _set(current: Any, prefix: list[PathElement], path: list[PathElement], new: Any) -> Any:
    if not path:
        return new
    where = _shown(prefix)
    if current is None:
        current = _container(path[0])
    elif not isinstance(current, (dict, list)):
        kind = "a list" if isinstance(path[0], int) else "a map"
        raise ConfigPathError(f"{where} holds {json.dumps(current)}, not {kind}")
    head = path[0]
    if isinstance(current, list):
        if not isinstance(head, int):
            raise ConfigPathError(f"{where} is a list: index it with [0], [1], ...")
        if head < 0 or head > len(current):
            raise ConfigPathError(f"{where} has {len(current)} item(s): index {head} is out of range")
        if head == len(current):
            current.append(None)
        current[head] = _set(current[head], [*prefix, head], path[1:], new)
        return current
    if not isinstance(head, str):
        raise ConfigPathError(f'{where} is a map: name its key (.name or ["name"])')
    if len(path) == 1 and not current and head == "secure" and isinstance(new, str):
        raise ConfigPathError(f'{where}: a map whose only key is "secure" is how Pulumi stores a secret')
    current[head] = _set(current.get(head), [*prefix, head], path[1:], new)
    return current


def _shown(prefix: list[PathElement]) -> str:
    text = str(prefix[0])
    for element in prefix[1:]:
        text += f"[{element}]" if isinstance(element, int) else f".{element}"
    return text
