"""Which locally built binary stands in for which container, and how it is started from that container's spec.

A container scheduled on the harness's own node (embedded/system_node.py) whose image is one of the platform's
runs as the binary the `embedded/go/<part>` wrapper built from the same upstream release: with the container's own
args and environment (as the chart rendered them), its Secret and ConfigMap volumes written to local directories,
and then only what must differ outside a pod appended: a kubeconfig of the pod's ServiceAccount (so the chart's
RBAC applies), listen addresses on 127.0.0.1 at free ports (the charts' ports clash between components), and the
switches a process outside a cluster needs. Go's flag packages keep the last value of a scalar flag, so appended
flags override the chart's (checked for each binary: embedded/kserve-keda.md, embedded/go/cert-manager/README.md).

Each recipe names the container ports it maps, so the egress proxy can route a Service's port to the process,
and readiness probes are asked on the local port.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedded import parts as parts_mod


class NotReadyToStartError(Exception):
    """The container cannot start yet (a Service it dials has no local process); the reason is shown as waiting."""


@dataclass
class Container:
    """What a recipe starts from: the container as the chart rendered it, resolved on this machine."""

    pod: dict[str, Any]
    spec: dict[str, Any]
    args: list[str]
    """command[1:] + args, with $(VAR) expanded from the container's environment."""
    env: dict[str, str]
    mounts: dict[str, Path]
    """mountPath -> local directory holding the volume's files."""
    kubeconfig: Path
    workdir: Path
    free_port: Callable[[], int]
    service_port: Callable[[str, int], int | None]
    """(service DNS name, port) -> the 127.0.0.1 port of a running process behind it, or None."""

    @property
    def namespace(self) -> str:
        return self.pod["metadata"]["namespace"]

    def local_path(self, value: str) -> str:
        """A path in the container (under a mounted volume) as the local path holding the same file."""
        for mount in sorted(self.mounts, key=len, reverse=True):
            if value == mount or value.startswith(mount.rstrip("/") + "/"):
                return str(self.mounts[mount]) + value[len(mount.rstrip("/")) :]
        return value


@dataclass
class Launch:
    binary: Path
    args: list[str]
    env: dict[str, str]
    ports: dict[int, int] = field(default_factory=dict)
    """containerPort -> the 127.0.0.1 port the process listens on for it."""


@dataclass(frozen=True)
class Recipe:
    repository: str
    """The image's repository path without registry (mirrors keep it: `.../quay-remote/jetstack/...`)."""
    part: str
    binary: str
    version: str
    """The image tag the chart renders for this release; another tag has no local build."""
    overrides: Callable[[Container, dict[int, int]], tuple[list[str], dict[str, str]]]
    """(container, ports chosen) -> (args to append, environment to add)."""
    listens: tuple[int, ...] = ()
    """The container ports the process listens on (each gets a free local port)."""

    def matches(self, image: str) -> bool:
        repository = repository_of(image)
        return repository == self.repository or repository.endswith("/" + self.repository)

    def launch(self, container: Container, kept: dict[int, int] | None = None) -> Launch:
        """How to start it; `kept` are the local ports of its previous run, kept so that whoever dials it
        (another stand-in given the address at its start) still finds it after a restart."""
        ports = {port: (kept or {}).get(port) or container.free_port() for port in self.listens}
        extra_args, extra_env = self.overrides(container, ports)
        args = [_rewrite_paths(arg, container) for arg in container.args] + extra_args
        env = {k: container.local_path(v) for k, v in container.env.items()} | extra_env
        binary = parts_mod.parts([self.part])[0].bin_dir() / self.binary
        return Launch(binary=binary, args=args, env=env, ports=ports)


def repository_of(image: str) -> str:
    """`quay.io/jetstack/cert-manager-controller:v1.21.1` -> `quay.io/jetstack/cert-manager-controller`."""
    head, _, last = image.split("@")[0].rpartition("/")
    last = last.rsplit(":", 1)[0]
    return f"{head}/{last}" if head else last


def image_tag(image: str) -> str | None:
    last = image.split("@")[0].rpartition("/")[2]
    return last.rsplit(":", 1)[1] if ":" in last else None


def _rewrite_paths(arg: str, container: Container) -> str:
    """`--flag=/certs/tls.crt` -> the local file; other args as they are."""
    flag, eq, value = arg.partition("=")
    if eq and value.startswith("/"):
        return f"{flag}={container.local_path(value)}"
    return container.local_path(arg) if arg.startswith("/") else arg


def _loopback(port: int) -> str:
    return f"127.0.0.1:{port}"


# --- cert-manager v1.21.1 (embedded/go/cert-manager: mains of our own against the root module) ----------------


def _cert_manager_controller(c: Container, p: dict[int, int]) -> tuple[list[str], dict[str, str]]:
    return [
        f"--kubeconfig={c.kubeconfig}",
        f"--metrics-listen-address={_loopback(p[9402])}",
        f"--internal-healthz-listen-address={_loopback(p[9403])}",
    ], {}


