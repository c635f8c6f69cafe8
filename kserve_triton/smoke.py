"""Smoke-test a Triton InferenceService over KServe's V2 (Open Inference) protocol, on HTTP and gRPC.

Checks, in order: server live and ready, model ready, model metadata, one inference over HTTP (the user's
request, or zeros of the right shape and datatype from the metadata) whose outputs must match the metadata,
the same over gRPC (tritonclient), and the Triton metrics endpoint. Any failure says why and makes the
command exit non-zero.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

# V2 datatypes -> numpy dtype names (BYTES carries Python bytes objects).
DATATYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}


class SmokeCheckError(Exception):
    """A check failed; the message is the reason shown to the user."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    milliseconds: int


@dataclass
class Report:
    target: str
    model: str | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_json(self) -> str:
        return json.dumps({"ok": self.ok, **asdict(self)}, indent=2)

    def as_text(self) -> str:
        lines = [f"Smoke test of {self.target}" + (f" (model {self.model})" if self.model else "")]
        width = max((len(c.name) for c in self.checks), default=0)
        for check in self.checks:
            status = "PASS" if check.ok else "FAIL"
            lines.append(f"  {status}  {check.name.ljust(width)}  {check.detail} ({check.milliseconds} ms)")
        failed = sum(not c.ok for c in self.checks)
        verdict = "all checks passed" if self.ok else f"{failed} of {len(self.checks)} checks failed"
        lines.append(f"smoke test: {verdict}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    http_url: str
    grpc_address: str | None
    metrics_url: str | None


# --- HTTP ------------------------------------------------------------------------------------------------


def _http(method: str, url: str, body: dict | None, timeout: float) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, ConnectionRefusedError):
            raise SmokeCheckError(f"connection refused at {url} (is the server or the port-forward running?)") from None
        raise SmokeCheckError(f"cannot reach {url}: {reason}") from None
    except TimeoutError:
        raise SmokeCheckError(f"no answer from {url} within {timeout:g} s") from None
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def _error_text(body: Any) -> str:
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return str(body)[:300] if body else "no body"


# --- requests and responses ------------------------------------------------------------------------------


def zeros_request(metadata: dict[str, Any]) -> dict[str, Any]:
    """A V2 request of zeros shaped by the model metadata (variable dimensions become 1)."""
    inputs = []
    for tensor in metadata.get("inputs") or []:
        datatype = tensor["datatype"]
        if datatype not in DATATYPES:
            raise SmokeCheckError(f"cannot generate input {tensor['name']} of datatype {datatype}; pass --request")
        shape = [1 if dim < 0 else int(dim) for dim in tensor["shape"]]
        count = math.prod(shape)
        value: Any = {"BOOL": False, "BYTES": ""}.get(datatype, 0)
        inputs.append({"name": tensor["name"], "shape": shape, "datatype": datatype, "data": [value] * count})
    if not inputs:
        raise SmokeCheckError("the model metadata declares no inputs; pass --request")
    return {"inputs": inputs}


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [item for element in data for item in _flatten(element)]
    return [data]


def check_outputs(outputs: list[dict[str, Any]], metadata: dict[str, Any], requested: list[str] | None) -> str:
    """Compare response outputs with the model metadata: names, datatypes, shapes, element counts."""
    declared = {t["name"]: t for t in metadata.get("outputs") or []}
    got = {o["name"]: o for o in outputs}
    for name in requested or declared:
        if name not in got:
            raise SmokeCheckError(f"output {name} is missing from the response (got {sorted(got)})")
    for name, output in got.items():
        expected = declared.get(name)
        if expected is None:
            raise SmokeCheckError(f"output {name} is not declared by the model")
        if output["datatype"] != expected["datatype"]:
            raise SmokeCheckError(
                f"output {name} has datatype {output['datatype']}, model declares {expected['datatype']}"
            )
        shape, want = list(output["shape"]), list(expected["shape"])
        if len(shape) != len(want) or any(w >= 0 and s != w for s, w in zip(shape, want, strict=True)):
            raise SmokeCheckError(f"wrong output shape: {name} is {shape}, model declares {want}")
        if "data" in output and len(_flatten(output["data"])) != math.prod(shape):
            raise SmokeCheckError(f"output {name} has {len(_flatten(output['data']))} values for shape {shape}")
    return ", ".join(f"{n} {got[n]['datatype']}{list(got[n]['shape'])}" for n in sorted(got))


# --- the checks ------------------------------------------------------------------------------------------


