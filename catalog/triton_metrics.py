"""The PromQL this project reads Triton, GPU and Deployment metrics with, in one place: the autoscaling
signals (KEDA's Prometheus trigger) and the dashboard's charts are built from the same definitions.

Where the labels come from (on GKE, everything goes through Managed Service for Prometheus, GMP):

- **Triton** (`nv_*`, scraped from the runtime's metrics port by a GMP `PodMonitoring`): GMP's target
  labels `project_id`, `location`, `cluster`, `namespace`, `job`, `instance`, and from the default
  `targetLabels.metadata` `pod`, `container`, `top_level_controller_name` (the predictor Deployment,
  `<isvc>-predictor`) and `top_level_controller_type`; Triton's own `model`, `version`, and `reason` on
  failures (Triton 24.08+).
- **GPUs** (`DCGM_FI_*`, GKE's managed DCGM package): its `ClusterPodMonitoring` `gke-managed-dcgm-exporter`
  sets `targetLabels.metadata: []`, so GMP adds only `project_id`, `location`, `cluster`, `job` and
  `instance` (`<node>:metrics`), and the exporter's own labels pass through unrenamed: `gpu`, `UUID`,
  `pci_bus_id`, `device`, `modelName`, `Hostname` and, on a GPU allocated to a pod, that pod's `namespace`,
  `pod`, `container` (no `exported_` prefix, and no `top_level_controller_name`: GPUs are matched by pod name).
- **Replicas** (`kube_deployment_*`, GKE's managed kube-state-metrics package): `cluster`, `namespace`
  (the Deployment's) and `deployment`.

Autoscaling queries are written for KEDA's Prometheus trigger, where KEDA divides the query's result by the
per-replica target (`AverageValue`): each returns one total for the InferenceService, and its target is
what one replica should carry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

# Triton's latency summaries (p50/p99 per replica over its last 60 s); Triton 23.05+. The runtime's container
# needs them for the dashboard's percentile charts.
TRITON_METRICS_ARGS = ["--metrics-config=summary_latencies=true"]

# The pod metadata GMP attaches to Triton's series, which the queries match on (top_level_controller_name) or group
# by (pod). The PodMonitoring names them explicitly: Managed Prometheus 0.17.0-0.17.2's CRD defaults
# `targetLabels.metadata` only when `targetLabels` itself is present (prometheus-engine PR #1849, fixed in 0.17.3),
# and without them the autoscaling queries match nothing, KEDA reads 0 and nothing ever scales.
TRITON_TARGET_METADATA = ("container", "pod", "top_level_controller_name", "top_level_controller_type")

PREDICTOR_SUFFIX = "-predictor"
# A Deployment's pods are named <deployment>-<pod-template-hash>-<suffix>; PromQL regexes are anchored.
_POD_NAME = "{deployment}-[a-z0-9]+-[a-z0-9]+"
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")

# Range of the autoscaling queries: at least 2 samples at GMP's scrape intervals (15 s for Triton, 30 s DCGM).
AUTOSCALING_WINDOW = "1m"
# Cloud Monitoring's step macro: the dashboard's own alignment period.
DASHBOARD_WINDOW = "${__interval}"

# Dashboard filters: (label, filter type); each is a template variable of the same name, which Cloud
# Monitoring expands to a matcher (`cluster="..."`) inside the queries' braces.
DASHBOARD_FILTERS = (
    ("cluster", "RESOURCE_LABEL"),
    ("location", "RESOURCE_LABEL"),
    ("namespace", "RESOURCE_LABEL"),
    ("model", "METRIC_LABEL"),
)


def _string(value: str) -> str:
    """A PromQL string literal."""
    return json.dumps(value)


@dataclass(frozen=True)
class Scope:
    """Which series a query reads: the label matchers (inside the braces) for each source."""

    triton: str
    gpu: str
    deployment: str

    @classmethod
    def inference_service(cls, *, cluster: str, location: str, namespace: str, name: str) -> Scope:
        """One InferenceService: its predictor Deployment's pods in one cluster (for the autoscaler).

        GMP keeps every cluster of a project in one store, and a cluster name is unique only within its location:
        the location is matched too, so two same-named clusters (a zonal and a regional one, say) never add up
        each other's series."""
        for label, value in (("cluster", cluster), ("location", location), ("namespace", namespace), ("name", name)):
            if not _DNS_LABEL.fullmatch(value):
                raise ValueError(f"{label} {value!r} is not a DNS label")
        deployment = f"{name}{PREDICTOR_SUFFIX}"
        where = f"cluster={_string(cluster)},location={_string(location)},namespace={_string(namespace)}"
        return cls(
            triton=f"{where},top_level_controller_name={_string(deployment)}",
            gpu=f"{where},pod=~{_string(_POD_NAME.format(deployment=deployment))}",
            deployment=f"{where},deployment={_string(deployment)}",
        )

    @classmethod
    def pods(cls, *, namespace: str, name: str) -> Scope:
        """One InferenceService, in a Prometheus of the user's own (`kserve.prometheusUrl`) that labels series the
        way Prometheus' Kubernetes pod discovery is usually relabelled: `namespace` and `pod`; replicas from
        kube-state-metrics (`namespace`, `deployment`). No cluster label: that Prometheus serves one cluster."""
        for label, value in (("namespace", namespace), ("name", name)):
            if not _DNS_LABEL.fullmatch(value):
                raise ValueError(f"{label} {value!r} is not a DNS label")
        deployment = f"{name}{PREDICTOR_SUFFIX}"
        where = f"namespace={_string(namespace)}"
        pods = f"{where},pod=~{_string(_POD_NAME.format(deployment=deployment))}"
        return cls(triton=pods, gpu=pods, deployment=f"{where},deployment={_string(deployment)}")

    @classmethod
    def dashboard(cls) -> Scope:
        """Whatever the dashboard's filters select; GPUs and replicas of every predictor in the namespace."""
        where = ",".join(f"${{{label}}}" for label, kind in DASHBOARD_FILTERS if kind == "RESOURCE_LABEL")
        model = ",".join(f"${{{label}}}" for label, kind in DASHBOARD_FILTERS if kind == "METRIC_LABEL")
        return cls(
            triton=f"{where},{model}",
            gpu=f"{where},pod=~{_string(_POD_NAME.format(deployment='.+' + PREDICTOR_SUFFIX))}",
            deployment=f"{where},deployment=~{_string('.+' + PREDICTOR_SUFFIX)}",
        )


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    unit: str
    """UCUM unit, as Cloud Monitoring's `unitOverride` takes it."""
    since: str
    """What must be deployed for the series to exist (Triton release, runtime flag, GKE package)."""
    build: Callable[[Scope, str], str]
    """(scope, range window) -> PromQL."""

    def promql(self, scope: Scope, window: str) -> str:
        return self.build(scope, window)


