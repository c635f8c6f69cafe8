"""A real Prometheus scraping local targets every second, labelled the way Managed Service for Prometheus
(GMP) labels them on GKE, so the project's PromQL (catalog/triton_metrics.py) can be evaluated as-is.

- Triton: the test's real tritonserver, scraped with the target labels a GMP `PodMonitoring` gives a
  predictor pod (`project_id`, `location`, `cluster`, `namespace`, `job`, `instance`, and the default
  `targetLabels.metadata`: `pod`, `container`, `top_level_controller_name`, `top_level_controller_type`;
  GMP `pkg/operator/apis/monitoring/v1/pod_config.go`).
- GPUs: there is no GPU here, so DCGM is SIMULATED: a local page in the exact shape GKE's managed DCGM
  exporter serves (metric families, HELP/TYPE lines and label set of a capture of `gke-dcgm-exporter`
  4.4.1-4.6.0-gke.17: elideng-sg/hypercomputer-internode-deepdive `assets/lab-10/dcgm-metrics-raw.txt`
  @8af8518), scraped like its `ClusterPodMonitoring` `gke-managed-dcgm-exporter` (`targetLabels.metadata: []`,
  same repository's `assets/lab-10/scrape-config.txt`@f0d2199): GMP adds only `project_id`, `location`,
  `cluster`, `job` and `instance`; the pod's `namespace`/`pod`/`container` come from the exporter.
- Replicas: SIMULATED kube-state-metrics page (`kube_deployment_*{namespace, deployment}`, the labels GKE's
  kube state metrics package documents).

Loopback only; every wait is bounded; `stop()` ends what `start()` started.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.triton_server import free_ports

PROJECT = "test-project"
LOCATION = "us-central1-a"
CLUSTER = "test-cluster"
NODE = "gke-test-cluster-gpu-pool-5f1e2d3c-k8x2"
SCRAPE_INTERVAL = "1s"

# The simulated cluster: InferenceService `doubler` (Triton model `doubler`) in `models`, a same-named one
# in `staging` and another predictor in `models`, which the queries' scopes must tell apart.
NAMESPACE = "models"
OTHER_NAMESPACE = "staging"
INFERENCE_SERVICE = "doubler"
POD = "doubler-predictor-6c9f8d7b5-x2k4q"
OTHER_POD = "doubler-predictor-7b6c5d4f8-m2n8p"


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    address: str
    labels: dict[str, str]
    path: str = "/metrics"


def gmp_labels(**labels: str) -> dict[str, str]:
    """The labels GMP forces on every target (they cannot be overwritten by metric labels)."""
    return {"project_id": PROJECT, "location": LOCATION, "cluster": CLUSTER, **labels}


def triton_target(address: str, *, namespace: str, inference_service: str, pod: str) -> ScrapeTarget:
    """A predictor pod's Triton, as a PodMonitoring (job = its name) scraping the port named `metrics`."""
    return ScrapeTarget(
        job="kserve-triton",
        address=address,
        labels=gmp_labels(
            namespace=namespace,
            instance=f"{pod}:metrics",
            pod=pod,
            container="kserve-container",
            top_level_controller_name=f"{inference_service}-predictor",
            top_level_controller_type="Deployment",
        ),
    )


@dataclass(frozen=True)
class SimulatedGpu:
    index: int
    uuid: str
    utilization: float
    """DCGM_FI_DEV_GPU_UTIL, percent."""
    memory_used_mib: float
    memory_total_mib: float = 23034  # an L4
    pod: tuple[str, str, str] | None = None
    """(namespace, pod, container) the GPU is allocated to, or None when idle."""


# Four L4s of one node (a g2-standard-48).
SIMULATED_GPUS = [
    SimulatedGpu(0, "GPU-5b1f0c2e-8d3a-4e7b-9c6d-1a2b3c4d5e6f", 63, 4120, pod=(NAMESPACE, POD, "kserve-container")),
    SimulatedGpu(
        1,
        "GPU-0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b",
        17,
        9000,
        pod=(NAMESPACE, "resnet-predictor-5d8f7c6b4-q9z7m", "kserve-container"),
    ),
    SimulatedGpu(2, "GPU-7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d", 0, 0),
    SimulatedGpu(
        3, "GPU-1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", 88, 15000, pod=(OTHER_NAMESPACE, OTHER_POD, "kserve-container")
    ),
]
# (namespace, deployment) -> (desired, available)
SIMULATED_DEPLOYMENTS = {
    (NAMESPACE, "doubler-predictor"): (1, 1),
    (NAMESPACE, "resnet-predictor"): (2, 1),
    (OTHER_NAMESPACE, "doubler-predictor"): (1, 1),
    (NAMESPACE, "model-gateway"): (1, 1),
}


