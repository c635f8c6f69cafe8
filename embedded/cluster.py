"""The embedded cluster: a real control plane (embedded/control_plane.py) with kwok's GPU nodes, the harness's own
system node whose pods run as the locally built cert-manager, KServe and KEDA (embedded/system_node.py), and the
egress proxy that routes the API server's webhook and aggregated-API dials to them (embedded/egress.py).

    python -m kserve_triton cluster up [--dir D] [--stack NAME]    start it (GPU nodes shaped like the stack's)
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
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from embedded.control_plane import ControlPlane, FakeNode, _alive
from embedded.egress import EgressProxy
from embedded.system_node import SystemNode, system_node

CONTEXT = "kserve-triton-embedded"
SYSTEM_NODE = system_node()


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

    def up(self, gpu_nodes: Iterable[FakeNode], timeout: float = 180.0) -> dict[str, float]:
        """Start the control plane with `gpu_nodes` (kwok's), then the supervisor, and wait for every node."""
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
        timings["ready"] = time.monotonic() - started
        return timings

    def down(self, timeout: float = 30.0) -> None:
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
