"""Render the upstream Helm charts in ../shared/charts with a real `helm template`, as the program's releases would.

helm is looked for in $HELM, then tools/bin/helm (`scripts/install-helm` puts a pinned static build there), then
PATH. Without helm or without ../shared/charts the tests that render are skipped with that reason.

`helm template` does not contact a cluster: `lookup` finds nothing and `.Capabilities` are helm's defaults, except
the Kubernetes version, given as the one the built-in objects are validated against (tests/support/schemas.py). Renders
are cached per (chart, release, namespace, values) for the session; treat what `render` returns as read-only.

`helm template` is deterministic (no chart here generates random data), so its output is also kept on disk, in
.tools/helm-renders/, under a digest of everything it depends on: the helm binary, every file of the chart, the
release, namespace, Kubernetes version and values. A warm run reads what the same helm rendered from the same
inputs; any change to any of them renders anew.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.schemas import KUBERNETES_VERSION
from tests.support.stacks import ROOT, shared_dir

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the kserve-crd chart renders 2.4 MB of YAML


def helm_binary() -> str | None:
    for candidate in (os.environ.get("HELM"), ROOT / "tools" / "bin" / "helm", shutil.which("helm")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def charts_dir() -> Path | None:
    shared = shared_dir()
    return shared / "charts" if shared is not None and (shared / "charts").is_dir() else None


def unavailable() -> str | None:
    """Why charts cannot be rendered here, or None."""
    if charts_dir() is None:
        return "../shared/charts (the upstream Helm charts) is not available"
    if helm_binary() is None:
        return "helm is not installed: run scripts/install-helm (tools/bin/helm), or set HELM"
    return None


needs_helm = pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")


def chart_dir(chart: str, version: str) -> Path:
    """The unpacked chart; `chart` may be the program's chart reference (`oci://.../kserve-crd`)."""
    charts = charts_dir()
    assert charts is not None, unavailable()
    path = charts / f"{chart.rsplit('/', 1)[-1]}-{version}"
    assert path.is_dir(), f"{path} is missing: put the upstream chart there (see ../shared/charts/README.md)"
    return path


class RenderError(Exception):
    """helm refused the values (a values.schema.json violation, a `required` or `fail` in a template)."""


RENDERS = ROOT / ".tools" / "helm-renders"


@functools.cache
def _digest_of_file(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.cache
def _digest_of_tree(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root)}\0{_digest_of_file(str(path))}\0".encode())
    return digest.hexdigest()


@functools.cache
def _template(chart: Path, release: str, namespace: str, values_json: str) -> str:
    helm = helm_binary()
    key = hashlib.sha256(
        "\0".join(
            [_digest_of_file(str(helm)), _digest_of_tree(chart), release, namespace, KUBERNETES_VERSION, values_json]
        ).encode()
    ).hexdigest()
    rendered, refused = RENDERS / f"{key}.yaml", RENDERS / f"{key}.error"
    if refused.is_file():
        raise RenderError(refused.read_text())
    if rendered.is_file():
        return rendered.read_text()
    command = [helm, "template", release, str(chart), "--namespace", namespace]
    command += ["--values", "-", "--kube-version", KUBERNETES_VERSION]
    result = subprocess.run(command, input=values_json, capture_output=True, text=True, check=False)
    RENDERS.mkdir(parents=True, exist_ok=True)
    if result.returncode != 0:
        message = f"helm template {release} {chart.name}: {result.stderr.strip()}"
        _write(refused, message)
        raise RenderError(message)
    _write(rendered, result.stdout)
    return result.stdout


def _write(path: Path, text: str) -> None:
    """Atomically, so parallel test workers never read half a file."""
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(text)
    partial.replace(path)


def render_text(chart: Path, release: str, namespace: str, values: dict[str, Any] | None) -> str:
    """`helm template` output (deterministic: no chart here generates random data)."""
    return _template(chart, release, namespace, json.dumps(values or {}, sort_keys=True))


@functools.cache
def _parse(text: str) -> tuple[dict[str, Any], ...]:
    """The rendered objects; kept on disk as JSON too (reading it is ~30x faster than parsing the YAML)."""
    parsed = RENDERS / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
    if parsed.is_file():
        return tuple(json.loads(parsed.read_text()))
    objects = tuple(obj for obj in yaml.load_all(text, Loader=LOADER) if obj)
    try:
        text_json = json.dumps(objects)
    except TypeError:  # a value JSON cannot hold as is (a YAML timestamp): parse it every time instead
        return objects
    RENDERS.mkdir(parents=True, exist_ok=True)
    _write(parsed, text_json)
    return objects


def render(chart: Path, release: str, namespace: str, values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The objects `helm template` renders for these values (hooks included, as a release applies them)."""
    return list(_parse(render_text(chart, release, namespace, values)))
