"""The autoscaling and dashboard PromQL (catalog/triton_metrics.py, components/dashboard.py).

Unit tests check the builders and validate the dashboard against the Cloud Monitoring dashboard API's own
message types. The tests marked `triton` send a burst of inferences to a real Triton, let a real Prometheus
scrape it (and simulated GKE DCGM and kube-state-metrics pages) with GMP's labels, and evaluate every
autoscaling and every dashboard query through Prometheus's HTTP API."""

from __future__ import annotations

import concurrent.futures
import json
import re
import time
import urllib.request
from dataclasses import dataclass

import pytest

from catalog import triton_metrics as tm
from components.dashboard import COLUMNS, PANELS, dashboard

pytestmark = pytest.mark.xdist_group("prometheus")  # its own server set under `pytest -n`

WINDOW = "30s"  # the live tests' range: covers Prometheus's whole life in the test
WINDOW_SECONDS = 30


# --- builders ---------------------------------------------------------------------------------------


def test_autoscaling_queries_for_one_inference_service():
    assert tm.autoscaling_queries(cluster="prod-1", location="europe-west4", namespace="models", name="resnet") == {
        "queue_time": (
            'sum(sum by (pod) (increase(nv_inference_queue_duration_us{cluster="prod-1",location="europe-west4",'
            'namespace="models",'
            'top_level_controller_name="resnet-predictor"}[1m])) / clamp_min(sum by (pod) '
            '(increase(nv_inference_request_success{cluster="prod-1",location="europe-west4",namespace="models",'
            'top_level_controller_name="resnet-predictor"}[1m])), 1))'
        ),
        "request_rate": (
            'sum(rate(nv_inference_request_success{cluster="prod-1",location="europe-west4",namespace="models",'
            'top_level_controller_name="resnet-predictor"}[1m]))'
        ),
        "pending_requests": (
            'sum(last_over_time(nv_inference_pending_request_count{cluster="prod-1",location="europe-west4",'
            'namespace="models",top_level_controller_name="resnet-predictor"}[1m]))'
        ),
        "gpu_utilization": (
            'sum(avg_over_time(DCGM_FI_DEV_GPU_UTIL{cluster="prod-1",location="europe-west4",namespace="models",'
            'pod=~"resnet-predictor-[a-z0-9]+-[a-z0-9]+"}[1m]))'
        ),
    }


@pytest.mark.parametrize(
    ("cluster", "location", "namespace", "name"),
    [
        ("Prod", "us-central1", "models", "a"),
        ("c", "us-central1", "models", 'a"} or vector(1) #'),
        ("c", "us-central1", "", "a"),
        ("c", 'us"} or vector(1) #', "models", "a"),
    ],
)
def test_a_scope_takes_only_dns_labels(cluster, location, namespace, name):
    with pytest.raises(ValueError, match="is not a DNS label"):
        tm.Scope.inference_service(cluster=cluster, location=location, namespace=namespace, name=name)


def test_every_query_says_what_it_needs_and_its_unit():
    for query in (*tm.AUTOSCALING_SIGNALS, *tm.DASHBOARD_QUERIES):
        assert query.since and query.title
        assert query.unit in {"1/s", "us", "%", "MiBy", "1"}
    assert len({q.name for q in (*tm.AUTOSCALING_SIGNALS, *tm.DASHBOARD_QUERIES)}) == 13


def test_the_dashboard_shows_every_dashboard_query_once_on_a_grid_without_overlaps():
    tiles = dashboard()["mosaicLayout"]["tiles"]
    shown = [d["timeSeriesQuery"]["prometheusQuery"] for t in tiles for d in t["widget"]["xyChart"]["dataSets"]]
    scope = tm.Scope.dashboard()
    assert shown == [q.promql(scope, tm.DASHBOARD_WINDOW) for p in PANELS for q in p.queries]
    assert sorted(shown) == sorted(q.promql(scope, tm.DASHBOARD_WINDOW) for q in tm.DASHBOARD_QUERIES)
    cells = set()
    for tile in tiles:
        assert tile["xPos"] >= 0 and tile["xPos"] + tile["width"] <= COLUMNS
        area = {
            (x, y)
            for x in range(tile["xPos"], tile["xPos"] + tile["width"])
            for y in range(tile["yPos"], tile["yPos"] + tile["height"])
        }
        assert not area & cells
        cells |= area