@dataclass(frozen=True)
class AutoscalingSignal(Query):
    target: str
    """What the per-replica target means, and how to choose it."""


def _by(labels: tuple[str, ...]) -> str:
    return f" by ({', '.join(labels)}) " if labels else ""


def queue_us_per_request(selector: str, window: str, by: tuple[str, ...]) -> str:
    """NVIDIA's queue-time signal (Triton's `deploy/k8s-onprem`): queue µs / requests, here per `by` group.

    `increase` rather than NVIDIA's `delta` (these are counters: a restarted replica resets them), and
    `clamp_min(..., 1)` rather than `1 + ...` (exact once a request has arrived; 0 when idle)."""
    return (
        f"sum{_by(by)}(increase(nv_inference_queue_duration_us{{{selector}}}[{window}]))"
        f" / clamp_min(sum{_by(by)}(increase(nv_inference_request_success{{{selector}}}[{window}])), 1)"
    )


def _request_rate(selector: str, window: str, by: tuple[str, ...]) -> str:
    return f"sum{_by(by)}(rate(nv_inference_request_success{{{selector}}}[{window}]))"


def _gpu(metric: str, selector: str, window: str) -> str:
    return f"avg_over_time({metric}{{{selector}}}[{window}])"


COUNTERS = "Triton: all releases (the counters predate 22.03)"

