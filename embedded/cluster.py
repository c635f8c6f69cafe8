"""The embedded cluster: a real control plane (embedded/control_plane.py) with kwok's GPU nodes, the harness's own
system node whose pods run as the locally built cert-manager, KServe and KEDA (embedded/system_node.py), and the
egress proxy that routes the API server's webhook and aggregated-API dials to them (embedded/egress.py).

    python -m kserve_triton cluster up [--dir D] [--stack NAME] [--deploy]
                                    start it (GPU nodes shaped like the stack's), and with --deploy run the real
                                    `pulumi up` of the stack (default `embedded`) until its models are Ready
    python -m kserve_triton cluster status [--dir D]               what runs, and where
    python -m kserve_triton cluster down [--dir D]                 stop everything

`up` returns once the API server answers and every node is Ready; `KUBECONFIG=<dir>/kubeconfig` then reaches it
with the context `kserve-triton-embedded`. The control plane runs as its own processes; the system node and the
egress proxy run in one supervisor process (`python -m embedded.cluster serve`), which stops the stand-in
processes it started when it stops. Everything listens on 127.0.0.1 (a few stand-ins' ports have no host flag and
bind every address, at free ports), and nothing dials anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedded.control_plane import ZONE, ControlPlane, FakeNode, _alive
from embedded.egress import EgressProxy
from embedded.system_node import SystemNode, system_node

if TYPE_CHECKING:
    from settings import StackSettings

CONTEXT = "kserve-triton-embedded"
SYSTEM_NODE = system_node()


MAX_GPU_NODES = 8
GPU_TAINT = "nvidia.com/gpu=present:NoSchedule"  # what GKE puts on its GPU nodes (and the program tolerates)


def gpu_nodes_for(stack: StackSettings) -> list[FakeNode]:
    """kwok nodes shaped like the stack's GPU nodes (its pool, or an existing cluster's `gpuNodes`): their
    accelerator label, taint, GPUs and machine size, as many as its InferenceServices can use at their maximum
    (at most MAX_GPU_NODES)."""
    from catalog.gcp import MACHINE_TYPES
    from catalog.gpu_placement import ACCELERATOR_LABEL

    pool, existing = stack.gpu_node_pool, stack.cluster.existing
    described = existing.gpu_nodes if existing is not None else None
    if pool is not None:
        accelerator, label, per_node, machine, tainted = (
            pool.accelerator_type, ACCELERATOR_LABEL, pool.gpus_per_node, pool.machine_type, True
        )  # fmt: skip
    elif described is not None:
        accelerator, label, per_node, machine, tainted = (
            described.accelerator_type, described.accelerator_label, described.gpus_per_node,
            described.machine_type, described.tainted,
        )  # fmt: skip
    else:
        return []
    wanted = sum(isvc.max_replicas * isvc.gpus for isvc in stack.inference_services)
    count = min(max(math.ceil(wanted / per_node), 1), MAX_GPU_NODES)
    shape = MACHINE_TYPES.get(machine or "")
    capacity = {"nvidia.com/gpu": str(per_node), "pods": "110"}
    if shape is not None:
        capacity |= {"cpu": str(shape.vcpus), "memory": f"{int(shape.memory_gib * 1024)}Mi"}
    return [
        FakeNode(
            name=f"gpu-{accelerator}-{index}",
            labels={
                label: accelerator,
                "cloud.google.com/gke-nodepool": "gpu",
                "topology.kubernetes.io/zone": ZONE,
                **({"node.kubernetes.io/instance-type": machine} if machine else {}),
            },
            taints=(GPU_TAINT,) if tainted else (),
            capacity=capacity,
            pod_cidr=f"100.64.{index}.0/24",
        )
        for index in range(count)
    ]


class Prometheus:
    """A real Prometheus on loopback standing in for the one a user runs (`kserve.prometheusUrl`): it scrapes the
    targets written to `targets.json` (file discovery) every `scrape_interval` (1 s unless given)."""

    def __init__(self, directory: Path, port: int, scrape_interval: str = "1s"):
        self.dir, self.port, self.scrape_interval = directory, port, scrape_interval

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def targets_file(self) -> Path:
        return self.dir / "targets.json"

    def start(self, timeout: float = 30.0) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed (scripts/install-prometheus installs Debian's package)")
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.targets_file.exists():
            self.write_targets([])
        config = {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "embedded",
                    "file_sd_configs": [{"files": [str(self.targets_file)], "refresh_interval": "1s"}],
                }
            ],
        }
        (self.dir / "prometheus.yml").write_text(json.dumps(config))
        log = open(self.dir / "prometheus.log", "ab")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            [binary, f"--config.file={self.dir / 'prometheus.yml'}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        (self.dir / "pid").write_text(str(process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                if answer.status == 200:
                    return
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited {process.returncode}: see {self.dir / 'prometheus.log'}")
            time.sleep(0.2)
        raise RuntimeError(f"prometheus did not become ready on {self.url}")

    def write_targets(self, targets: list[dict[str, Any]]) -> None:
        """File discovery's format: [{"targets": ["127.0.0.1:PORT"], "labels": {...}}]."""
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(targets))
        tmp.replace(self.targets_file)

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            pid = int((self.dir / "pid").read_text())
            if _alive(pid, str(self.dir)):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 10
                while _alive(pid, str(self.dir)) and time.monotonic() < deadline:
                    time.sleep(0.1)
            (self.dir / "pid").unlink()

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read())["data"]["result"]