def test_the_queries_use_exactly_the_dashboard_filters_as_variables():
    board = dashboard()
    declared = {f["templateVariable"] for f in board["dashboardFilters"]}
    queries = [
        d["timeSeriesQuery"]["prometheusQuery"]
        for t in board["mosaicLayout"]["tiles"]
        for d in t["widget"]["xyChart"]["dataSets"]
    ]
    used = {v for q in queries for v in re.findall(r"\$\{(\w+)\}", q)} - {"__interval"}
    assert used == declared == {"cluster", "location", "namespace", "model"}
    assert {f["labelKey"]: f["filterType"] for f in board["dashboardFilters"]}["model"] == "METRIC_LABEL"


def _parse_dashboard(board: dict):
    pytest.importorskip(
        "google.cloud.monitoring_dashboard_v1", reason="google-cloud-monitoring-dashboards (requirements-dev.txt)"
    )
    from google.cloud.monitoring_dashboard_v1.types import Dashboard
    from google.protobuf import json_format

    return json_format.Parse(json.dumps(board), Dashboard.pb()(), ignore_unknown_fields=False)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_the_dashboard_is_a_valid_dashboards_api_resource():
    parsed = _parse_dashboard(dashboard())
    assert parsed.display_name == "KServe Triton"
    assert len(parsed.mosaic_layout.tiles) == len(PANELS)
    assert (
        parsed.mosaic_layout.tiles[1]
        .widget.xy_chart.data_sets[1]
        .time_series_query.prometheus_query.endswith('quantile="0.99"}[${__interval}]))')
    )


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        (("widget", "xyChart", "dataSets", 0, "timeSeriesQuery"), "promQLQuery", "up"),  # misspelt field
        (("widget", "xyChart", "dataSets", 0), "plotType", "LINES"),  # not an enum value
        ((), "width", "wide"),  # not a number
        (("widget", "xyChart", "dataSets", 0), "targetAxis", "Y3"),  # Y1 or Y2
    ],
)
def test_a_malformed_tile_is_refused(where, key, value):
    from google.protobuf.json_format import ParseError

    board = dashboard()
    node = board["mosaicLayout"]["tiles"][0]
    for step in where:
        node = node[step]
    node[key] = value
    with pytest.raises(ParseError, match=key):
        _parse_dashboard(board)


# --- live: real Triton, real Prometheus -----------------------------------------------------------------

