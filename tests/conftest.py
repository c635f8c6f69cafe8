"""Shared test set-up: run the program (or one component) under Pulumi's mocks, one run per test.

The mock harness itself lives in `kserve_triton/offline.py`, which `python -m kserve_triton render`
uses too."""

from __future__ import annotations

import copy
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kserve_triton.offline import ROOT, OfflineRun, is_secret, stack_config, unwrap_secret
from kserve_triton.references import default_cache_dir

__all__ = [
    "PROJECT_OVERRIDE",
    "ROOT",
    "STACK_FILES",
    "TEST_PROJECT",
    "deployable_config",
    "is_secret",
    "shared_dir",
    "shared_missing",
    "stack_config",
    "unwrap_secret",
]

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
TEST_PROJECT = "example-project"
"""The GCP project the tests give GKE stacks, as a user does with `pulumi config set gcp:project`."""
PROJECT_OVERRIDE = {"gcp:project": TEST_PROJECT}


def deployable_config(stack_file: Path) -> dict[str, Any]:
    """A stack file's config as it is after its one required step: GKE stacks get a project."""
    config = stack_config(stack_file)
    cluster = config.get("kserve-triton:cluster") or {}
    if "existing" not in cluster and "gcp:project" not in config:
        config = {**config, **PROJECT_OVERRIDE}
    return config


def shared_dir() -> Path | None:
    """The upstream reference files (KServe CRDs, chart values, charts): $KSERVE_TRITON_SHARED when it is set
    (then only it), else `../shared` beside the checkout, else the cache `scripts/fetch-references` fills
    (`kserve_triton.references.default_cache_dir()`); None when there is none."""
    explicit = os.environ.get("KSERVE_TRITON_SHARED")
    candidates = [Path(explicit)] if explicit else [ROOT.parent / "shared", default_cache_dir()]
    return next((candidate for candidate in candidates if candidate.is_dir()), None)


def shared_missing(what: str) -> str:
    """The skip reason of a test that needs `what` from the reference files when `shared_dir()` is None."""
    explicit = os.environ.get("KSERVE_TRITON_SHARED")
    if explicit:
        return f"{what}: KSERVE_TRITON_SHARED={explicit} is not a directory (scripts/fetch-references DIR fills one)"
    return f"{what}: not in ../shared nor in {default_cache_dir()}: run scripts/fetch-references"


def runtime_container(**overrides):
    """The kserve-container of the kserve-tritonserver runtime as the program declares it for a 25.01 image on a
    CPU-only test host; `overrides` change single TritonRuntimeArgs fields."""
    from catalog.gcp import GpuShare
    from components.triton_runtime import TritonRuntimeArgs, runtime_spec

    args = dict(
        image="nvcr.io/nvidia/tritonserver:25.01-py3",
        per_gpu=GpuShare(1000, 2048),
        gpu=None,
        shm_size="1Gi",
        startup_timeout_seconds=900,
        kserve_controller=None,
    )
    (container,) = runtime_spec(TritonRuntimeArgs(**(args | overrides))).containers
    return container


@pytest.fixture(scope="session")
def triton_runtime_container():
    """The kserve-container of the kserve-tritonserver runtime, as the program declares it."""
    return runtime_container()


@pytest.fixture(scope="session")
def triton_server(triton_runtime_container, tmp_path_factory):
    """A real tritonserver running the runtime's container args (see tests/triton_server.py)."""
    pytest.importorskip("pytriton", reason="nvidia-pytriton is installed in venv-triton (scripts/test)")
    from triton_server import TritonServer

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
    and simulated GKE DCGM and kube-state-metrics pages, with GMP's target labels (tests/prometheus_server.py).

    Both start together, so Prometheus's first target sync (5 s after start in Prometheus 2.42) overlaps
    Triton's start. A fresh Triton's counters are 0 at the first scrape, so every counter's increase() is
    extrapolated alike and ratios of increases are exact."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (scripts/install-prometheus installs Debian's package as root)")
    pytest.importorskip("pytriton", reason="nvidia-pytriton is installed in venv-triton (scripts/test)")
    from prometheus_server import PrometheusServer, StaticPages, gmp_like_targets, simulated_pages
    from triton_server import TritonServer

    from catalog.triton_metrics import TRITON_METRICS_ARGS

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
