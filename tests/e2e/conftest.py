"""One embedded cluster for the whole end-to-end run, with a Prometheus, the real Pulumi engine on it, and reading
the cluster as its API server answers (tests/support/embedded.py)."""

from __future__ import annotations

import shutil

import pytest

from embedded.engine import Engine
from tests.support.embedded import CounterPage, Kube, start_cluster, unavailable
from tests.support.triton_server import free_ports


@pytest.fixture(scope="session")
def embedded_cluster(tmp_path_factory):
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    cluster = start_cluster(tmp_path_factory.mktemp("embedded"))
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def prometheus(embedded_cluster):
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (scripts/install-prometheus installs Debian's package)")
    (port,) = free_ports(1)
    server = embedded_cluster.prometheus(port)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def engine(embedded_cluster):
    return Engine(embedded_cluster.dir / "engine", embedded_cluster.kubeconfig)


@pytest.fixture(scope="session")
def kube(embedded_cluster):
    return Kube(embedded_cluster)


@pytest.fixture(scope="session")
def counters():
    page = CounterPage()
    yield page
    page.stop()