REQUEST = json.dumps(
    {"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1.0, 2.0, 3.0, 4.0]}]}
).encode()
BURST = 200
CONCURRENCY = 16


def triton_counters(server) -> dict[str, float]:
    metrics_port = next(p.container_port for p in server.container.ports if p.name == "metrics")
    with urllib.request.urlopen(server.url(metrics_port, "/metrics"), timeout=10) as response:
        text = response.read().decode()
    counters = {}
    for name in ("nv_inference_request_success", "nv_inference_queue_duration_us"):
        (value,) = re.findall(rf'^{name}{{model="doubler",version="1"}} (\S+)$', text, re.MULTILINE)
        counters[name] = float(value)
    return counters


@dataclass(frozen=True)
class Burst:
    requests: int
    seconds: float
    slowest_seconds: float
    queue_us_per_request: float
    """Triton's own counters, read before and after the burst: queue µs / successful requests."""
    at: float
    """When every query is evaluated (epoch seconds): after every target's first scrape past the burst."""


@pytest.fixture(scope="module")
def prometheus(prometheus_and_triton):
    return prometheus_and_triton[0]


@pytest.fixture(scope="module")
def burst(prometheus_and_triton) -> Burst:
    prometheus, triton = prometheus_and_triton
    prometheus.wait_for_scrapes_after(time.time())  # a sample of every series before the burst
    before = triton_counters(triton)
    http_port = next(p.container_port for p in triton.container.ports if p.name == "http")
    url = triton.url(http_port, "/v2/models/doubler/infer")

    def infer(_: int) -> float:
        start = time.monotonic()
        request = urllib.request.Request(url, data=REQUEST, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        return time.monotonic() - start

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        latencies = list(pool.map(infer, range(BURST)))
    seconds = time.monotonic() - start
    after = triton_counters(triton)
    served = after["nv_inference_request_success"] - before["nv_inference_request_success"]
    assert served == BURST
    queued = after["nv_inference_queue_duration_us"] - before["nv_inference_queue_duration_us"]
    prometheus.wait_for_scrapes_after(time.time())
    result = Burst(BURST, seconds, max(latencies), queued / served, time.time())
    print(
        f"\nburst: {BURST} requests, {CONCURRENCY} at a time, in {seconds:.3f} s (slowest {max(latencies):.4f} s);"
        f" Triton's counters: {result.queue_us_per_request:.1f} µs queued per request"
    )
    return result


def evaluate(prometheus, burst: Burst, promql: str) -> dict[tuple, float]:
    """Series labels (sorted pairs) -> value, as Prometheus returns them at the burst's evaluation time."""
    result = prometheus.query(promql, at=burst.at)
    print(f"\n{promql}\n  -> " + "\n  -> ".join(f"{s['metric']} = {s['value']:.6g}" for s in result))
    return {tuple(sorted(s["metric"].items())): s["value"] for s in result}


def in_dashboard(promql: str) -> str:
    """A dashboard query as Cloud Monitoring runs it: filters expanded to matchers, the step to a window."""
    from tests.support.prometheus_server import CLUSTER, LOCATION, NAMESPACE

    for label, value in {"cluster": CLUSTER, "location": LOCATION, "namespace": NAMESPACE, "model": "doubler"}.items():
        promql = promql.replace(f"${{{label}}}", f'{label}="{value}"')
    promql = promql.replace(tm.DASHBOARD_WINDOW, WINDOW)
    assert "${" not in promql
    return promql


def doubler_scope() -> tm.Scope:
    """The simulated cluster's InferenceService `doubler` in `models` (its twin in `staging` must not count)."""
    from tests.support.prometheus_server import CLUSTER, INFERENCE_SERVICE, LOCATION, NAMESPACE

    return tm.Scope.inference_service(cluster=CLUSTER, location=LOCATION, namespace=NAMESPACE, name=INFERENCE_SERVICE)


def assert_request_rate(rate: float, burst: Burst) -> None:
    # rate() is the window's increase, extrapolated towards the window's ends (by at most 1.1 + 0.5 scrape
    # intervals, and the samples before and after the burst are at least one apart), divided by the window.
    assert 0 < rate <= burst.requests / burst.seconds
    assert burst.requests <= rate * WINDOW_SECONDS <= 3 * burst.requests


@pytest.mark.triton
def test_queue_time_signal_is_tritons_queue_time_per_request_of_the_one_replica(prometheus, burst):
    scope = doubler_scope()
    result = evaluate(prometheus, burst, tm.QUEUE_TIME.promql(scope, WINDOW))
    assert list(result) == [()]
    assert result[()] == pytest.approx(burst.queue_us_per_request, rel=1e-9)
    assert result[()] > 0  # concurrent requests did queue


@pytest.mark.triton
def test_pending_requests_signal_reads_tritons_queue_gauge_of_the_one_replica(prometheus, burst):
    """The series exists for the InferenceService's replica (Triton 23.09+ exports it), and once the burst is over
    the queue is empty: the signal falls to 0 as soon as the queue drains, unlike a windowed average."""
    result = evaluate(prometheus, burst, tm.PENDING_REQUESTS.promql(doubler_scope(), WINDOW))
    assert list(result) == [()]
    assert result[()] == 0


@pytest.mark.triton
def test_request_rate_signal_counts_the_burst_once(prometheus, burst):
    scope = doubler_scope()
    result = evaluate(prometheus, burst, tm.REQUEST_RATE.promql(scope, WINDOW))
    assert list(result) == [()]
    assert_request_rate(result[()], burst)


@pytest.mark.triton
def test_gpu_signal_sums_only_the_inference_services_gpus(prometheus, burst):
    from tests.support.prometheus_server import POD, SIMULATED_GPUS

    scope = doubler_scope()
    result = evaluate(prometheus, burst, tm.GPU_UTILIZATION.promql(scope, WINDOW))
    assert result == {(): sum(g.utilization for g in SIMULATED_GPUS if g.pod and g.pod[1] == POD)}


def _check_dashboard_result(name: str, result: dict[tuple, float], burst: Burst) -> None:
    """What each dashboard query must return for namespace `models` and model `doubler`."""
    from tests.support.prometheus_server import POD, SIMULATED_DEPLOYMENTS, SIMULATED_GPUS

    doubler, doubler_pod = (("model", "doubler"),), (("model", "doubler"), ("pod", POD))
    # GPU and replica charts show every predictor of the namespace (they carry no `model` label).
    gpus = [g for g in SIMULATED_GPUS if g.pod and g.pod[0] == "models" and "-predictor-" in g.pod[1]]
    predictors = {d: n for (ns, d), n in SIMULATED_DEPLOYMENTS.items() if ns == "models" and d.endswith("-predictor")}
    if name == "requests":
        assert list(result) == [doubler]
        assert_request_rate(result[doubler], burst)
    elif name == "failures":  # the doubler never fails: every reason's counter exists, at 0
        assert result == {(*doubler, ("reason", r)): 0 for r in ("BACKEND", "CANCELED", "OTHER", "REJECTED")}
    elif name in ("latency_p50", "latency_p99"):
        assert list(result) == [doubler_pod]
        assert 0 < result[doubler_pod] <= burst.slowest_seconds * 1e6  # Triton's time <= the client's
    elif name == "queue_time_per_request":
        assert result == {doubler_pod: pytest.approx(burst.queue_us_per_request, rel=1e-9)}
    elif name == "replicas_available":
        assert result == {(("deployment", d),): available for d, (_, available) in predictors.items()}
    elif name == "replicas_desired":
        assert result == {(("deployment", d),): desired for d, (desired, _) in predictors.items()}
    elif name == "gpu_utilization_per_gpu":
        assert result == {(("gpu", str(g.index)), ("pod", g.pod[1])): g.utilization for g in gpus}
    elif name == "gpu_memory_used":
        assert result == {(("gpu", str(g.index)), ("pod", g.pod[1])): g.memory_used_mib for g in gpus}
    else:
        pytest.fail(f"no expectation for dashboard query {name}")


@pytest.mark.triton
@pytest.mark.parametrize("query", tm.DASHBOARD_QUERIES, ids=lambda q: q.name)
def test_every_dashboard_query_returns_the_expected_series(prometheus, burst, query):
    result = evaluate(prometheus, burst, in_dashboard(query.promql(tm.Scope.dashboard(), tm.DASHBOARD_WINDOW)))
    _check_dashboard_result(query.name, result, burst)


@pytest.mark.triton
def test_p99_is_at_least_p50(prometheus, burst):
    scope = tm.Scope.dashboard()
    p50 = evaluate(prometheus, burst, in_dashboard(tm.LATENCY_P50.promql(scope, tm.DASHBOARD_WINDOW)))
    p99 = evaluate(prometheus, burst, in_dashboard(tm.LATENCY_P99.promql(scope, tm.DASHBOARD_WINDOW)))
    assert all(p99[series] >= p50[series] for series in p50)
