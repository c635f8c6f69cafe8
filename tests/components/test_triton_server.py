"""The declared runtime, run for real: Triton started with the runtime's own container args answers the
probes, HTTP and gRPC inference and metrics on the ports the runtime declares."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
import urllib.request

import pytest

from components.triton_runtime import SPOT_GRACE_SECONDS, termination_grace_seconds
from tests.support.stacks import runtime_container
from tests.support.triton_server import TritonServer

# One group per server set, so `pytest -n` starts (and stops) the two sets side by side.
pytestmark = [pytest.mark.triton, pytest.mark.xdist_group("triton-server")]

REQUEST = {"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1.0, 2.0, 3.0, 4.0]}]}


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def declared(container, name: str) -> int:
    (port,) = [p.container_port for p in container.ports if p.name == name]
    return port


def test_only_the_model_store_ports_and_local_paths_differ_from_the_declared_args(triton_server):
    declared_args = triton_server.container.args
    local_args = triton_server.args[: len(declared_args)]
    changed = [(d, loc) for d, loc in zip(declared_args, local_args, strict=True) if d != loc]
    assert [d for d, _ in changed] == [
        "tritonserver",
        "--model-store=/mnt/models",
        "--grpc-port=9000",
        "--http-port=8080",
        "--metrics-port=8002",
    ]
    assert triton_server.args[len(declared_args) :] == [
        f"--backend-directory={triton_server.workdir / 'backends'}",
        "--http-address=127.0.0.1",
        "--grpc-address=127.0.0.1",
        "--metrics-address=127.0.0.1",
    ]


@pytest.mark.parametrize("probe", ["startup_probe", "readiness_probe", "liveness_probe"])
def test_probes_answer_on_the_port_and_path_they_declare(triton_server, probe):
    http_get = getattr(triton_server.container, probe).http_get
    assert http_get.port == declared(triton_server.container, "http")
    status, _ = get(triton_server.url(http_get.port, http_get.path))
    assert status == 200


def test_http_inference_on_the_declared_http_port(triton_server):
    port = declared(triton_server.container, "http")
    request = urllib.request.Request(
        triton_server.url(port, "/v2/models/doubler/infer"),
        data=json.dumps(REQUEST).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    (output,) = body["outputs"]
    assert (output["name"], output["shape"], output["data"]) == ("OUTPUT0", [1, 4], [2.0, 4.0, 6.0, 8.0])


def test_grpc_inference_on_the_declared_grpc_port(triton_server):
    import numpy as np
    import tritonclient.grpc as grpcclient

    port = triton_server.local_port[declared(triton_server.container, "grpc")]
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{port}")
    assert client.is_server_ready() and client.is_model_ready("doubler")
    infer_input = grpcclient.InferInput("INPUT0", [1, 4], "FP32")
    infer_input.set_data_from_numpy(np.array([[1, 2, 3, 4]], dtype=np.float32))
    result = client.infer("doubler", [infer_input])
    assert result.as_numpy("OUTPUT0").tolist() == [[2.0, 4.0, 6.0, 8.0]]


def test_metrics_on_the_declared_metrics_port(triton_server):
    status, text = get(triton_server.url(declared(triton_server.container, "metrics"), "/metrics"))
    assert status == 200
    assert 'nv_inference_request_success{model="doubler",version="1"}' in text.decode()


def test_with_a_request_in_flight_triton_stops_within_a_spot_pods_grace(tmp_path):
    """The runtime's --exit-timeout-secs for a spot pool: after SIGTERM Triton waits that long for an inference still
    running (here one that would take a minute), then exits, inside the 15 s a spot VM's pods get (Triton's default
    exit timeout, 30 s, would outlive it and end in a SIGKILL)."""
    container = runtime_container(termination_grace_seconds=termination_grace_seconds(spot=True))
    assert "--exit-timeout-secs=10" in container.args
    server = TritonServer(container, tmp_path, sleeper=True)
    server.start()
    try:
        request = urllib.request.Request(
            server.url(declared(container, "http"), "/v2/models/sleeper/infer"),
            data=json.dumps({"inputs": [{"name": "SECONDS", "shape": [1], "datatype": "FP32", "data": [60]}]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        in_flight = threading.Thread(target=lambda: _ignore_errors(request), daemon=True)
        in_flight.start()
        _wait_for_in_flight(server)
        stopping = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=SPOT_GRACE_SECONDS + 5)
        stopped_after = time.monotonic() - stopping
    finally:
        server.stop()
    log = server.log.read_text()
    assert 9 <= stopped_after < SPOT_GRACE_SECONDS, f"stopped after {stopped_after:.1f} s:\n{log[-2000:]}"


def _ignore_errors(request) -> None:
    with contextlib.suppress(OSError):  # the server goes away mid-request, as it should
        urllib.request.urlopen(request, timeout=90).read()


def _wait_for_in_flight(server, timeout: float = 10) -> None:
    """Until the sleeper is executing the request (it touches `started` in its model directory)."""
    started = server.model_repository / "sleeper" / "started"
    deadline = time.monotonic() + timeout
    while not started.exists():
        assert time.monotonic() < deadline, "the sleeper's request never started"
        time.sleep(0.1)


def test_the_cold_start_tool_finds_the_model_load_in_a_real_tritons_log(triton_server):
    """`python -m kserve_triton cold-start` times Triton's model load from its log: the markers it looks for are
    the ones this Triton writes (kubectl logs --timestamps adds the RFC 3339 time read, as prefixed here)."""
    from datetime import UTC, datetime, timedelta

    from kserve_triton.cluster_state import TRITON_LOADED, TRITON_LOADING, triton_loads

    lines = triton_server.log.read_text().splitlines()
    assert any(TRITON_LOADING.search(line) for line in lines), lines[:20]
    assert any(TRITON_LOADED.search(line) for line in lines), lines[:20]
    start = datetime(2025, 6, 12, 9, 16, 42, tzinfo=UTC)
    stamped = "\n".join(
        f"{(start + timedelta(milliseconds=i)).isoformat().replace('+00:00', 'Z')} {line}"
        for i, line in enumerate(lines)
    )
    began, finished, models = triton_loads(stamped)
    assert models == ["doubler"] and began is not None and finished is not None and began <= finished
