"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, and kwok in place of kubelets, all as local processes of one cluster in one state directory.

    python3 -m embedded.control_plane start  --dir D [--egress-socket PATH] [--no-nodes]
    python3 -m embedded.control_plane status --dir D
    python3 -m embedded.control_plane stop   --dir D
    python3 -m embedded.control_plane add-node --dir D NAME [--label K=V] [--taint K=V:Effect] [--capacity K=V]

or from Python (tests start one per session):

    cluster = ControlPlane(state_dir)
    cluster.start()                  # PKI, etcd, apiserver, controller-manager, scheduler, kwok, fake nodes
    cluster.kubeconfig               # admin kubeconfig (system:masters client certificate)
    cluster.stop()

Everything listens on 127.0.0.1 only, on ports picked free at each start. Nothing dials any other address:
- kwok gives pods IPs from `pod_cidr` (default 100.64.0.0/16) and Services get ClusterIPs from `service_cidr`
  (default 100.96.0.0/16): both are only ever written into objects, never dialled (EndpointSlices refuse
  loopback addresses, so pods cannot have 127.x IPs);
- the apiserver's `cluster` egress selector sends every dial to a Service, pod or node (webhooks, aggregated
  APIs, CRD conversion, kubelet logs/exec) as an HTTP CONNECT to a Unix socket (`egress_socket`, by default
  `<dir>/run/egress.sock`). The proxy listening there belongs to whoever needs such traffic; with none, those
  dials fail at once and no packet leaves the machine;
- fake nodes' InternalIP is `node_ip` (127.0.0.1; kwok serves their kubelet API on a loopback port), so
  hostNetwork pods get 127.0.0.1 as their IP and the EndpointSlice controller cannot list them;
- components run without HTTP(S)_PROXY, NO_PROXY or ALL_PROXY in their environment.

The binaries are the `kubernetes`, `etcd` and `kwok` parts (`python3 -m embedded.parts build ...`); kwok's
stage files are read at run time from the kwok module in the Go module cache. Standard library and the openssl
command only.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedded import parts as parts_mod

POD_CIDR = "100.64.0.0/16"
SERVICE_CIDR = "100.96.0.0/16"
FIRST_SERVICE_IP = "100.96.0.1"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
NODE_LEASE_SECONDS = 40
KWOK_ANNOTATION = "kwok.x-k8s.io/node"  # kwok manages the nodes that carry it, and only those
KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
# The order components start in; they stop in the reverse order.
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "grpc_proxy"}


class ControlPlaneError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------------- fake nodes


