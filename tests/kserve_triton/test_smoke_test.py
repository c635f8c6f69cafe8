"""`python -m kserve_triton smoke-test` against a real Triton server: it passes a healthy server and says
why it fails a stopped one, a wrong model and a wrong input shape."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from kserve_triton.__main__ import main
from tests.support.triton_server import free_ports

pytestmark = [pytest.mark.triton, pytest.mark.xdist_group("triton-server")]


def smoke(capsys, *args: str) -> tuple[int, str]:
    code = main(["smoke-test", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def server_args(server) -> list[str]:
    http, grpc, metrics = (server.local_port[p] for p in (8080, 9000, 8002))
    return [
        "--url",
        f"http://127.0.0.1:{http}",
        "--grpc",
        f"127.0.0.1:{grpc}",
        "--metrics",
        f"http://127.0.0.1:{metrics}/metrics",
    ]


def test_passes_a_healthy_server_with_a_generated_request(triton_server, capsys):
    code, out = smoke(capsys, *server_args(triton_server))
    assert code == 0, out
    assert "model doubler" in out, "the only ready model is found without --model"
    for check in ("server live (HTTP)", "model ready (HTTP)", "inference (HTTP)", "inference (gRPC)", "metrics"):
        assert f"PASS  {check}" in out
    assert "smoke test: all checks passed" in out


def test_json_report_with_the_users_request(triton_server, capsys, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps({"inputs": [{"name": "INPUT0", "shape": [2, 4], "datatype": "FP32", "data": [1] * 8}]})
    )
    code, out = smoke(capsys, *server_args(triton_server), "--model", "doubler", "--request", str(request), "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    http = next(c for c in report["checks"] if c["name"] == "inference (HTTP)")
    assert http["detail"] == "OUTPUT0 FP32[2, 4]"


def test_a_stopped_server_fails_with_connection_refused(capsys):
    (port,) = free_ports(1)
    code, out = smoke(capsys, "--url", f"http://127.0.0.1:{port}")
    assert code == 1
    assert "FAIL  server live (HTTP)" in out and "connection refused" in out


def test_a_wrong_model_name_fails_as_not_ready(triton_server, capsys):
    code, out = smoke(capsys, *server_args(triton_server), "--model", "cifar10")
    assert code == 1
    assert "FAIL  model ready (HTTP)" in out and "model cifar10 is not ready" in out


def test_a_wrong_input_shape_fails_with_tritons_reason(triton_server, capsys, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps({"inputs": [{"name": "INPUT0", "shape": [1, 5], "datatype": "FP32", "data": [1] * 5}]})
    )
    code, out = smoke(capsys, *server_args(triton_server), "--request", str(request), "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    http = next(c for c in report["checks"] if c["name"] == "inference (HTTP)")
    assert not http["ok"] and "shape" in http["detail"] and "HTTP 400" in http["detail"]


def test_isvc_mode_port_forwards_with_kubectl(triton_server, capsys, tmp_path):
    """A stand-in kubectl prints what `kubectl port-forward` prints; the tool must use those ports."""
    http, grpc, metrics = (triton_server.local_port[p] for p in (8080, 9000, 8002))
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        f"#!{sys.executable}\n"
        "import sys, time\n"
        f"open({str(tmp_path / 'argv')!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        f"for local, remote in (({http}, 8080), ({grpc}, 9000), ({metrics}, 8002)):\n"
        "    print(f'Forwarding from 127.0.0.1:{local} -> {remote}', flush=True)\n"
        "time.sleep(60)\n"
    )
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    os.environ["PATH"] = f"{tmp_path}{os.pathsep}{os.environ['PATH']}"
    try:
        code, out = smoke(capsys, "--isvc", "doubler", "--namespace", "models", "--context", "kind-kserve")
    finally:
        os.environ["PATH"] = os.environ["PATH"].split(os.pathsep, 1)[1]
    assert code == 0, out
    assert (tmp_path / "argv").read_text() == (
        "--context kind-kserve port-forward --address 127.0.0.1 -n models svc/doubler-predictor :80 :9000 :8002"
    )