def gke_dcgm_page(gpus: list[SimulatedGpu], hostname: str = NODE) -> str:
    """A page as GKE's managed DCGM exporter serves it (a subset of its metric families)."""
    families = [
        ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", lambda g: g.utilization),
        ("DCGM_FI_DEV_FB_TOTAL", "Total Frame Buffer of the GPU in MB.", lambda g: g.memory_total_mib),
        ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", lambda g: g.memory_total_mib - g.memory_used_mib),
        ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", lambda g: g.memory_used_mib),
    ]
    lines = []
    for name, help_text, value in families:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for gpu in gpus:
            labels = {
                "gpu": str(gpu.index),
                "UUID": gpu.uuid,
                "pci_bus_id": f"00000000:00:{3 + gpu.index:02X}.0",
                "device": f"nvidia{gpu.index}",
                "modelName": "NVIDIA L4",
                "Hostname": hostname,
            }
            if gpu.pod:
                namespace, pod, container = gpu.pod
                labels |= {"container": container, "namespace": namespace, "pod": pod, "pod_uid": ""}
            text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            lines.append(f"{name}{{{text}}} {value(gpu):g}")
    return "\n".join(lines) + "\n"


def kube_state_metrics_page(deployments: dict[tuple[str, str], tuple[int, int]]) -> str:
    """kube-state-metrics' Deployment families: (namespace, deployment) -> (desired, available)."""
    lines = []
    for name, help_text, index in (
        ("kube_deployment_spec_replicas", "Number of desired pods for a deployment.", 0),
        ("kube_deployment_status_replicas_available", "The number of available replicas per deployment.", 1),
    ):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for (namespace, deployment), counts in deployments.items():
            lines.append(f'{name}{{namespace="{namespace}",deployment="{deployment}"}} {counts[index]}')
    return "\n".join(lines) + "\n"


def gmp_like_targets(triton_address: str, pages_address: str) -> list[ScrapeTarget]:
    """What GMP would scrape in the simulated cluster. The one real Triton stands for the `doubler` predictor
    pod in `models` and, scraped a second time, for the same-named InferenceService's pod in `staging`."""
    return [
        triton_target(triton_address, namespace=NAMESPACE, inference_service=INFERENCE_SERVICE, pod=POD),
        triton_target(triton_address, namespace=OTHER_NAMESPACE, inference_service=INFERENCE_SERVICE, pod=OTHER_POD),
        ScrapeTarget(
            job="gke-managed-dcgm-exporter",
            address=pages_address,
            path="/dcgm/metrics",
            labels=gmp_labels(instance=f"{NODE}:metrics"),
        ),
        ScrapeTarget(
            job="kube-state-metrics",
            address=pages_address,
            path="/kube-state-metrics/metrics",
            labels=gmp_labels(instance="kube-state-metrics:metrics"),
        ),
    ]


def simulated_pages() -> dict[str, str]:
    return {
        "/dcgm/metrics": gke_dcgm_page(SIMULATED_GPUS),
        "/kube-state-metrics/metrics": kube_state_metrics_page(SIMULATED_DEPLOYMENTS),
    }


class StaticPages:
    """A loopback HTTP server serving fixed metric pages: path -> text."""

    def __init__(self, pages: dict[str, str]):
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler):  # noqa: N805 - the handler instance, not the StaticPages
                body = pages.get(handler.path)
                if body is None:
                    handler.send_error(404)
                    return
                data = body.encode()
                handler.send_response(200)
                handler.send_header("Content-Type", "text/plain; version=0.0.4")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)

            def log_message(handler, *args):  # noqa: N805
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class PrometheusServer:
    workdir: Path
    targets: list[ScrapeTarget]
    binary: str = "prometheus"
    port: int = field(default_factory=lambda: free_ports(1)[0])
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict:
        return {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL},
            "scrape_configs": [
                {
                    "job_name": f"{target.job}-{index}",
                    "metrics_path": target.path,
                    "static_configs": [{"targets": [target.address], "labels": {"job": target.job, **target.labels}}],
                }
                for index, target in enumerate(self.targets)
            ],
        }

    def start(self, timeout: float = 20) -> None:
        binary = shutil.which(self.binary)
        if binary is None:
            raise FileNotFoundError(self.binary)
        config = self.workdir / "prometheus.yml"
        config.write_text(json.dumps(self.config(), indent=2))  # JSON is YAML
        log = self.workdir / "prometheus.log"
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {timeout} s:\n{log.read_text()[-3000:]}")

    def query(self, promql: str, at: float | None = None) -> list[dict]:
        """`/api/v1/query`: the instant vector as [{"metric": {...}, "value": float}]."""
        params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}", timeout=10) as r:
            body = json.loads(r.read())
        if body["status"] != "success" or body["data"]["resultType"] != "vector":
            raise AssertionError(f"{promql}: {body}")
        return [{"metric": s["metric"], "value": float(s["value"][1])} for s in body["data"]["result"]]

    def wait_for_scrapes_after(self, moment: float, timeout: float = 10) -> None:
        """Until every target has been scraped (successfully) after `moment` (epoch seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # timestamp() of a plain selector is the scrape's time; of `up == 1` it would be the query's.
            scraped = self.query("timestamp(up)")
            healthy = all(s["value"] == 1 for s in self.query("up"))
            if healthy and len(scraped) == len(self.targets) and min(s["value"] for s in scraped) > moment:
                return
            time.sleep(0.2)
        raise TimeoutError(f"not every target scraped after {moment}: {self.query('up')}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