@dataclass(frozen=True)
class FakeNode:
    """A Node object kwok keeps Ready: its labels, taints (`key=value:Effect` or `key:Effect`) and capacity
    (also its allocatable). `pod_cidr` narrows the pod IPs kwok gives pods on it."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()
    capacity: Mapping[str, str] = field(default_factory=dict)
    pod_cidr: str | None = None
    kwok: bool = True
    """kwok keeps it Ready and its pods Running; otherwise its caller does (embedded/system_node.py)."""

    def manifest(self) -> dict[str, Any]:
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            **({"type": "kwok"} if self.kwok else {}),
            **self.labels,
        }
        capacity = {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi", **self.capacity}
        spec: dict[str, Any] = {}
        if self.taints:
            spec["taints"] = [parse_taint(t) for t in self.taints]
        if self.pod_cidr:
            spec["podCIDR"] = self.pod_cidr
            spec["podCIDRs"] = [self.pod_cidr]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": labels,
                "annotations": {KWOK_ANNOTATION: "fake"} if self.kwok else {},
            },
            "spec": spec,
            "status": {"capacity": capacity, "allocatable": dict(capacity)},
        }


def parse_taint(text: str) -> dict[str, str]:
    """`key=value:Effect` or `key:Effect` as a Node taint."""
    head, sep, effect = text.rpartition(":")
    if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise ValueError(f"taint {text!r} is not key[=value]:NoSchedule|PreferNoSchedule|NoExecute")
    key, _, value = head.partition("=")
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


ZONE = "us-central1-a"
SYSTEM_NODE = FakeNode(
    name="gke-system-pool-0",
    labels={
        "cloud.google.com/gke-nodepool": "system",
        "cloud.google.com/machine-family": "e2",
        "node.kubernetes.io/instance-type": "e2-standard-4",
        "topology.kubernetes.io/region": "us-central1",
        "topology.kubernetes.io/zone": ZONE,
    },
    capacity={"cpu": "4", "memory": "16Gi", "pods": "110"},
)
GPU_NODE = FakeNode(
    name="gke-gpu-l4-pool-0",
    labels={
        "cloud.google.com/gke-nodepool": "gpu-l4",
        "cloud.google.com/gke-accelerator": "nvidia-l4",
        "cloud.google.com/gke-accelerator-count": "1",
        "cloud.google.com/gke-gpu": "true",
        "cloud.google.com/machine-family": "g2",
        "node.kubernetes.io/instance-type": "g2-standard-8",
        "topology.kubernetes.io/region": "us-central1",
        "topology.kubernetes.io/zone": ZONE,
    },
    taints=("nvidia.com/gpu=present:NoSchedule",),
    capacity={"cpu": "8", "memory": "32Gi", "pods": "110", "nvidia.com/gpu": "1"},
)
DEFAULT_NODES = (SYSTEM_NODE, GPU_NODE)


# ---------------------------------------------------------------------------------------------------- helpers


_GIVEN_PORTS: set[int] = set()
PORTS_FROM = 20000


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port free on every address, below the kernel's ephemeral range, and not given out before by this process.

    Below the ephemeral range because some servers here bind every address (cert-manager's webhook takes no host),
    and such a bind fails while any outgoing connection holds that port as its local one: a port the kernel handed
    out for `bind(0)` could be taken that way by the time the server starts, and a restart keeps its port."""
    rng = random.Random()
    high = _ephemeral_low()
    for _ in range(500):
        port = rng.randrange(PORTS_FROM, high)
        if port in _GIVEN_PORTS:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("0.0.0.0", port))  # free on every address, loopback included
            except OSError:
                continue
        _GIVEN_PORTS.add(port)
        return port
    raise RuntimeError(f"no free port between {PORTS_FROM} and {high}")


