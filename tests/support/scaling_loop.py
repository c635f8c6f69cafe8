"""A closed scaling loop on loopback, for scripts/benchmark-scaling: a real Triton per replica (the runtime's own
arguments, nvidia-pytriton's CPU tritonserver) serving a model with a fixed service time, a real Prometheus that
scrapes the replicas in the load balancer, an open-loop load generator (Poisson arrivals), and the autoscaler's
decisions enacted every HPA sync by KEDA's and the HPA's rules (tests/upstream/hpa.py) on the project's own query
(catalog/triton_metrics.py, as it reads a Prometheus of the user's own: `namespace` and `pod` labels). A replica the
HPA adds joins the load balancer at once (its Triton is already up: pod start-up is not part of this loop), and one
it removes stops receiving requests, then leaves the scrape.

The model is the `sleeper` of tests/support/triton_server.py (one instance, no batching): each request holds the
model for its SECONDS, as a GPU-bound model holds its GPU, without loading this machine's CPU.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from catalog import triton_metrics as tm
from embedded.cluster import Prometheus
from tests.support.stacks import runtime_container
from tests.support.triton_server import TritonServer, free_ports
from tests.upstream.hpa import DEFAULT_SCALE_UP, SYNC_SECONDS, Hpa, Policy

NAMESPACE = "models"
NAME = "bench"


def pod_name(index: int) -> str:
    return f"{NAME}-predictor-6c9f8d7b5-r{index}"


@dataclass
class Step:
    seconds: float
    rate: float
    """Offered requests/s."""


@dataclass
class Sample:
    t: float
    offered: float
    replicas: int
    signal: float | None
    desired: int


@dataclass
class Outcome:
    samples: list[Sample] = field(default_factory=list)
    latencies: list[tuple[float, float]] = field(default_factory=list)
    """(arrival time, seconds to the answer)."""


class Replicas:
    """Real Tritons, started up front; the first `active` receive requests and are scraped."""

    def __init__(self, workdir: Path, count: int):
        container = runtime_container()
        self.servers = [TritonServer(container, workdir / f"replica-{i}", sleeper=True) for i in range(count)]
        for server in self.servers:
            server.workdir.mkdir(parents=True, exist_ok=True)
        self.http_port = next(p.container_port for p in container.ports if p.name in ("h2c", "http1", "http"))
        self.metrics_port = next(p.container_port for p in container.ports if p.name == "metrics")
        self.active = 1
        self._lock = threading.Lock()

    def start(self) -> None:
        threads = [threading.Thread(target=s.start) for s in self.servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def pick(self) -> TritonServer:
        with self._lock:
            return self.servers[random.randrange(self.active)]

    def set_active(self, count: int) -> None:
        with self._lock:
            self.active = max(1, min(count, len(self.servers)))

    def targets(self) -> list[dict]:
        return [
            {
                "targets": [server.url(self.metrics_port).removeprefix("http://")],
                "labels": {"namespace": NAMESPACE, "pod": pod_name(i)},
            }
            for i, server in enumerate(self.servers[: self.active])
        ]


def infer(url: str, seconds: float) -> None:
    body = json.dumps({"inputs": [{"name": "SECONDS", "shape": [1], "datatype": "FP32", "data": [seconds]}]}).encode()
    request = urllib.request.Request(
        f"{url}/v2/models/sleeper/infer", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        answer.read()


class Load:
    """Open loop: Poisson arrivals at the current step's rate, each sent by one of `workers` threads."""

    def __init__(self, replicas: Replicas, service_seconds: float, workers: int = 384):
        self.replicas, self.service_seconds = replicas, service_seconds
        self.rate = 0.0
        self.latencies: list[tuple[float, float]] = []
        self._queue: list[float] = []
        self._cv = threading.Condition()
        self._stopped = False
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        threading.Thread(target=self._arrive, daemon=True).start()

    def _arrive(self) -> None:
        next_at = time.monotonic()
        while not self._stopped:
            rate = self.rate
            if rate <= 0:
                time.sleep(0.05)
                next_at = time.monotonic()
                continue
            next_at += random.expovariate(rate)
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with self._cv:
                self._queue.append(next_at)
                self._cv.notify()

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stopped:
                    self._cv.wait()
                if self._stopped:
                    return
                arrived = self._queue.pop(0)
            server = self.replicas.pick()
            try:
                infer(server.url(self.replicas.http_port), self.service_seconds)
                self.latencies.append((arrived, time.monotonic() - arrived))
            except OSError:
                self.latencies.append((arrived, float("inf")))

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()


def capacity(replicas: Replicas, service_seconds: float, seconds: float = 10.0, clients: int = 8) -> float:
    """Requests/s one replica serves flat out (closed loop, `clients` at once)."""
    done = []
    deadline = time.monotonic() + seconds
    url = replicas.servers[0].url(replicas.http_port)

    def client() -> None:
        while time.monotonic() < deadline:
            infer(url, service_seconds)
            done.append(1)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(done) / seconds


def run_loop(
    workdir: Path,
    signal: tm.AutoscalingSignal,
    window: str,
    target: float,
    steps: list[Step],
    *,
    service_seconds: float,
    max_replicas: int,
    scrape_interval: str,
    scale_down_window: int,
    replicas: Replicas,
    scale_up: tuple[Policy, ...] = DEFAULT_SCALE_UP,
    more_triggers: tuple[tuple[tm.AutoscalingSignal, str, float], ...] = (),
    on_sample: Callable[[Sample], None] | None = None,
) -> Outcome:
    """Offer `steps` of load to one replica and let the HPA's rules on `signal` move the replica count."""
    (port,) = free_ports(1)
    prometheus = Prometheus(workdir / "prometheus", port, scrape_interval=scrape_interval)
    prometheus.start()
    replicas.set_active(1)
    prometheus.write_targets(replicas.targets())
    hpa = Hpa(
        target=target,
        min_replicas=1,
        max_replicas=max_replicas,
        scale_down_window=scale_down_window,
        scale_up=scale_up,
    )
    scope = tm.Scope.pods(namespace=NAMESPACE, name=NAME)
    queries = [(signal.promql(scope, window), target)] + [(s.promql(scope, w), t) for s, w, t in more_triggers]
    load = Load(replicas, service_seconds)
    load.start()
    outcome = Outcome()
    started = time.monotonic()
    try:
        next_sync = started + SYNC_SECONDS
        for step in steps:
            load.rate = step.rate
            step_end = time.monotonic() + step.seconds
            while time.monotonic() < step_end:
                if time.monotonic() >= next_sync:
                    next_sync += SYNC_SECONDS
                    metrics = []
                    for query, query_target in queries:
                        result = prometheus.query(query)
                        metrics.append((float(result[0]["value"][1]) if result else 0.0, query_target))
                    usage = metrics[0][0]
                    desired = max(hpa.desired_from(u, t) for u, t in metrics)
                    count = hpa.sync_metrics(time.monotonic() - started, metrics)
                    replicas.set_active(count)
                    prometheus.write_targets(replicas.targets())
                    sample = Sample(time.monotonic() - started, step.rate, count, usage, desired)
                    outcome.samples.append(sample)
                    if on_sample:
                        on_sample(sample)
                time.sleep(0.2)
    finally:
        load.stop()
        prometheus.stop()
    outcome.latencies = [(arrived - started, seconds) for arrived, seconds in load.latencies]
    return outcome


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100)[98]