def prometheus_port(stack: StackSettings) -> int | None:
    """The loopback port of the stack's kserve.prometheusUrl, when it names one here."""
    url = stack.kserve.prometheus_url
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    return parts.port if parts.hostname in ("127.0.0.1", "localhost") and parts.port else None


def default_dir() -> Path:
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / "kserve-triton" / "cluster"


class EmbeddedCluster:
    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.dir = Path(directory or default_dir()).resolve()
        self.plane = ControlPlane(self.dir / "control-plane", egress_socket=self.dir / "egress.sock")

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    def prometheus(self, port: int = 19090) -> Prometheus:
        return Prometheus(self.dir / "prometheus", port)

    @property
    def _pid_file(self) -> Path:
        return self.dir / "supervisor.pid"

    @property
    def _status_file(self) -> Path:
        return self.dir / "supervisor.json"

    def supervisor_pid(self) -> int | None:
        try:
            pid = int(self._pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid, str(self.dir)) else None

    def running(self) -> bool:
        return self.plane.running() or self.supervisor_pid() is not None

    def up(
        self, gpu_nodes: Iterable[FakeNode], timeout: float = 180.0, prometheus_port: int | None = None
    ) -> dict[str, float]:
        """Start the control plane with `gpu_nodes` (kwok's), then the supervisor, and wait for every node; with
        `prometheus_port`, a Prometheus there too."""
        if self.running():
            raise RuntimeError(f"an embedded cluster already runs in {self.dir}: `cluster down` first")
        started = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        gpu_nodes = list(gpu_nodes)
        self.plane.start(nodes=gpu_nodes, timeout=timeout)
        timings = {"control plane": time.monotonic() - started}
        log = open(self.dir / "supervisor.log", "ab")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            [sys.executable, "-m", "embedded.cluster", "serve", "--dir", str(self.dir)],
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._pid_file.write_text(str(process.pid))
        try:
            self.plane.wait_nodes_ready([SYSTEM_NODE.name], timeout=max(timeout - (time.monotonic() - started), 30))
        except BaseException:
            self.down()
            raise
        self._write_kubeconfig()
        if prometheus_port is not None:
            self.prometheus(prometheus_port).start()
        timings["ready"] = time.monotonic() - started
        return timings

    def down(self, timeout: float = 30.0) -> None:
        for pid_file in (self.dir / "prometheus").glob("pid"):
            Prometheus(pid_file.parent, 0).stop()
        pid = self.supervisor_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid, str(self.dir)) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid, str(self.dir)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        self.plane.stop()
        with contextlib.suppress(FileNotFoundError):
            self._pid_file.unlink()

    def status(self) -> dict[str, Any]:
        status = self.plane.status()
        status["supervisor"] = {"pid": self.supervisor_pid()}
        with contextlib.suppress(OSError, ValueError):
            status["pods"] = json.loads(self._status_file.read_text())
        status["kubeconfig"] = str(self.kubeconfig)
        return status

    def _write_kubeconfig(self) -> None:
        config = json.loads(self.plane.kubeconfig.read_text())
        config["contexts"][0]["name"] = CONTEXT
        config["current-context"] = CONTEXT
        self.kubeconfig.write_text(json.dumps(config, indent=1))
        self.kubeconfig.chmod(0o600)


def serve(directory: Path) -> None:
    """The supervisor: the system node's agent and the egress proxy, until SIGTERM."""
    cluster = EmbeddedCluster(directory)
    node = SystemNode(cluster.plane, SYSTEM_NODE, cluster.dir / "system-node")
    proxy = EgressProxy(cluster.plane.egress_socket, node.route)
    proxy.start()
    signal.signal(signal.SIGTERM, lambda *_: node.stop())
    signal.signal(signal.SIGINT, lambda *_: node.stop())
    done = threading.Event()

    def report() -> None:
        while not done.wait(1.0):
            tmp = cluster._status_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(node.report(), indent=1))
            tmp.replace(cluster._status_file)

    threading.Thread(target=report, daemon=True).start()
    try:
        node.run()
    finally:
        done.set()
        proxy.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m embedded.cluster")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("serve", help="run the supervisor (started by `up`)")
    command.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(Path(args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
