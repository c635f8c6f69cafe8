"""Render a stack offline: every object the real program declares, in the order `pulumi up` creates them.

Output for stack S in <out>/S/: `kubernetes/NNN-<Kind>-<namespace>-<name>.yaml` (one object or Helm release
per file), `gcp/NNN-<type>-<name>.yaml` (a GCP resource's inputs and options), `apply-order.txt`,
`graph.md` (a Mermaid diagram of the dependencies) and `outputs.yaml`. NNN is the position in apply order.
Secrets are masked; values the cloud computes (endpoints, generated names) are the mocks' placeholders.
The same config always renders byte-identical files, so two renders can be diffed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from kserve_triton.offline import ROOT, GraphMonitor, Node, is_secret, run_stack, stack_file_for, stack_name

MASK = "[secret]"
K8S_TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec")


def masked(value: Any) -> Any:
    if is_secret(value):
        return MASK
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire carries every number as a double
    return value


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def dump(document: dict[str, Any], first: tuple[str, ...] = ()) -> str:
    """YAML with `first` keys in that order, then the rest sorted, nested keys sorted."""
    ordered = {k: _canonical(document[k]) for k in first if k in document}
    ordered.update({k: _canonical(document[k]) for k in sorted(document) if k not in ordered})
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False, width=120)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")


def _options(node: Node) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if node.protect:
        options["protect"] = True
    if node.retain_on_delete:
        options["retainOnDelete"] = True
    if node.ignore_changes:
        options["ignoreChanges"] = sorted(node.ignore_changes)
    if node.delete_before_replace:
        options["deleteBeforeReplace"] = True
    return options


def is_patch(node: Node) -> bool:
    """A server-side apply patch of an object something else owns (`kubernetes:apps/v1:DeploymentPatch`)."""
    return node.type.startswith("kubernetes:") and node.type.endswith("Patch")


def kubernetes_document(node: Node) -> dict[str, Any]:
    inputs = masked(node.inputs)
    if node.type == "kubernetes:helm.sh/v3:Release":
        return {"helmRelease": inputs, **({"pulumiOptions": _options(node)} if _options(node) else {})}
    if is_patch(node):  # only the fields it sets, applied to the live object: not an object of its own
        return {"serverSideApplyPatch": inputs}
    return inputs


def kubernetes_file_name(position: int, node: Node) -> str:
    inputs = node.inputs
    if node.type == "kubernetes:helm.sh/v3:Release":
        kind, namespace, name = "HelmRelease", inputs.get("namespace", ""), inputs.get("name", node.name)
    else:
        metadata = inputs.get("metadata") or {}
        kind, namespace, name = (
            inputs.get("kind", "Object") + ("Patch" if is_patch(node) else ""),
            metadata.get("namespace", ""),
            metadata.get("name", node.name),
        )
    return f"{position:03d}-{_slug('-'.join(p for p in (kind, namespace, name) if p))}.yaml"


def gcp_document(node: Node) -> dict[str, Any]:
    document = {"type": node.type, "name": node.name, "inputs": masked(node.inputs)}
    if _options(node):
        document["pulumiOptions"] = _options(node)
    return document


def _short_type(node: Node) -> str:
    if node.type.startswith("kubernetes:") and "kind" in node.inputs:
        return str(node.inputs["kind"]) + ("Patch" if is_patch(node) else "")
    if node.type == "kubernetes:helm.sh/v3:Release":
        return "HelmRelease"
    return node.type.rsplit(":", 1)[-1]


def _label(node: Node) -> str:
    if node.type == "kubernetes:helm.sh/v3:Release":
        name = node.inputs.get("name", node.name)
    elif isinstance(node.inputs.get("metadata"), dict) and "name" in node.inputs["metadata"]:
        name = node.inputs["metadata"]["name"]
    else:
        name = node.name
    return f"{_short_type(node)}<br/>{name}".replace('"', "'")


def mermaid(monitor: GraphMonitor, order: list[Node]) -> str:
    """A flowchart of the custom resources, grouped by component, with an edge per direct prerequisite."""
    ids = {node.urn: f"r{index}" for index, node in enumerate(order)}
    lines = ["flowchart TD"]
    components = sorted(
        {n.parent for n in order if n.parent in monitor.nodes and not monitor.nodes[n.parent].custom},
        key=lambda urn: (monitor.nodes[urn].type, monitor.nodes[urn].name),
    )
    for urn in components:
        component = monitor.nodes[urn]
        group_id = "c_" + _slug(component.name).replace("-", "_")
        lines.append(f'  subgraph {group_id}["{component.type.rsplit(":", 1)[-1]} {component.name}"]')
        lines += [f'    {ids[n.urn]}["{_label(n)}"]' for n in order if n.parent == urn]
        lines.append("  end")
    lines += [f'  {ids[n.urn]}["{_label(n)}"]' for n in order if n.parent not in components]
    for node in order:
        prerequisites = {p for p in monitor.prerequisites(node) if p in ids}
        lines += [f"  {ids[p]} --> {ids[node.urn]}" for p in sorted(prerequisites, key=lambda u: ids[u])]
    return "\n".join(lines) + "\n"


def render(
    stack: str | Path,
    out: Path,
    program_dir: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> Path:
    """Render a stack (`dev`, or a stack file's path) into `out/<stack>/`, replacing what was there; returns
    that directory. `config` replaces the file's config (as `validate` computed it, `--config` applied); `overrides`
    replace single settings of it. A refused config raises ConfigError before anything is written."""
    stack_file = stack_file_for(stack, program_dir)
    run = run_stack(stack_file, program_dir, overrides, config=config)
    monitor = run.monitor
    order = monitor.apply_order()
    target = out / stack_name(stack_file)
    if target.exists():
        shutil.rmtree(target)
    (target / "kubernetes").mkdir(parents=True)
    (target / "gcp").mkdir()

    listing = []
    for position, node in enumerate(order, start=1):
        if node.type.startswith("pulumi:providers:"):
            listing.append(f"{position:03d} provider {node.type.rsplit(':', 1)[-1]} {node.name}")
            continue
        if node.type.startswith("kubernetes:"):
            path = target / "kubernetes" / kubernetes_file_name(position, node)
            path.write_text(dump(kubernetes_document(node), K8S_TOP_LEVEL))
        else:
            path = target / "gcp" / f"{position:03d}-{_slug(node.type.split(':')[-1])}-{_slug(node.name)}.yaml"
            path.write_text(dump(gcp_document(node), ("type", "name", "inputs")))
        listing.append(f"{position:03d} {path.relative_to(target)}")
    (target / "apply-order.txt").write_text("\n".join(listing) + "\n")
    heading = f"# `{stack_name(stack_file)}`: what `pulumi up` creates, in dependency order"
    (target / "graph.md").write_text(f"{heading}\n\n```mermaid\n{mermaid(monitor, order)}```\n")
    exports = {name: (MASK if e.secret else masked(e.value)) for name, e in run.exports.items()}
    (target / "outputs.yaml").write_text(dump(exports))
    return target