QUEUE_TIME = AutoscalingSignal(
    name="queue_time",
    title="Triton queue time per request, summed over replicas",
    unit="us",
    since=COUNTERS,
    build=lambda scope, window: f"sum({queue_us_per_request(scope.triton, window, ('pod',))})",
    target="µs a request may wait in one replica's queue on average (each replica's mean is summed, so KEDA "
    "keeps the mean per replica near the target); pick it from the latency budget, e.g. 10-20% of the p99 SLO",
)
REQUEST_RATE = AutoscalingSignal(
    name="request_rate",
    title="Successful requests/s, summed over replicas",
    unit="1/s",
    since=COUNTERS,
    build=lambda scope, window: _request_rate(scope.triton, window, ()),
    target="requests/s one replica serves within the latency SLO, measured (perf_analyzer) for this model and GPU",
)
GPU_UTILIZATION = AutoscalingSignal(
    name="gpu_utilization",
    title="GPU utilisation (DCGM), summed over the replicas' GPUs",
    unit="%",
    since="GKE's DCGM package (default on new clusters from 1.32.1-gke.1357000)",
    build=lambda scope, window: f"sum({_gpu('DCGM_FI_DEV_GPU_UTIL', scope.gpu, window)})",
    target="percent per GPU x GPUs per replica, e.g. 70 for one GPU: DCGM's utilisation is the share of time "
    "a kernel ran, not how much of the GPU it used",
)
PENDING_REQUESTS = AutoscalingSignal(
    name="pending_requests",
    title="Requests waiting in Triton's queues, summed over replicas",
    unit="1",
    since="Triton 23.09+ (nv_inference_pending_request_count, core commit c6c45ff)",
    # A gauge: its latest sample (the window only bounds how old it may be), so it falls as soon as a queue drains.
    build=lambda scope, window: f"sum(last_over_time(nv_inference_pending_request_count{{{scope.triton}}}[{window}]))",
    target="requests one replica may have waiting (not yet executing)",
)
IN_FLIGHT = AutoscalingSignal(
    name="in_flight",
    title="Requests in flight (queued or executing), summed over replicas",
    unit="1",
    since=COUNTERS,
    # Little's law: the request time spent per second is the mean number of requests in the server.
    build=lambda scope, window: f"sum(rate(nv_inference_request_duration_us{{{scope.triton}}}[{window}])) / 1000000",
    target="requests one replica may hold at once, queued or executing: its model instances x batch size, "
    "plus the queue it may keep",
)
BUSY = AutoscalingSignal(
    name="busy",
    title="Model instances busy (compute time per second), summed over replicas",
    unit="1",
    since=COUNTERS,
    build=lambda scope, window: (
        f"sum(rate(nv_inference_compute_infer_duration_us{{{scope.triton}}}[{window}])) / 1000000"
    ),
    target="the share of its time one replica's model instances may compute (e.g. 0.75 for one instance): it "
    "tracks the load served, so it holds a count under steady load, but cannot exceed 1 per instance in overload",
)
AUTOSCALING_SIGNALS = (QUEUE_TIME, REQUEST_RATE, GPU_UTILIZATION, PENDING_REQUESTS)
CANDIDATE_SIGNALS = (IN_FLIGHT, BUSY)
"""Measured by scripts/benchmark-scaling beside the signals a stack can choose."""

