"""What the end-to-end suite stands on: the embedded cluster with the stack's GPU nodes and a Prometheus of its own,
the real Pulumi engine on it, reading the cluster as its API server answers, and a metrics page whose counters grow
at the rates a test sets (the model pods are simulated, so their Triton metrics are too)."""

from __future__ import annotations

import copy
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from embedded import control_plane, engine, parts
from embedded.cluster import EmbeddedCluster, gpu_nodes_for
from embedded.stand_ins import PARTS as STAND_IN_PARTS
from kserve_triton.cluster import stack_settings
from tests.support.stacks import ROOT

STACK = "embedded"
PROJECT = "kserve-triton"


def unavailable() -> str | None:
    """Why the embedded cluster cannot run here (the suite's skip reason), or None."""
    reason = control_plane.unavailable() or engine.unavailable()
    if reason:
        return reason
    missing = [p.name for p in parts.parts(list(STAND_IN_PARTS)) if not p.built()]
    return f"parts not built: run python3 -m embedded.parts build {' '.join(missing)}" if missing else None


def stack_file_config(stack: str = STACK) -> dict[str, Any]:
    """The stack file's `config:` as written (namespaced keys)."""
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def with_changes(prometheus_url: str, **settings: Any) -> dict[str, Any]:
    """The embedded stack's config with whole settings replaced (`inferenceServices=[...]`, `triton={...}`), and
    KEDA pointed at the test's Prometheus."""
    config = copy.deepcopy(stack_file_config())
    config[f"{PROJECT}:kserve"] = {**config[f"{PROJECT}:kserve"], "prometheusUrl": prometheus_url}
    for key, value in settings.items():
        config[f"{PROJECT}:{key}"] = value
    return config


def model(name: str = "torchscript-cifar10", namespace: str = "models", **fields: Any) -> dict[str, Any]:
    """An InferenceService setting like the embedded stack's own, with `fields` changed."""
    (base,) = stack_file_config()[f"{PROJECT}:inferenceServices"]
    merged = {**copy.deepcopy(base), "name": name, "namespace": namespace, **fields}
    return {key: value for key, value in merged.items() if value is not None}  # None: leave the setting out


class Kube:
    """Reads (and dry-runs) through the API server as its admin."""

    def __init__(self, cluster: EmbeddedCluster):
        self.plane = cluster.plane

    def get(self, path: str) -> dict[str, Any] | None:
        return self.plane.api("GET", path)

    def items(self, path: str) -> list[dict[str, Any]]:
        return (self.get(path) or {}).get("items", [])

    def raw(self, method: str, path: str, body: Any = None, content_type: str = "application/json"):
        """(status, decoded answer) without raising on a refusal."""
        status, data = self.plane._raw(method, path, body, content_type)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode(errors="replace")

    def served_kinds(self, api_version: str) -> dict[str, tuple[str, bool]]:
        """Kind -> (plural, namespaced), from the API server's discovery of one group version."""
        path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        found = self.get(path) or {"resources": []}
        return {r["kind"]: (r["name"], r["namespaced"]) for r in found["resources"] if "/" not in r["name"]}

    def path_of(self, obj: dict[str, Any]) -> str | None:
        """The object's path on the API server, or None when its kind is not served there."""
        kinds = self.served_kinds(obj["apiVersion"])
        if obj["kind"] not in kinds:
            return None
        plural, namespaced = kinds[obj["kind"]]
        base = f"/api/{obj['apiVersion']}" if "/" not in obj["apiVersion"] else f"/apis/{obj['apiVersion']}"
        scope = f"/namespaces/{obj['metadata']['namespace']}" if namespaced else ""
        return f"{base}{scope}/{plural}/{obj['metadata']['name']}"

    def apply(self, obj: dict[str, Any], path: str | None = None, dry_run: bool = False) -> tuple[int, Any]:
        """Server-side apply (forced, field manager `e2e`); with `dry_run` every admission webhook and validation
        runs and nothing is stored."""
        query = {"fieldManager": "e2e", "force": "true", **({"dryRun": "All"} if dry_run else {})}
        target = path or self.path_of(obj)
        assert target is not None, f"{obj['kind']} is not served"
        return self.raw("PATCH", f"{target}?{urllib.parse.urlencode(query)}", obj, "application/apply-patch+yaml")

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 120.0, every: float = 1.0) -> Any:
        """`check()` until it is truthy; its value. Fails naming `what` and the last value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {value!r})")


def condition(obj: dict[str, Any] | None, kind: str) -> str | None:
    for entry in ((obj or {}).get("status") or {}).get("conditions") or []:
        if entry.get("type") == kind:
            return entry.get("status")
    return None


def start_cluster(directory: Path) -> EmbeddedCluster:
    cluster = EmbeddedCluster(directory)
    cluster.up(gpu_nodes_for(stack_settings(STACK)))
    return cluster


class CounterPage:
    """A Prometheus exposition page on loopback: `nv_inference_request_success` of the pods a test names, each
    counter growing at the rate set for its pod (a Triton serving that many requests/s)."""

    def __init__(self) -> None:
        self.rates: dict[str, float] = {}
        self._totals: dict[str, float] = {}
        self._last = time.monotonic()
        self._lock = threading.Lock()
        page = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                body = page.render(urllib.parse.unquote(self.path.removeprefix("/pods/"))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def set_rate(self, pod: str, per_second: float) -> None:
        with self._lock:
            self._advance()
            self.rates[pod] = per_second
            self._totals.setdefault(pod, 0.0)

    def _advance(self) -> None:
        now = time.monotonic()
        for pod, rate in self.rates.items():
            self._totals[pod] = self._totals.get(pod, 0.0) + rate * (now - self._last)
        self._last = now

    def render(self, pod: str) -> str:
        """One pod's page (`/pods/<pod>`), as its Triton's metrics port would serve it."""
        with self._lock:
            self._advance()
            total = self._totals.get(pod, 0.0)
        return (
            "# TYPE nv_inference_request_success counter\n"
            f'nv_inference_request_success{{model="cifar10",version="1"}} {total:.3f}\n'
        )

    def targets(self, namespace: str) -> list[dict[str, Any]]:
        """File discovery entries: one target per pod, labelled as a Kubernetes pod scrape usually is."""
        return [
            {
                "targets": [self.address],
                "labels": {"namespace": namespace, "pod": pod, "__metrics_path__": f"/pods/{pod}"},
            }
            for pod in sorted(self._totals)
        ]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
