"""Shared test set-up: run the program (or one component) under Pulumi's mocks, one run per test.

The mock harness itself lives in `kserve_triton/offline.py`, which `python -m kserve_triton render`
uses too."""

from __future__ import annotations

import copy
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kserve_triton.offline import ROOT, OfflineRun
from tests.support.stacks import deployable_config, runtime_container


@pytest.fixture(scope="session")
def triton_runtime_container():
    """The kserve-container of the kserve-tritonserver runtime, as the program declares it."""
    return runtime_container()


@pytest.fixture(scope="session")
def triton_server(triton_runtime_container, tmp_path_factory):
    """A real tritonserver running the runtime's container args (see tests/support/triton_server.py)."""
    pytest.importorskip("pytriton", reason="nvidia-pytriton is installed in venv-triton (scripts/test)")
    from tests.support.triton_server import TritonServer

    server = TritonServer(triton_runtime_container, tmp_path_factory.mktemp("triton"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    """One real control plane on loopback for the session (embedded/control_plane.py): kube-apiserver,
    controller-manager, scheduler and etcd, with kwok's fake GKE-like system and GPU nodes Ready. Skips when
    its parts are not built."""
    from embedded import control_plane as cp

    reason = cp.unavailable()
    if reason:
        pytest.skip(reason)
    plane = cp.ControlPlane(tmp_path_factory.mktemp("control-plane"))
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def pulumi_mocks() -> OfflineRun:
    return OfflineRun()


@pytest.fixture
def dev_config() -> dict[str, Any]:
    return deployable_config(ROOT / "Pulumi.dev.yaml")


@pytest.fixture(scope="session")
def prometheus_and_triton(triton_runtime_container, tmp_path_factory):
    """A real Prometheus (scripts/install-prometheus) on a loopback port, scraping every second a fresh Triton
    (the runtime's container plus catalog.triton_metrics.TRITON_METRICS_ARGS where the runtime lacks them)
    and simulated GKE DCGM and kube-state-metrics pages, with GMP's target labels (tests/support/prometheus_server.py).

    Both start together, so Prometheus's first target sync (5 s after start in Prometheus 2.42) overlaps
    Triton's start. A fresh Triton's counters are 0 at the first scrape, so every counter's increase() is
    extrapolated alike and ratios of increases are exact."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (scripts/install-prometheus installs Debian's package as root)")
    pytest.importorskip("pytriton", reason="nvidia-pytriton is installed in venv-triton (scripts/test)")
    from catalog.triton_metrics import TRITON_METRICS_ARGS
    from tests.support.prometheus_server import PrometheusServer, StaticPages, gmp_like_targets, simulated_pages
    from tests.support.triton_server import TritonServer

    container = copy.copy(triton_runtime_container)
    container.args = [*container.args, *(arg for arg in TRITON_METRICS_ARGS if arg not in container.args)]
    triton = TritonServer(container, tmp_path_factory.mktemp("triton-metrics"))
    metrics_port = next(p.container_port for p in container.ports if p.name == "metrics")
    pages = StaticPages(simulated_pages())
    targets = gmp_like_targets(triton.url(metrics_port).removeprefix("http://"), pages.address)
    prometheus = PrometheusServer(tmp_path_factory.mktemp("prometheus"), targets)
    try:
        pages.start()
        prometheus.start()
        triton.start()
        yield prometheus, triton
    finally:  # side by side: Triton's graceful shutdown alone takes seconds
        with ThreadPoolExecutor() as stopping:
            for stop in (triton.stop, prometheus.stop, pages.stop):
                stopping.submit(stop)
