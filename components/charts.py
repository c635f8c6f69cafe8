"""Where a Helm release's chart comes from: its registry (an OCI repository or a classic Helm repository), as a
user's `pulumi up` pulls it, or a directory holding the same chart unpacked (`kserve.charts`), for clusters that
cannot reach the registries. pulumi-kubernetes' Release takes a `chart` that is a local directory with a
Chart.yaml as is, with no network (provider/pkg/provider/helm_release.go, `locateChart`)."""

from __future__ import annotations

from typing import Any


def chart_source(chart: str, version: str, repository: str, local: str | None) -> dict[str, Any]:
    """The Release arguments that say which chart to install: `chart`, `version` and, for a Helm repository,
    `repository_opts`. `local` (a directory, from KServeSettings.chart_path) wins over `repository`."""
    if local is not None:
        return {"chart": local, "version": version}
    if repository.startswith("oci://"):
        return {"chart": f"{repository}/{chart}", "version": version}
    return {"chart": chart, "version": version, "repository_opts": {"repo": repository}}
