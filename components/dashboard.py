"""The Cloud Monitoring dashboard for Triton on KServe, built from the queries in `triton_metrics`.

`dashboard()` returns the `projects.dashboards` resource (REST v1) as a dict; give it to
`gcp.monitoring.Dashboard(dashboard_json=json.dumps(...))`. Charts are PromQL against Managed Service for
Prometheus; the filters (cluster, location, namespace, Triton model) are template variables the queries
reference, so one dashboard serves every cluster and model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp

from catalog import triton_metrics as tm

if TYPE_CHECKING:
    from settings import StackSettings

COLUMNS = 48  # mosaic grid width, as Google's sample dashboards use
TILE_WIDTH = 24
TILE_HEIGHT = 16


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[tm.Query, ...]


PANELS = (
    Panel("Requests/s: successful, and failed by reason", (tm.REQUESTS, tm.FAILURES)),
    Panel("Request latency per replica: p50 and p99 (Triton, last 60 s)", (tm.LATENCY_P50, tm.LATENCY_P99)),
    Panel("Queue time per request, per replica", (tm.QUEUE_TIME_PER_REQUEST,)),
    Panel("Replicas: available and desired", (tm.REPLICAS_AVAILABLE, tm.REPLICAS_DESIRED)),
    Panel("GPU utilisation per GPU (DCGM)", (tm.GPU_UTILIZATION_PER_GPU,)),
    Panel("GPU memory used per GPU (DCGM)", (tm.GPU_MEMORY_USED,)),
)


def _tile(index: int, panel: Panel, scope: tm.Scope) -> dict[str, Any]:
    per_row = COLUMNS // TILE_WIDTH
    return {
        "xPos": (index % per_row) * TILE_WIDTH,
        "yPos": (index // per_row) * TILE_HEIGHT,
        "width": TILE_WIDTH,
        "height": TILE_HEIGHT,
        "widget": {
            "title": panel.title,
            "xyChart": {
                "dataSets": [
                    {
                        "timeSeriesQuery": {
                            "prometheusQuery": query.promql(scope, tm.DASHBOARD_WINDOW),
                            "unitOverride": query.unit,
                        },
                        "plotType": "LINE",
                        "targetAxis": "Y1",
                    }
                    for query in panel.queries
                ],
                "yAxis": {"scale": "LINEAR"},
            },
        },
    }


def dashboard(display_name: str = "KServe Triton") -> dict[str, Any]:
    scope = tm.Scope.dashboard()
    return {
        "displayName": display_name,
        "dashboardFilters": [
            {"labelKey": label, "templateVariable": label, "filterType": kind} for label, kind in tm.DASHBOARD_FILTERS
        ],
        "mosaicLayout": {
            "columns": COLUMNS,
            "tiles": [_tile(index, panel, scope) for index, panel in enumerate(PANELS)],
        },
    }


MONITORING_API = "monitoring.googleapis.com"


@dataclass(frozen=True)
class MonitoringDashboardArgs:
    project: str
    display_name: str

    @classmethod
    def from_settings(cls, stack: StackSettings) -> MonitoringDashboardArgs:
        return cls(project=stack.project, display_name=f"KServe Triton: {stack.cluster.gke_name}")


class MonitoringDashboard(pulumi.ComponentResource):
    """The Cloud Monitoring dashboard, from the same query definitions the autoscaler uses."""

    url: pulumi.Output[str]
    """Where to open it in the Google Cloud console."""

    def __init__(self, name: str, args: MonitoringDashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:gcp:MonitoringDashboard", name, None, opts)
        api = gcp.projects.Service(
            f"{name}-api",
            project=args.project,
            service=MONITORING_API,
            disable_on_destroy=False,  # other workloads in the project may use it
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard = gcp.monitoring.Dashboard(
            name,
            project=args.project,
            dashboard_json=json.dumps(dashboard(args.display_name), sort_keys=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[api]),
        )
        # The resource's ID is projects/<number>/dashboards/<id>; the console addresses it by <id>.
        self.url = self.dashboard.id.apply(
            lambda dashboard_id: (
                "https://console.cloud.google.com/monitoring/dashboards/custom/"
                f"{dashboard_id.rsplit('/', 1)[-1]}?project={args.project}"
            )
        )
        self.register_outputs({"url": self.url})