def component_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    env.update(extra or {})
    return env


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _alive(pid: int, marker: str) -> bool:
    """Whether `pid` is still the process started for this cluster (its command line names the state dir)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    # Right after fork, before exec has finished, the command line reads empty.
    return not cmdline or marker.encode() in cmdline


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def kwok_stage_dir(version: str) -> Path:
    """`kustomize/stage` of the kwok module in the Go module cache (downloaded there if missing)."""
    env = component_env({"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"})
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{version}"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
    ).stdout
    return Path(json.loads(out)["Dir"]) / "kustomize" / "stage"


PARTS = ("kubernetes", "etcd", "kwok")


def default_binaries() -> dict[str, Path]:
    """The component binaries, from the built parts."""
    go = parts_mod.go_version()
    found = {p.name: p for p in parts_mod.parts(list(PARTS))}
    missing = [name for name, p in found.items() if not p.built(go)]
    if missing:
        raise ControlPlaneError(
            f"part(s) {', '.join(missing)} not built: run python3 -m embedded.parts build {' '.join(missing)}"
        )
    k8s, etcd, kwok = (found[n].bin_dir(go) for n in PARTS)
    binaries = {
        "etcd": etcd / "etcd",
        "kube-apiserver": k8s / "kube-apiserver",
        "kube-controller-manager": k8s / "kube-controller-manager",
        "kube-scheduler": k8s / "kube-scheduler",
        "kwok": kwok / "kwok",
    }
    return binaries


def parts_missing() -> list[str]:
    """The parts this control plane needs that are not built (empty when all are)."""
    go = parts_mod.go_version()
    return [p.name for p in parts_mod.parts(list(PARTS)) if not p.built(go)]


def unavailable() -> str | None:
    """Why a control plane cannot start here (a test's skip reason), or None when it can."""
    if shutil.which("go") is None:
        return "no go toolchain: the control-plane parts are found (and built) with it"
    if shutil.which("openssl") is None:
        return "no openssl command: the control plane's PKI is made with it"
    missing = parts_missing()
    if missing:
        return f"control-plane parts not built: run python3 -m embedded.parts build {' '.join(missing)}"
    return None


# ---------------------------------------------------------------------------------------------------- the cluster


class ControlPlane:
    """One cluster whose PKI, data, logs, kubeconfigs and process ids live in `state_dir`."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        egress_socket: str | os.PathLike[str] | None = None,
        pod_cidr: str = POD_CIDR,
        service_cidr: str = SERVICE_CIDR,
        node_ip: str = "127.0.0.1",
        binaries: Mapping[str, str | os.PathLike[str]] | None = None,
        kwok_stages: str | os.PathLike[str] | None = None,
        log_verbosity: int = 1,
    ) -> None:
        self.dir = Path(state_dir).resolve()
        self.egress_socket = Path(egress_socket).resolve() if egress_socket else self.dir / "run" / "egress.sock"
        if len(str(self.egress_socket).encode()) > 100:
            raise ValueError(f"egress socket path {self.egress_socket} is too long for a Unix socket")
        self.pod_cidr = pod_cidr
        self.service_cidr = service_cidr
        self.node_ip = node_ip
        self._binaries = {k: Path(v) for k, v in binaries.items()} if binaries else None
        self._kwok_stages = Path(kwok_stages) if kwok_stages else None
        self.log_verbosity = log_verbosity
        self.pki = self.dir / "pki"
        self.logs = self.dir / "logs"
        self.run_dir = self.dir / "run"
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ public

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (client certificate in group system:masters)."""
        return self.dir / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self._load_state()['ports']['apiserver']}"

    def start(self, *, nodes: Iterable[FakeNode] | None = DEFAULT_NODES, timeout: float = 180.0) -> None:
        """Start every component (the PKI is made on the first start and kept), then create `nodes` and wait
        until they are Ready and namespace `default` has its ServiceAccount. Stops what it started on failure."""
        if self.running():
            raise ControlPlaneError(f"a control plane is already running in {self.dir}")
        started = time.monotonic()
        deadline = started + timeout
        binaries = self._binaries or default_binaries()
        for d in (self.pki, self.logs, self.run_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.egress_socket.parent.mkdir(parents=True, exist_ok=True)
        ports = {
            "etcd": free_port(),
            "etcd-peer": free_port(),
            "apiserver": free_port(),
            "controller-manager": free_port(),
            "scheduler": free_port(),
            "kwok": free_port(),
        }
        state = {
            "ports": ports,
            "egress_socket": str(self.egress_socket),
            "pod_cidr": self.pod_cidr,
            "service_cidr": self.service_cidr,
            "binaries": {k: str(v) for k, v in binaries.items()},
            "pids": {},
        }
        self._save_state(state)
        try:
            self._make_pki()
            self._write_configs(ports)
            stages = self._kwok_stages or kwok_stage_dir(parts_mod.parts(["kwok"])[0].version)
            self.timings["prepare"] = time.monotonic() - started

            self._spawn(state, "etcd", binaries["etcd"], self._etcd_args(ports))
            self._wait(lambda: self._etcd_healthy(ports["etcd"]), deadline, "etcd /health", state)
            self.timings["etcd"] = time.monotonic() - started

            self._spawn(state, "kube-apiserver", binaries["kube-apiserver"], self._apiserver_args(ports))
            self._wait(self._apiserver_ready, deadline, "kube-apiserver /readyz", state)
            self.timings["kube-apiserver"] = time.monotonic() - started

            self._spawn(state, "kube-controller-manager", binaries["kube-controller-manager"], self._kcm_args(ports))
            self._spawn(state, "kube-scheduler", binaries["kube-scheduler"], self._scheduler_args(ports))
            self._spawn(
                state,
                "kwok",
                binaries["kwok"],
                self._kwok_args(ports, stages),
                env={"KWOK_WORKDIR": str(self.dir / "kwok")},
            )
            for node in nodes or ():
                self.add_node(node)
            names = [n.name for n in nodes or () if n.kwok]
            self._wait(lambda: self._nodes_ready(names), deadline, "nodes Ready", state)
            self.timings["nodes-ready"] = time.monotonic() - started
            self._wait(
                lambda: self._get("/api/v1/namespaces/default/serviceaccounts/default") is not None,
                deadline,
                "ServiceAccount default/default",
                state,
            )
            self._wait(
                lambda: self._healthz(ports["controller-manager"]) and self._healthz(ports["scheduler"]),
                deadline,
                "controller-manager and scheduler /healthz",
                state,
            )
            self.timings["ready"] = time.monotonic() - started
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every component of this cluster that still runs (SIGTERM, then SIGKILL after `timeout`)."""
        state = self._load_state()
        pids: dict[str, int] = state.get("pids", {})
        marker = str(self.dir)
        for name in reversed(ORDER):
            pid = pids.get(name)
            if pid is None or not _alive(pid, marker):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            end = time.monotonic() + timeout
            while _alive(pid, marker) and time.monotonic() < end:
                time.sleep(0.1)
            if _alive(pid, marker):
                os.kill(pid, signal.SIGKILL)
                while _alive(pid, marker):
                    time.sleep(0.05)
            self._reap(pid)
        if state:
            state["pids"] = {}
            self._save_state(state)

    def running(self) -> bool:
        pids = self._load_state().get("pids", {})
        return any(_alive(pid, str(self.dir)) for pid in pids.values())

    def status(self) -> dict[str, Any]:
        """Each component's pid, whether it runs and its resident memory; apiserver readiness; the nodes."""
        state = self._load_state()
        marker = str(self.dir)
        components = {}
        for name in ORDER:
            pid = state.get("pids", {}).get(name)
            alive = pid is not None and _alive(pid, marker)
            components[name] = {"pid": pid, "running": alive, "rss_mib": round(_rss_kib(pid) / 1024) if alive else 0}
        result: dict[str, Any] = {"dir": str(self.dir), "components": components}
        if components["kube-apiserver"]["running"]:
            result["server"] = self.server
            result["ready"] = self._apiserver_ready()
            nodes = self._get("/api/v1/nodes") if result["ready"] else None
            result["nodes"] = {n["metadata"]["name"]: _condition(n, "Ready") for n in (nodes or {}).get("items", [])}
        else:
            result["ready"] = False
        return result

    def add_node(self, node: FakeNode) -> None:
        """Create a fake node (kwok makes it Ready), or update an existing one's labels, taints and capacity."""
        manifest = node.manifest()
        existing = self._get(f"/api/v1/nodes/{node.name}")
        if existing is None:
            self._request("POST", "/api/v1/nodes", manifest)
        else:
            patch = {"metadata": {"labels": manifest["metadata"]["labels"]}, "spec": manifest["spec"]}
            if "taints" not in manifest["spec"]:
                patch["spec"]["taints"] = None
            self._request("PATCH", f"/api/v1/nodes/{node.name}", patch, "application/merge-patch+json")
        # The apiserver keeps status on create, but kwok may initialise the node first: set capacity again.
        status = {"status": {k: manifest["status"][k] for k in ("capacity", "allocatable")}}
        self._request("PATCH", f"/api/v1/nodes/{node.name}/status", status, "application/merge-patch+json")

    def wait_nodes_ready(self, names: Iterable[str], timeout: float = 60.0) -> None:
        names = list(names)
        self._wait(lambda: self._nodes_ready(names), time.monotonic() + timeout, "nodes Ready", None)

    def api(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        """One request to the apiserver as admin; the decoded JSON answer (None for 404)."""
        if method == "GET":
            return self._get(path)
        return self._request(method, path, body, content_type)

    def memory_mib(self) -> dict[str, int]:
        return {name: c["rss_mib"] for name, c in self.status()["components"].items()}

    # ------------------------------------------------------------------ PKI and configuration

    def _make_pki(self) -> None:
        p = self.pki
        if (p / "done").exists():
            return
        p.mkdir(parents=True, exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca, cn in (("ca", "kserve-triton-ca"), ("front-proxy-ca", "kserve-triton-front-proxy-ca")):
            _openssl("req", "-x509", "-new", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "3650",
                     "-subj", f"/CN={cn}", cwd=p)  # fmt: skip
        server_sans = ",".join(
            [
                "IP:127.0.0.1",
                f"IP:{FIRST_SERVICE_IP}",
                "DNS:localhost",
                "DNS:kubernetes",
                "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local",
            ]
        )
        leaves = [
            # name, CA, subject, extended key usage, subjectAltName
            ("apiserver", "ca", "/CN=kube-apiserver", "serverAuth", server_sans),
            ("admin", "ca", "/O=system:masters/CN=kubernetes-admin", "clientAuth", None),
            ("controller-manager", "ca", "/CN=system:kube-controller-manager", "clientAuth", None),
            ("scheduler", "ca", "/CN=system:kube-scheduler", "clientAuth", None),
            ("kwok", "ca", "/O=system:masters/CN=kwok-controller", "clientAuth", None),
            ("apiserver-kubelet-client", "ca", "/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth",
             None),
            ("kubelet", "ca", "/CN=kwok-kubelet", "serverAuth", "IP:127.0.0.1,DNS:localhost"),
            ("front-proxy-client", "front-proxy-ca", "/CN=front-proxy-client", "clientAuth", None),
        ]  # fmt: skip
        for i, (name, ca, subject, usage, sans) in enumerate(leaves, start=2):
            ext = p / f"{name}.ext"
            lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
                     f"extendedKeyUsage={usage}"]  # fmt: skip
            if sans:
                lines.append(f"subjectAltName={sans}")
            ext.write_text("\n".join(lines) + "\n")
            _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=p)
            _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                     "-set_serial", str(int(time.time() * 1000) * 100 + i), "-days", "3650", "-extfile", ext.name,
                     "-out", f"{name}.crt", cwd=p)  # fmt: skip
            (p / f"{name}.csr").unlink()
            ext.unlink()
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key.ec", cwd=p)
        _openssl("pkcs8", "-topk8", "-nocrypt", "-in", "sa.key.ec", "-out", "sa.key", cwd=p)
        (p / "sa.key.ec").unlink()
        _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=p)
        for key in p.glob("*.key"):
            key.chmod(0o600)
        (p / "done").write_text("")

    def _kubeconfig_text(self, user: str, port: int) -> str:
        def b64(name: str) -> str:
            return base64.b64encode((self.pki / name).read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "kserve-triton-local",
                    "cluster": {"server": f"https://127.0.0.1:{port}", "certificate-authority-data": b64("ca.crt")},
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": b64(f"{user}.crt"),
                        "client-key-data": b64(f"{user}.key"),
                    },
                }
            ],
            "contexts": [{"name": "kserve-triton-local", "context": {"cluster": "kserve-triton-local", "user": user}}],
            "current-context": "kserve-triton-local",
        }
        return json.dumps(config, indent=1)  # JSON is YAML

    def _write_configs(self, ports: Mapping[str, int]) -> None:
        for user in ("admin", "controller-manager", "scheduler", "kwok"):
            path = self.dir / f"{user}.kubeconfig"
            path.write_text(self._kubeconfig_text(user, ports["apiserver"]))
            path.chmod(0o600)
        egress = {
            "apiVersion": "apiserver.k8s.io/v1beta1",
            "kind": "EgressSelectorConfiguration",
            "egressSelections": [
                {
                    "name": "cluster",
                    "connection": {
                        "proxyProtocol": "HTTPConnect",
                        "transport": {"uds": {"udsName": str(self.egress_socket)}},
                    },
                }
            ],
        }
        (self.dir / "egress-selector.yaml").write_text(json.dumps(egress, indent=1))

    # ------------------------------------------------------------------ command lines

    def _etcd_args(self, ports: Mapping[str, int]) -> list[str]:
        client = f"http://127.0.0.1:{ports['etcd']}"
        peer = f"http://127.0.0.1:{ports['etcd-peer']}"
        return [
            "--name=default",
            f"--data-dir={self.dir / 'data' / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--unsafe-no-fsync=true",  # a test cluster: losing the last writes on a crash is fine
            "--log-level=warn",
        ]

    def _apiserver_args(self, ports: Mapping[str, int]) -> list[str]:
        p = self.pki
        return [
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports['apiserver']}",
            f"--cert-dir={self.run_dir / 'kube-apiserver'}",
            f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
            f"--tls-cert-file={p / 'apiserver.crt'}",
            f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            f"--service-cluster-ip-range={self.service_cidr}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            f"--egress-selector-config-file={self.dir / 'egress-selector.yaml'}",
            f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={p / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
            "--profiling=false",
            f"--v={self.log_verbosity}",
        ]

    def _component_common(self, name: str, kubeconfig: str, port: int) -> list[str]:
        return [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.run_dir / name}",
            "--leader-elect=false",
            "--profiling=false",
            f"--v={self.log_verbosity}",
        ]

    def _kcm_args(self, ports: Mapping[str, int]) -> list[str]:
        p = self.pki
        return [
            *self._component_common(
                "kube-controller-manager", str(self.dir / "controller-manager.kubeconfig"), ports["controller-manager"]
            ),
            "--controllers=*",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={p / 'sa.key'}",
            f"--root-ca-file={p / 'ca.crt'}",
            f"--cluster-signing-cert-file={p / 'ca.crt'}",
            f"--cluster-signing-key-file={p / 'ca.key'}",
            f"--service-cluster-ip-range={self.service_cidr}",
            f"--flex-volume-plugin-dir={self.run_dir / 'flexvolume'}",  # it creates the directory
        ]

    def _scheduler_args(self, ports: Mapping[str, int]) -> list[str]:
        return self._component_common("kube-scheduler", str(self.dir / "scheduler.kubeconfig"), ports["scheduler"])

    def _kwok_args(self, ports: Mapping[str, int], stages: Path) -> list[str]:
        p = self.pki
        args = [
            f"--kubeconfig={self.dir / 'kwok.kubeconfig'}",
            f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
            f"--cidr={self.pod_cidr}",
            f"--node-ip={self.node_ip}",
            f"--node-port={ports['kwok']}",
            f"--server-address=127.0.0.1:{ports['kwok']}",
            f"--tls-cert-file={p / 'kubelet.crt'}",
            f"--tls-private-key-file={p / 'kubelet.key'}",
            f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
        ]
        for stage in KWOK_STAGES:
            path = stages / stage
            if not path.is_file():
                raise ControlPlaneError(f"kwok stage {path} is missing")
            args.append(f"--config={path}")
        return args

    # ------------------------------------------------------------------ processes

    def _spawn(
        self, state: dict[str, Any], name: str, binary: Path, args: list[str], env: Mapping[str, str] | None = None
    ) -> None:
        if not Path(binary).is_file():
            raise ControlPlaneError(f"{name}: {binary} does not exist")
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} {binary} {' '.join(args)}\n".encode())
        log.flush()
        with log:
            process = subprocess.Popen(
                [str(binary), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                env=component_env(env),
                start_new_session=True,
            )
        self._children = getattr(self, "_children", {})
        self._children[process.pid] = process
        state["pids"][name] = process.pid
        self._save_state(state)

    def _reap(self, pid: int) -> None:
        process = getattr(self, "_children", {}).pop(pid, None)
        if process is not None:
            process.wait()

    def _wait(self, ready, deadline: float, what: str, state: dict[str, Any] | None) -> None:
        while True:
            if state is not None:
                for name, pid in state["pids"].items():
                    if not _alive(pid, str(self.dir)):
                        tail = _tail(self.logs / f"{name}.log")
                        raise ControlPlaneError(f"{name} exited while waiting for {what}; its log ends:\n{tail}")
            try:
                if ready():
                    return
            except (OSError, http.client.HTTPException, ssl.SSLError, ControlPlaneError):
                pass
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"timed out waiting for {what} (logs in {self.logs})")
            time.sleep(0.2)

    # ------------------------------------------------------------------ HTTP to the apiserver

    def _ssl_context(self, client: bool = True) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        if client:
            context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return context

    def _connection(self) -> http.client.HTTPSConnection:
        port = self._load_state()["ports"]["apiserver"]
        return http.client.HTTPSConnection("127.0.0.1", port, context=self._ssl_context(), timeout=10)

    def _raw(self, method: str, path: str, body: Any = None, content_type: str = "application/json"):
        connection = self._connection()
        try:
            headers = {"Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = content_type
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def _get(self, path: str) -> Any:
        status, data = self._raw("GET", path)
        if status == 404:
            return None
        if status >= 300:
            raise ControlPlaneError(f"GET {path}: {status} {data[:500]!r}")
        return json.loads(data)

    def _request(self, method: str, path: str, body: Any, content_type: str = "application/json") -> Any:
        status, data = self._raw(method, path, body, content_type)
        if status == 404 and method == "DELETE":
            return None
        if status >= 300:
            raise ControlPlaneError(f"{method} {path}: {status} {data[:1000]!r}")
        return json.loads(data) if data else None

    def _apiserver_ready(self) -> bool:
        status, _ = self._raw("GET", "/readyz")
        return status == 200

    def _healthz(self, port: int) -> bool:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the component's own self-signed serving certificate
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        finally:
            connection.close()

    @staticmethod
    def _etcd_healthy(port: int) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/health")
            response = connection.getresponse()
            return response.status == 200 and json.loads(response.read()).get("health") == "true"
        finally:
            connection.close()

    def _nodes_ready(self, names: list[str]) -> bool:
        for name in names:
            node = self._get(f"/api/v1/nodes/{name}")
            if node is None or _condition(node, "Ready") != "True":
                return False
        return True

    # ------------------------------------------------------------------ state file

    def _load_state(self) -> dict[str, Any]:
        try:
            return json.loads((self.dir / "cluster.json").read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, state: Mapping[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "cluster.json.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.dir / "cluster.json")


def _condition(obj: Mapping[str, Any], kind: str) -> str | None:
    for condition in obj.get("status", {}).get("conditions", []) or []:
        if condition.get("type") == kind:
            return condition.get("status")
    return None


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------------------------------- CLI


def _pairs(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise SystemExit(f"{value!r} is not KEY=VALUE")
        out[key] = val
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m embedded.control_plane", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {name: sub.add_parser(name) for name in ("start", "stop", "status", "add-node")}
    for command in commands.values():
        command.add_argument("--dir", required=True, help="the cluster's state directory")
    commands["start"].add_argument("--egress-socket", help="Unix socket of the cluster egress proxy")
    commands["start"].add_argument("--no-nodes", action="store_true", help="create no fake nodes")
    commands["start"].add_argument("--timeout", type=float, default=180.0)
    add = commands["add-node"]
    add.add_argument("name")
    add.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--taint", action="append", default=[], metavar="KEY[=VALUE]:EFFECT")
    add.add_argument("--capacity", action="append", default=[], metavar="RESOURCE=QUANTITY")
    args = parser.parse_args(argv)

    if args.command == "start":
        cluster = ControlPlane(args.dir, egress_socket=args.egress_socket)
        cluster.start(nodes=() if args.no_nodes else DEFAULT_NODES, timeout=args.timeout)
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in cluster.timings.items())
        print(f"control plane ready at {cluster.server} ({timings}); KUBECONFIG={cluster.kubeconfig}")
    elif args.command == "stop":
        ControlPlane(args.dir).stop()
    elif args.command == "status":
        status = ControlPlane(args.dir).status()
        print(json.dumps(status, indent=1))
        return 0 if status["ready"] else 1
    else:
        node = FakeNode(args.name, _pairs(args.label), tuple(args.taint), _pairs(args.capacity))
        cluster = ControlPlane(args.dir)
        cluster.add_node(node)
        cluster.wait_nodes_ready([node.name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
