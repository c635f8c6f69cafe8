"""Render the upstream Helm charts in ../shared/charts with a real `helm template`, as the program's releases would.

helm is looked for in $HELM, then tools/bin/helm (`scripts/install-helm` puts a pinned static build there), then
PATH. Without helm or without ../shared/charts the tests that render are skipped with that reason.

`helm template` does not contact a cluster: `lookup` finds nothing and `.Capabilities` are helm's defaults, except
the Kubernetes version, given as the one the built-in objects are validated against (tests/schemas.py). Renders
are cached per (chart, release, namespace, values) for the session; treat what `render` returns as read-only.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from schemas import KUBERNETES_VERSION

from conftest import ROOT, shared_dir

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


@functools.cache
def _template(chart: Path, release: str, namespace: str, values_json: str) -> str:
    command = [helm_binary(), "template", release, str(chart), "--namespace", namespace]
    command += ["--values", "-", "--kube-version", KUBERNETES_VERSION]
    result = subprocess.run(command, input=values_json, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RenderError(f"helm template {release} {chart.name}: {result.stderr.strip()}")
    return result.stdout


def render_text(chart: Path, release: str, namespace: str, values: dict[str, Any] | None) -> str:
    """`helm template` output (deterministic: no chart here generates random data)."""
    return _template(chart, release, namespace, json.dumps(values or {}, sort_keys=True))


@functools.cache
def _parse(text: str) -> tuple[dict[str, Any], ...]:
    return tuple(obj for obj in yaml.load_all(text, Loader=LOADER) if obj)


def render(chart: Path, release: str, namespace: str, values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The objects `helm template` renders for these values (hooks included, as a release applies them)."""
    return list(_parse(render_text(chart, release, namespace, values)))
