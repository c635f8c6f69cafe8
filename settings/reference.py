"""The schema as documentation: the README's configuration table and `Pulumi.yaml`'s `config:` block are both
generated from the settings models, so they cannot disagree with what is enforced (a test checks both)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from catalog import gcp as gcp_catalog
from settings.stack import StackSettings, model_in

ROOT = Path(__file__).resolve().parent.parent
TABLE_START, TABLE_END = "<!-- config-table:start -->", "<!-- config-table:end -->"
SIZING_START, SIZING_END = "<!-- sizing-table:start -->", "<!-- sizing-table:end -->"
# The GPU machines the README shows the replica arithmetic for (every shape is in gcp_catalog.sizing_table).
SIZING_SHAPES = [
    ("g2-standard-4", 1),
    ("g2-standard-8", 1),
    ("g2-standard-12", 1),
    ("g2-standard-16", 1),
    ("g2-standard-24", 2),
    ("g2-standard-32", 1),
    ("g2-standard-48", 4),
    ("n1-standard-4", 1),
    ("n1-standard-8", 1),
    ("n1-standard-16", 2),
    ("a2-highgpu-1g", 1),
    ("a3-highgpu-8g", 8),
]
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
            if nested is not None and "Literal" in str(field.annotation):  # words or objects: the list's own row too
                rows.append((path, _default(field), _text(field)))
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
    """The `config:` block of Pulumi.yaml: every project setting with its type and what it holds.

    The CLI requires every declared key that has no `default` ("Stack 'dev' is missing configuration value ..."),
    and gives the program the default of one a stack leaves out. So only what the program requires (`cluster`) has
    none; every other key defaults to what leaving it out means: false, an empty list, or an empty map, which the
    program reads as "not written" (settings.stack.load)."""
    block: dict[str, Any] = {}
    for name, field in StackSettings.model_fields.items():
        if name == "gcp":  # the provider's namespace, declared by pulumi-gcp itself
            continue
        nested = _nested(field)
        description = _text(field)
        if nested is None:
            entry: dict[str, Any] = {"type": "boolean", "description": description, "default": False}
        elif "list" in str(field.annotation):
            entry = {
                "type": "array",
                "items": {"type": "object"},
                "description": f"{description} Each item: {_outline(nested)}.",
                "default": [],
            }
        else:
            entry = {"type": "object", "description": f"{description} Settings: {_outline(nested)}.", "default": {}}
        if field.is_required():
            del entry["default"]
        block[field.alias or name] = entry
    return block


def pulumi_config_text() -> str:
    return f"{CONFIG_MARKER}\n" + yaml.safe_dump({"config": pulumi_config()}, sort_keys=False, width=110)


def _markdown(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows[1:]])


def sizing_markdown() -> str:
    """The replica arithmetic: per machine, and step by step for the dev stack's g2-standard-8."""
    chain = [("step", "CPU", "memory"), *gcp_catalog.node_budget("g2-standard-8", 1, image_streaming=True).arithmetic()]
    return f"{_markdown(gcp_catalog.sizing_table(SIZING_SHAPES))}\n\ng2-standard-8, step by step:\n\n{_markdown(chain)}"


def _replace(text: str, start: str, end: str, body: str) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def update_docs(root: Path = ROOT) -> None:
    """Rewrite the README's configuration and sizing tables and Pulumi.yaml's config block from their sources."""
    readme = root / "README.md"
    text = _replace(readme.read_text(), TABLE_START, TABLE_END, reference_table())
    readme.write_text(_replace(text, SIZING_START, SIZING_END, sizing_markdown()))
    project = root / "Pulumi.yaml"
    head = project.read_text().split(CONFIG_MARKER, 1)[0]
    project.write_text(head + pulumi_config_text())