class SmokeTest:
    def __init__(self, target: Target, model: str | None, request: dict | None, timeout: float = 10.0):
        self.target = target
        self.model = model
        self.request = request
        self.timeout = timeout
        self.report = Report(target=target.http_url)
        self.metadata: dict[str, Any] = {}
        self.http_outputs: list[dict[str, Any]] = []

    def _url(self, path: str) -> str:
        return self.target.http_url.rstrip("/") + path

    def _check(self, name: str, step: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail, ok = step(), True
        except SmokeCheckError as failure:
            detail, ok = str(failure), False
        except Exception as error:  # a broken server must give a report, not a traceback
            detail, ok = f"{type(error).__name__}: {error}", False
        self.report.checks.append(Check(name, ok, detail, int((time.monotonic() - started) * 1000)))
        return ok

    def run(self) -> Report:
        if not self._check("server live (HTTP)", self._live):
            return self.report
        self._check("server ready (HTTP)", self._ready)
        if self.model is None and not self._check("find the model (HTTP)", self._find_model):
            return self.report
        self.report.model = self.model
        if not self._check("model ready (HTTP)", self._model_ready):
            return self.report
        if not self._check("model metadata (HTTP)", self._model_metadata):
            return self.report
        self._check("inference (HTTP)", self._http_infer)
        if self.target.grpc_address:
            self._check("inference (gRPC)", self._grpc)
        if self.target.metrics_url:
            self._check("metrics", self._metrics)
        return self.report

    def _live(self) -> str:
        status, body = _http("GET", self._url("/v2/health/live"), None, self.timeout)
        if status != 200:
            raise SmokeCheckError(f"/v2/health/live answered HTTP {status}: {_error_text(body)}")
        return "GET /v2/health/live: 200"

    def _ready(self) -> str:
        status, _ = _http("GET", self._url("/v2/health/ready"), None, self.timeout)
        if status != 200:
            raise SmokeCheckError(f"server not ready: /v2/health/ready answered HTTP {status} (models still loading?)")
        return "GET /v2/health/ready: 200"

    def _find_model(self) -> str:
        status, body = _http("POST", self._url("/v2/repository/index"), {}, self.timeout)
        if status != 200 or not isinstance(body, list):
            raise SmokeCheckError(f"cannot list models (HTTP {status}: {_error_text(body)}); pass --model")
        ready = sorted({m["name"] for m in body if m.get("state") == "READY"})
        if len(ready) != 1:
            raise SmokeCheckError(f"{len(ready)} ready models ({', '.join(ready) or 'none'}); pass --model")
        self.model = ready[0]
        return f"the one ready model is {self.model}"

    def _model_ready(self) -> str:
        status, body = _http("GET", self._url(f"/v2/models/{self.model}/ready"), None, self.timeout)
        if status != 200:
            raise SmokeCheckError(f"model {self.model} is not ready (HTTP {status}: {_error_text(body)})")
        return f"GET /v2/models/{self.model}/ready: 200"

    def _model_metadata(self) -> str:
        status, body = _http("GET", self._url(f"/v2/models/{self.model}"), None, self.timeout)
        if status != 200 or not isinstance(body, dict):
            raise SmokeCheckError(f"no metadata for model {self.model} (HTTP {status}: {_error_text(body)})")
        self.metadata = body

        def describe(tensors):
            return ", ".join(f"{t['name']} {t['datatype']}{t['shape']}" for t in tensors or [])

        inputs, outputs = describe(body.get("inputs")), describe(body.get("outputs"))
        return f"platform {body.get('platform', '?')}; in: {inputs}; out: {outputs}"

    def _http_infer(self) -> str:
        if self.request is None:
            self.request = zeros_request(self.metadata)
        status, body = _http("POST", self._url(f"/v2/models/{self.model}/infer"), self.request, self.timeout)
        if status != 200 or not isinstance(body, dict):
            raise SmokeCheckError(f"inference failed (HTTP {status}): {_error_text(body)}")
        self.http_outputs = body.get("outputs") or []
        requested = [o["name"] for o in self.request.get("outputs") or []] or None
        return check_outputs(self.http_outputs, self.metadata, requested)

    def _grpc(self) -> str:
        import numpy as np
        import tritonclient.grpc as grpcclient
        from tritonclient.utils import InferenceServerException

        assert self.request is not None
        try:
            client = grpcclient.InferenceServerClient(url=self.target.grpc_address)
            if not client.is_server_live(client_timeout=self.timeout):
                raise SmokeCheckError("gRPC ServerLive answered false")
            if not client.is_model_ready(self.model, client_timeout=self.timeout):
                raise SmokeCheckError(f"gRPC ModelReady answered false for {self.model}")
            inputs = []
            for tensor in self.request["inputs"]:
                dtype = DATATYPES.get(tensor["datatype"], "object")
                values = _flatten(tensor["data"])
                if tensor["datatype"] == "BYTES":
                    values = [v.encode() if isinstance(v, str) else v for v in values]
                array = np.array(values, dtype=dtype).reshape(tensor["shape"])
                infer_input = grpcclient.InferInput(tensor["name"], list(tensor["shape"]), tensor["datatype"])
                infer_input.set_data_from_numpy(array)
                inputs.append(infer_input)
            result = client.infer(self.model, inputs, client_timeout=self.timeout)
        except InferenceServerException as error:
            message = error.message()
            if "failed to connect" in message.lower() or "unavailable" in str(error.status()).lower():
                raise SmokeCheckError(f"cannot reach gRPC at {self.target.grpc_address}: {message}") from None
            raise SmokeCheckError(f"gRPC inference failed: {message}") from None
        response = result.get_response(as_json=True)
        outputs = [
            {"name": o["name"], "datatype": o["datatype"], "shape": [int(d) for d in o.get("shape", [])]}
            for o in response.get("outputs", [])
        ]
        summary = check_outputs(outputs, self.metadata, None)
        for http_output in self.http_outputs:
            grpc_values = result.as_numpy(http_output["name"])
            if grpc_values is None or list(grpc_values.shape) != list(http_output["shape"]):
                raise SmokeCheckError(f"gRPC and HTTP disagree on the shape of {http_output['name']}")
            if http_output["datatype"] != "BYTES" and not np.allclose(
                grpc_values.astype("float64").ravel(), np.array(_flatten(http_output["data"]), dtype="float64")
            ):
                raise SmokeCheckError(f"gRPC and HTTP return different values for {http_output['name']}")
        return f"{summary}; same as HTTP"

    def _metrics(self) -> str:
        assert self.target.metrics_url is not None
        try:
            with urllib.request.urlopen(self.target.metrics_url, timeout=self.timeout) as response:
                text = response.read().decode()
        except urllib.error.URLError as error:
            raise SmokeCheckError(f"cannot read metrics at {self.target.metrics_url}: {error.reason}") from None
        pattern = rf'^nv_inference_request_success\{{[^}}]*model="{re.escape(self.model or "")}"[^}}]*\}} (\S+)$'
        counts = [float(m) for m in re.findall(pattern, text, flags=re.M)]
        if not counts:
            raise SmokeCheckError(
                f"no nv_inference_request_success for model {self.model} at {self.target.metrics_url}"
            )
        return f"nv_inference_request_success = {int(sum(counts))}"


# --- port-forward ----------------------------------------------------------------------------------------

# The predictor Service: port 80 -> Triton's HTTP port; the other declared ports keep their numbers.
SERVICE_PORTS = {"http": 80, "grpc": 9000, "metrics": 8002}


class PortForward:
    """`kubectl port-forward svc/<isvc>-predictor` to free local ports, for as long as the `with` lasts."""

    def __init__(self, isvc: str, namespace: str, context: str | None, kubectl: str = "kubectl", timeout: float = 30):
        self.command = [kubectl, "port-forward", "--address", "127.0.0.1", "-n", namespace, f"svc/{isvc}-predictor"]
        if context:
            self.command[1:1] = ["--context", context]
        self.command += [f":{port}" for port in SERVICE_PORTS.values()]
        self.timeout = timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Target:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        local: dict[int, int] = {}
        deadline = time.monotonic() + self.timeout
        assert self.process.stdout is not None
        while len(local) < len(SERVICE_PORTS):
            line = self.process.stdout.readline()
            if not line or time.monotonic() > deadline:
                self.__exit__()
                raise SmokeCheckError(f"kubectl port-forward did not start: {line.strip() or 'no output'}")
            match = re.search(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
            if match:
                local[len(local)] = int(match[1])
        http, grpc, metrics = (local[i] for i in range(len(SERVICE_PORTS)))
        return Target(f"http://127.0.0.1:{http}", f"127.0.0.1:{grpc}", f"http://127.0.0.1:{metrics}/metrics")

    def __exit__(self, *_: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def target_from_url(url: str, grpc: str | None, metrics: str | None) -> Target:
    """Defaults: gRPC on port 9000 and metrics on port 8002 of the same host, as the runtime declares them."""
    host = urlsplit(url).hostname or "127.0.0.1"
    return Target(
        url,
        grpc if grpc is not None else f"{host}:9000",
        metrics if metrics is not None else f"http://{host}:8002/metrics",
    )
