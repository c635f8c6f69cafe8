"""The schema as documentation: the README's configuration table and `Pulumi.yaml`'s `config:` block are both
generated from the settings models, so they cannot disagree with what is enforced (a test checks both)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from settings.stack import StackSettings, model_in

ROOT = Path(__file__).resolve().parent.parent
TABLE_START, TABLE_END = "<!-- config-table:start -->", "<!-- config-table:end -->"
CONFIG_MARKER = (
    "# The settings of this project, generated from settings/ by `venv/bin/python -m settings --update-docs`."
)


def _nested(field: Any) -> type[BaseModel] | None:
    try:
        return model_in(field.annotation)
    except TypeError:
        return None


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default is None:
        return "—"
    if isinstance(field.default, bool | list):
        return f"`{json.dumps(field.default)}`"
    return f"`{field.default}`"


def _text(field: Any) -> str:
    return " ".join((field.description or "").split())


def reference() -> list[tuple[str, str, str]]:
    """(setting, default, description) for every setting, as the README's configuration table shows them."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            path = f"{prefix}{field.alias or name}"
            nested = _nested(field)
            if nested is not None:
                walk(nested, f"{path}[]." if "list" in str(field.annotation) else f"{path}.")
            else:
                rows.append((path.replace("gcp.", "gcp:", 1), _default(field), _text(field)))

    walk(StackSettings, "")
    return rows


def reference_table() -> str:
    lines = ["| Setting | Default | What it does |", "|---|---|---|"]
    lines += [f"| `{setting}` | {default} | {text} |" for setting, default, text in reference()]
    return "\n".join(lines)


def _outline(model: type[BaseModel]) -> str:
    """`a, b, c {d, e}`: the keys of a settings object, nested objects in braces."""
    parts = []
    for name, field in model.model_fields.items():
        nested = _nested(field)
        parts.append(f"{field.alias or name} {{{_outline(nested)}}}" if nested else (field.alias or name))
    return ", ".join(parts)


def pulumi_config() -> dict[str, Any]:
    """The `config:` block of Pulumi.yaml: every project setting with its type and what it holds."""
    block: dict[str, Any] = {}
    for name, field in StackSettings.model_fields.items():
        if name == "gcp":  # the provider's namespace, declared by pulumi-gcp itself
            continue
        nested = _nested(field)
        description = _text(field)
        if nested is None:
            block[field.alias or name] = {"type": "boolean", "description": description}
        elif "list" in str(field.annotation):
            block[field.alias or name] = {
                "type": "array",
                "items": {"type": "object"},
                "description": f"{description} Each item: {_outline(nested)}.",
            }
        else:
            block[field.alias or name] = {
                "type": "object",
                "description": f"{description} Settings: {_outline(nested)}.",
            }
    return block


def pulumi_config_text() -> str:
    return f"{CONFIG_MARKER}\n" + yaml.safe_dump({"config": pulumi_config()}, sort_keys=False, width=110)


def update_docs(root: Path = ROOT) -> None:
    """Rewrite the README's configuration table and Pulumi.yaml's config block from the schema."""
    readme = root / "README.md"
    head, rest = readme.read_text().split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    readme.write_text(f"{head}{TABLE_START}\n{reference_table()}\n{TABLE_END}{tail}")
    project = root / "Pulumi.yaml"
    head = project.read_text().split(CONFIG_MARKER, 1)[0]
    project.write_text(head + pulumi_config_text())