# Dashboard charts, per Triton model (or per replica, pod, GPU where noted).
REQUESTS = Query(
    name="requests",
    title="Successful requests/s",
    unit="1/s",
    since=COUNTERS,
    build=lambda scope, window: _request_rate(scope.triton, window, ("model",)),
)
FAILURES = Query(
    name="failures",
    title="Failed requests/s",
    unit="1/s",
    since=COUNTERS + "; the `reason` breakdown from 24.08",
    build=lambda scope, window: (
        f"sum by (model, reason) (rate(nv_inference_request_failure{{{scope.triton}}}[{window}]))"
    ),
)


def _latency_quantile(quantile: str) -> Callable[[Scope, str], str]:
    # A summary's quantiles cannot be aggregated across replicas: one line per replica, the highest value
    # Triton reported in the interval.
    return lambda scope, window: (
        f"max by (model, pod) (max_over_time(nv_inference_request_summary_us"
        f"{{{scope.triton},quantile={_string(quantile)}}}[{window}]))"
    )


LATENCY_SUMMARIES = "Triton 23.05+ with " + " ".join(TRITON_METRICS_ARGS)
LATENCY_P50 = Query(
    name="latency_p50",
    title="p50 request latency, per replica",
    unit="us",
    since=LATENCY_SUMMARIES,
    build=_latency_quantile("0.5"),
)
LATENCY_P99 = Query(
    name="latency_p99",
    title="p99 request latency, per replica",
    unit="us",
    since=LATENCY_SUMMARIES,
    build=_latency_quantile("0.99"),
)
QUEUE_TIME_PER_REQUEST = Query(
    name="queue_time_per_request",
    title="Queue time per request, per replica",
    unit="us",
    since=COUNTERS,
    build=lambda scope, window: queue_us_per_request(scope.triton, window, ("model", "pod")),
)
REPLICAS_AVAILABLE = Query(
    name="replicas_available",
    title="Available replicas",
    unit="1",
    since="GKE's kube state metrics package (DEPLOYMENT), GKE 1.27.2-gke.1200+",
    build=lambda scope, window: (
        f"max by (deployment) (kube_deployment_status_replicas_available{{{scope.deployment}}})"
    ),
)
REPLICAS_DESIRED = Query(
    name="replicas_desired",
    title="Desired replicas",
    unit="1",
    since="GKE's kube state metrics package (DEPLOYMENT), GKE 1.27.2-gke.1200+",
    build=lambda scope, window: f"max by (deployment) (kube_deployment_spec_replicas{{{scope.deployment}}})",
)
GPU_UTILIZATION_PER_GPU = Query(
    name="gpu_utilization_per_gpu",
    title="GPU utilisation, per GPU",
    unit="%",
    since=GPU_UTILIZATION.since,
    build=lambda scope, window: f"max by (pod, gpu) ({_gpu('DCGM_FI_DEV_GPU_UTIL', scope.gpu, window)})",
)
GPU_MEMORY_USED = Query(
    name="gpu_memory_used",
    title="GPU memory used, per GPU",
    unit="MiBy",
    since=GPU_UTILIZATION.since,
    build=lambda scope, window: f"max by (pod, gpu) ({_gpu('DCGM_FI_DEV_FB_USED', scope.gpu, window)})",
)
DASHBOARD_QUERIES = (
    REQUESTS,
    FAILURES,
    LATENCY_P50,
    LATENCY_P99,
    QUEUE_TIME_PER_REQUEST,
    REPLICAS_AVAILABLE,
    REPLICAS_DESIRED,
    GPU_UTILIZATION_PER_GPU,
    GPU_MEMORY_USED,
)


def autoscaling_queries(
    *, cluster: str, location: str, namespace: str, name: str, window: str = AUTOSCALING_WINDOW
) -> dict:
    """Signal name -> the PromQL KEDA runs for one InferenceService."""
    scope = Scope.inference_service(cluster=cluster, location=location, namespace=namespace, name=name)
    return {signal.name: signal.promql(scope, window) for signal in AUTOSCALING_SIGNALS}
