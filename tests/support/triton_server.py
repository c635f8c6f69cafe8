"""A real Triton server started with the container of the `kserve-tritonserver` runtime this program
declares: its args, ports and probe paths come from the typed resource, not from a copy.

The `tritonserver` binary is nvidia-pytriton's (CPU-capable, with the Python backend). Only what differs
between the NGC image in a pod and this machine is changed: the model store (`/mnt/models` in the pod), the
port numbers (the pod's are replaced by free local ports, one for one), the backend directory, and binding to
loopback only."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pulumi_kubernetes as k8s

DOUBLER_CONFIG = """name: "doubler"
backend: "python"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
"""

DOUBLER_MODEL = """import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            data = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            output = pb_utils.Tensor("OUTPUT0", (data * 2).astype(np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[output]))
        return responses
"""

# Sleeps as many seconds as its input says: a request that is still in flight when the server is told to stop.
SLEEPER_CONFIG = """name: "sleeper"
backend: "python"
max_batch_size: 0
input [ { name: "SECONDS" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "SLEPT" data_type: TYPE_FP32 dims: [ 1 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
"""

SLEEPER_MODEL = """import pathlib
import time

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.started = pathlib.Path(args["model_repository"]) / "started"

    def execute(self, requests):
        responses = []
        for request in requests:
            seconds = pb_utils.get_input_tensor_by_name(request, "SECONDS").as_numpy()
            self.started.touch()  # the test waits for this: the request is executing
            time.sleep(float(seconds[0]))
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("SLEPT", seconds)]))
        return responses
"""

PORT_FLAGS = ("--http-port=", "--grpc-port=", "--metrics-port=")


def write_model_repository(root: Path, sleeper: bool = False) -> Path:
    """A Triton model repository with one Python-backend model, `doubler` (FP32[4] -> 2x), and with `sleeper`
    the model `sleeper` (sleeps FP32[1] seconds)."""
    models = [("doubler", DOUBLER_CONFIG, DOUBLER_MODEL)] + ([("sleeper", SLEEPER_CONFIG, SLEEPER_MODEL)] * sleeper)
    for name, config, model in models:
        (root / name / "1").mkdir(parents=True)
        (root / name / "config.pbtxt").write_text(config)
        (root / name / "1" / "model.py").write_text(model)
    return root


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _pytriton_dist() -> tuple[Path, Path]:
    import pytriton

    package = Path(pytriton.__file__).resolve().parent
    return package / "tritonserver", package.parent / "nvidia_pytriton.libs"


class TritonServer:
    def __init__(
        self,
        container: k8s.core.v1.ContainerArgs,
        workdir: Path,
        model_store: str = "/mnt/models",
        sleeper: bool = False,
    ):
        self.container = container
        self.workdir = workdir
        self.declared_ports = {p.name: p.container_port for p in container.ports}
        self.local_port = dict(zip(self.declared_ports.values(), free_ports(len(self.declared_ports)), strict=True))
        self.model_repository = write_model_repository(workdir / "models", sleeper=sleeper)
        self.args = self._local_args(model_store)
        self.process: subprocess.Popen | None = None
        self.log = workdir / "tritonserver.log"

    def _local_args(self, model_store: str) -> list[str]:
        dist, _ = _pytriton_dist()
        local = []
        for arg in self.container.args:
            if arg == "tritonserver":
                local.append(str(dist / "bin" / "tritonserver"))
            elif arg == f"--model-store={model_store}":
                local.append(f"--model-store={self.model_repository}")
            elif arg.startswith(PORT_FLAGS):
                flag, port = arg.split("=")
                local.append(f"{flag}={self.local_port[int(port)]}")
            else:
                local.append(arg)
        backends = self.workdir / "backends"
        shutil.copytree(dist / "backends", backends)
        stub = (
            dist
            / "python_backend_stubs"
            / f"{sys.version_info[0]}.{sys.version_info[1]}"
            / "triton_python_backend_stub"
        )
        shutil.copy(stub, backends / "python" / "triton_python_backend_stub")
        return [
            *local,
            f"--backend-directory={backends}",
            "--http-address=127.0.0.1",
            "--grpc-address=127.0.0.1",
            "--metrics-address=127.0.0.1",
        ]

    def url(self, declared_port: int, path: str = "") -> str:
        return f"http://127.0.0.1:{self.local_port[declared_port]}{path}"

    def start(self, timeout: float = 90) -> None:
        _, libs = _pytriton_dist()
        env = {
            **os.environ,
            # The Python backend's stub runs the model with the `python` on PATH, which needs numpy.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "LD_LIBRARY_PATH": f"{libs}{os.pathsep}{os.environ.get('LD_LIBRARY_PATH', '')}",
        }
        with self.log.open("w") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=env)
        startup = self.container.startup_probe.http_get
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"tritonserver exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(self.url(startup.port, startup.path), timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"tritonserver not ready after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