def _cert_manager_webhook(c: Container, p: dict[int, int]) -> tuple[list[str], dict[str, str]]:
    # The secure and healthz ports have no host flag: they bind every address, at ports nothing else uses.
    return [
        f"--kubeconfig={c.kubeconfig}",
        f"--secure-port={p[10250]}",
        f"--healthz-port={p[6080]}",
        f"--metrics-listen-address={_loopback(p[9402])}",
    ], {}


def _cert_manager_cainjector(c: Container, p: dict[int, int]) -> tuple[list[str], dict[str, str]]:
    return [f"--kubeconfig={c.kubeconfig}", f"--metrics-listen-address={_loopback(p[9402])}"], {}


# --- KServe v0.20.0 manager -------------------------------------------------------------------------------------

KSERVE_CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"  # controller-runtime's default under os.TempDir()


def _kserve_manager(c: Container, p: dict[int, int]) -> tuple[list[str], dict[str, str]]:
    # No cert-dir flag: the webhook server reads $TMPDIR/k8s-webhook-server/serving-certs, so TMPDIR is a directory
    # whose k8s-webhook-server/serving-certs is the local copy of the Secret the chart mounts there.
    tmp = c.workdir / "tmp"
    certs = tmp / "k8s-webhook-server" / "serving-certs"
    certs.parent.mkdir(parents=True, exist_ok=True)
    if not certs.is_symlink():
        certs.symlink_to(c.mounts.get(KSERVE_CERT_DIR, c.workdir / "no-certs"))
    return [
        f"--kubeconfig={c.kubeconfig}",
        "--leader-elect=false",  # no leader-election namespace outside a pod: it would exit
        f"--metrics-addr={_loopback(p[8080])}",
        f"--health-probe-addr={_loopback(p[8081])}",
        f"--webhook-port={p[9443]}",
    ], {"TMPDIR": str(tmp)}


# --- KEDA v2.18.3 -----------------------------------------------------------------------------------------------


def _keda_operator(c: Container, p: dict[int, int]) -> tuple[list[str], dict[str, str]]:
    return [
        f"--kubeconfig={c.kubeconfig}",
        "--leader-elect=false",  # the restart after its first certificate write would wait out the old lease
        f"--health-probe-bind-address={_loopback(p[8081])}",
        f"--metrics-service-bind-address={_loopback(p[9666])}",
    ], {"KEDA_CLUSTER_OBJECT_NAMESPACE": c.namespace}  # otherwise read from the pod's service-account files


def _keda_webhooks(c: Container, p: dict[int, int]) -> tuple[list[str], dict[str, str]]:
    return [
        f"--kubeconfig={c.kubeconfig}",
        f"--port={p[9443]}",
        f"--health-probe-bind-address={_loopback(p[8081])}",
        f"--metrics-bind-address={_loopback(p[8080])}",
    ], {}


_METRICS_SERVICE = re.compile(r"^--metrics-service-address=(?P<host>[^:]+):(?P<port>\d+)$")


def _keda_metrics_server(c: Container, p: dict[int, int]) -> tuple[list[str], dict[str, str]]:
    target = next((m for arg in c.args if (m := _METRICS_SERVICE.match(arg))), None)
    host, port = (target["host"], int(target["port"])) if target else (f"keda-operator.{c.namespace}.svc", 9666)
    local = c.service_port(host, port)
    if local is None:
        raise NotReadyToStartError(f"{host}:{port} has no running process yet")
    kubeconfig = f"={c.kubeconfig}"
    return [
        *(f"--{flag}{kubeconfig}" for flag in ("kubeconfig", "lister-kubeconfig", "authentication-kubeconfig",
                                                 "authorization-kubeconfig")),
        f"--port={p[8080]}",
        f"--secure-port={p[6443]}",
        "--bind-address=127.0.0.1",
        f"--metrics-service-address={_loopback(local)}",
        f"--metrics-service-grpc-authority={host}",  # the operator's certificate names the Service, not 127.0.0.1
    ], {}  # fmt: skip


RECIPES: tuple[Recipe, ...] = (
    Recipe("jetstack/cert-manager-controller", "cert-manager", "cert-manager-controller", "v1.21.1",
           _cert_manager_controller, (9402, 9403)),
    Recipe("jetstack/cert-manager-webhook", "cert-manager", "cert-manager-webhook", "v1.21.1",
           _cert_manager_webhook, (10250, 6080, 9402)),
    Recipe("jetstack/cert-manager-cainjector", "cert-manager", "cert-manager-cainjector", "v1.21.1",
           _cert_manager_cainjector, (9402,)),
    Recipe("kserve/kserve-controller", "kserve", "manager", "v0.20.0", _kserve_manager, (8080, 8081, 9443)),
    Recipe("kedacore/keda", "keda", "keda", "2.18.3", _keda_operator, (8081, 9666)),
    Recipe("kedacore/keda-admission-webhooks", "keda", "keda-admission-webhooks", "2.18.3", _keda_webhooks,
           (8080, 8081, 9443)),
    Recipe("kedacore/keda-metrics-apiserver", "keda", "keda-adapter", "2.18.3", _keda_metrics_server,
           (8080, 6443)),
)  # fmt: skip
PARTS = tuple(sorted({recipe.part for recipe in RECIPES}))


def recipe_for(image: str) -> Recipe | None:
    return next((recipe for recipe in RECIPES if recipe.matches(image)), None)
