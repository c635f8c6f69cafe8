"""The harness's own node: a small kubelet for one fake node, on which the platform's pods run as real processes.

kwok keeps the GPU nodes and their (simulated) model pods; this node is not kwok's. For each pod the scheduler
binds to it, the agent does what a kubelet would, with local processes instead of containers:

- a container whose image has a local build (embedded/stand_ins.py) is started as that binary with the pod's args,
  environment, Secret/ConfigMap/projected volumes (written kubelet-style: `..data` swapped atomically, refreshed
  while it runs), a kubeconfig of the pod's ServiceAccount, and its ports on 127.0.0.1; it is restarted with
  back-off when it exits (restartPolicy Always), and it is Ready when its readiness probe answers on the local port;
- a container without a local build (the kube-rbac-proxy sidecar, a CPU model's Triton) is simulated: Running and
  Ready at once, as kwok does; a Job's pod is simulated to completion;
- a pod being deleted has its processes stopped (SIGTERM, then SIGKILL after its grace, at most 10 s) and is then
  removed;
- the node itself is kept Ready: its conditions and its Lease in kube-node-lease.

Pods get IPs from the node's pod CIDR (never dialled: EndpointSlices need a non-loopback address), and `route`
answers the egress proxy: a Service's cluster IP and port -> the 127.0.0.1 port of a Ready process behind it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import json
import logging
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from embedded.control_plane import ControlPlane, ControlPlaneError, FakeNode, component_env, free_port
from embedded.stand_ins import Container, Launch, NotReadyToStartError, image_tag, recipe_for

log = logging.getLogger("embedded.system_node")

LEASE_SECONDS = 40
HEARTBEAT_SECONDS = 10
SYNC_SECONDS = 0.5
VOLUME_REFRESH_SECONDS = 5
MAX_BACKOFF_SECONDS = 30
MAX_GRACE_SECONDS = 10
KUBELET_VERSION = "v1.35.4"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def system_node(name: str = "system-0", labels: dict[str, str] | None = None, pod_cidr: str = "100.65.0.0/24"):
    """The node this agent keeps (not kwok's): untainted, so the platform's pods land on it."""
    return FakeNode(
        name=name,
        labels={"kserve-triton/embedded": "system", **(labels or {})},
        capacity={"cpu": "8", "memory": "32Gi", "pods": "110"},
        pod_cidr=pod_cidr,
        kwok=False,
    )


# --- volumes ------------------------------------------------------------------------------------------------------


def write_atomically(directory: Path, files: dict[str, bytes], mode: int = 0o644) -> bool:
    """Write `files` the way the kubelet's AtomicWriter does (a timestamped directory, `..data` switched to it by
    rename, one symlink per key), so a process that watches `..data` sees one change. False when nothing changed."""
    directory.mkdir(parents=True, exist_ok=True)
    current = directory / "..data"
    if current.is_symlink():
        old = {p.name: p.read_bytes() for p in current.resolve().iterdir() if p.is_file()}
        if old == files:
            return False
    stamp = directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    stamp.mkdir()
    for key, data in files.items():
        target = stamp / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(mode)
    link = directory / "..data_tmp"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(stamp.name)
    previous = current.resolve() if current.is_symlink() else None
    link.replace(current)
    for key in files:
        top = key.split("/")[0]
        entry = directory / top
        if not entry.is_symlink():
            entry.symlink_to(Path("..data") / top)
    for entry in directory.iterdir():
        if (
            entry.is_symlink()
            and not entry.name.startswith("..")
            and entry.name not in {k.split("/")[0] for k in files}
        ):
            entry.unlink()
    if previous is not None and previous != stamp:
        shutil.rmtree(previous, ignore_errors=True)
    return True


class VolumeMissingError(Exception):
    """A Secret or ConfigMap the pod needs is not there yet: the container waits, as with a kubelet."""


# --- processes ----------------------------------------------------------------------------------------------------


@dataclass
class ContainerRun:
    name: str
    image: str
    local: bool
    """A local process stands in for it (else it is simulated)."""
    launch: Launch | None = None
    process: subprocess.Popen | None = None
    started_at: str | None = None
    ready: bool = False
    restarts: int = 0
    waiting: str = "ContainerCreating"
    message: str = ""
    last_exit: int | None = None
    next_start: float = 0.0
    backoff: float = 1.0


@dataclass
class PodRun:
    uid: str
    namespace: str
    name: str
    ip: str
    dir: Path
    containers: dict[str, ContainerRun] = field(default_factory=dict)
    kubeconfig: Path | None = None
    last_status: str = ""
    volumes_synced: float = 0.0
    completed: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    specs: list[dict[str, Any]] = field(default_factory=list)


class SystemNode:
    """Keeps node `name` Ready and runs the pods bound to it (see the module's docstring)."""

    def __init__(self, plane: ControlPlane, node: FakeNode, workdir: Path):
        self.plane = plane
        self.node = node
        self.workdir = Path(workdir)
        self.pods: dict[str, PodRun] = {}
        self._ips = ipaddress.ip_network(node.pod_cidr or "100.65.0.0/24").hosts()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._services: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self._last_heartbeat = 0.0
        self._ca = base64.b64encode((plane.pki / "ca.crt").read_bytes()).decode()

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        """Sync until `stop()`; then stop every process."""
        self.plane.add_node(self.node)
        try:
            while not self._stop.is_set():
                try:
                    if time.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS:
                        self.heartbeat()
                    self.sync()
                except (ControlPlaneError, OSError, http.client.HTTPException) as error:
                    log.warning("sync: %s", error)
                self._stop.wait(SYNC_SECONDS)
        finally:
            with self._lock:
                for pod in list(self.pods.values()):
                    self._stop_pod(pod, grace=5)

    def stop(self) -> None:
        self._stop.set()

    def heartbeat(self) -> None:
        name = self.node.name
        conditions = [
            {"type": kind, "status": "False", "reason": f"Kubelet{reason}", "lastHeartbeatTime": now()}
            for kind, reason in (
                ("MemoryPressure", "HasSufficientMemory"),
                ("DiskPressure", "HasNoDiskPressure"),
                ("PIDPressure", "HasSufficientPID"),
            )
        ]
        conditions.append(
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "embedded system node",
             "lastHeartbeatTime": now()}
        )  # fmt: skip
        status = {
            "status": {
                "conditions": conditions,
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}],
                "nodeInfo": {
                    "kubeletVersion": KUBELET_VERSION,
                    "kubeProxyVersion": "",
                    "containerRuntimeVersion": "embedded://1",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "osImage": "kserve-triton embedded",
                    "kernelVersion": os.uname().release,
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                },
            }
        }
        self.plane.api("PATCH", f"/api/v1/nodes/{name}/status", status, "application/strategic-merge-patch+json")
        lease_path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
        spec = {"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": micro_now()}
        if self.plane.api("GET", lease_path) is None:
            self.plane.api(
                "POST",
                "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name}, "spec": spec},
            )
        else:
            self.plane.api("PATCH", lease_path, {"spec": spec}, "application/merge-patch+json")
        self._last_heartbeat = time.monotonic()

    def sync(self) -> None:
        listed = self.plane.api("GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{self.node.name}") or {}
        seen = set()
        with self._lock:
            for pod in listed.get("items", []):
                uid = pod["metadata"]["uid"]
                seen.add(uid)
                run = self.pods.get(uid)
                if pod["metadata"].get("deletionTimestamp"):
                    grace = min(pod["metadata"].get("deletionGracePeriodSeconds") or 0, MAX_GRACE_SECONDS)
                    if run is not None:
                        self._stop_pod(run, grace)
                        self.pods.pop(uid, None)
                    self._remove(pod)
                    continue
                if run is None:
                    run = self._admit(pod)
                self._sync_pod(pod, run)
            for uid in set(self.pods) - seen:
                self._stop_pod(self.pods.pop(uid), grace=2)

    # ------------------------------------------------------------------ pods

    def _admit(self, pod: dict[str, Any]) -> PodRun:
        meta = pod["metadata"]
        directory = self.workdir / "pods" / f"{meta['namespace']}_{meta['name']}_{meta['uid'][:8]}"
        directory.mkdir(parents=True, exist_ok=True)
        run = PodRun(meta["uid"], meta["namespace"], meta["name"], str(next(self._ips)), directory)
        for spec in pod["spec"]["containers"]:
            recipe = recipe_for(spec["image"])
            local = recipe is not None and image_tag(spec["image"]) == recipe.version
            run.containers[spec["name"]] = ContainerRun(spec["name"], spec["image"], local)
        self.pods[run.uid] = run
        log.info("admitted %s/%s (%s)", run.namespace, run.name, ", ".join(
            f"{c.name}: {'local' if c.local else 'simulated'}" for c in run.containers.values()))  # fmt: skip
        return run

    def _sync_pod(self, pod: dict[str, Any], run: PodRun) -> None:
        run.labels, run.specs = pod["metadata"].get("labels") or {}, pod["spec"]["containers"]
        job = any(ref.get("kind") == "Job" for ref in pod["metadata"].get("ownerReferences") or [])
        if job and not any(c.local for c in run.containers.values()):
            run.completed = True
        else:
            refresh = time.monotonic() - run.volumes_synced >= VOLUME_REFRESH_SECONDS
            for spec in pod["spec"]["containers"]:
                container = run.containers[spec["name"]]
                if container.local:
                    self._sync_container(pod, run, spec, container, refresh)
                else:
                    container.ready, container.waiting = True, ""
                    container.started_at = container.started_at or now()
            if refresh:
                run.volumes_synced = time.monotonic()
        self._patch_status(pod, run)

    def _sync_container(self, pod, run: PodRun, spec, container: ContainerRun, refresh: bool) -> None:
        process = container.process
        if process is not None and process.poll() is not None:
            container.last_exit = process.returncode
            container.process = None
            container.ready = False
            container.restarts += 1
            container.waiting = "CrashLoopBackOff" if process.returncode else "Completed, restarting"
            container.next_start = time.monotonic() + container.backoff
            container.backoff = min(container.backoff * 2, MAX_BACKOFF_SECONDS)
            log.info("%s/%s %s exited %s", run.namespace, run.name, container.name, process.returncode)
        if container.process is None:
            if time.monotonic() < container.next_start:
                return
            try:
                self._start(pod, run, spec, container)
            except (VolumeMissingError, NotReadyToStartError) as reason:
                container.waiting, container.message = "ContainerCreating", str(reason)
            return
        if refresh:
            with contextlib.suppress(VolumeMissingError):
                self._write_volumes(pod, run)
        if not container.ready:
            container.ready = self._probe(spec, container)
            if container.ready:
                container.backoff = 1.0

    def _start(self, pod, run: PodRun, spec, container: ContainerRun) -> None:
        mounts = self._write_volumes(pod, run)
        env = self._environment(pod, spec)
        if run.kubeconfig is None:
            run.kubeconfig = self._kubeconfig(pod, run)
        recipe = recipe_for(spec["image"])
        assert recipe is not None
        workdir = run.dir / container.name
        workdir.mkdir(exist_ok=True)
        args = [_expand(a, env) for a in (spec.get("command") or [])[1:] + (spec.get("args") or [])]
        mounted = {m["mountPath"]: mounts[m["name"]] for m in spec.get("volumeMounts") or [] if m["name"] in mounts}
        launch = recipe.launch(
            Container(
                pod=pod,
                spec=spec,
                args=args,
                env=env,
                mounts=mounted,
                kubeconfig=run.kubeconfig,
                workdir=workdir,
                free_port=free_port,
                service_port=self.service_port,
            ),
            kept=container.launch.ports if container.launch else None,
        )
        if not launch.binary.is_file():
            raise NotReadyToStartError(f"{launch.binary} is not built (python3 -m embedded.parts build {recipe.part})")
        logfile = open(run.dir / f"{container.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        logfile.write(f"\n==== {now()} {launch.binary} {' '.join(launch.args)}\n".encode())
        logfile.flush()
        container.process = subprocess.Popen(
            [str(launch.binary), *launch.args],
            cwd=workdir,
            env=component_env({"HOME": str(workdir), **launch.env}),
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        logfile.close()
        container.launch = launch
        container.started_at = now()
        container.waiting, container.message = "", ""
        log.info("%s/%s %s started: pid %d, ports %s", run.namespace, run.name, container.name,
                 container.process.pid, launch.ports)  # fmt: skip

    def _stop_pod(self, run: PodRun, grace: float) -> None:
        processes = [c.process for c in run.containers.values() if c.process is not None]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + max(grace, 0.5)
        for process in processes:
            try:
                process.wait(max(deadline - time.monotonic(), 0.05))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for container in run.containers.values():
            container.process = None
            container.ready = False

    def _remove(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(ControlPlaneError):
            self.plane.api(
                "DELETE",
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                 "preconditions": {"uid": meta["uid"]}},
            )  # fmt: skip

    # ------------------------------------------------------------------ what a container gets

    def _write_volumes(self, pod, run: PodRun) -> dict[str, Path]:
        """Every volume of the pod as a local directory; VolumeMissingError when a required Secret or ConfigMap is not
        there."""
        ns = run.namespace
        out: dict[str, Path] = {}
        for volume in pod["spec"].get("volumes") or []:
            directory = run.dir / "volumes" / volume["name"]
            files: dict[str, bytes] | None = None
            if "secret" in volume:
                source = volume["secret"]
                files = self._object_files("secrets", ns, source["secretName"], source, decode=True)
            elif "configMap" in volume:
                source = volume["configMap"]
                files = self._object_files("configmaps", ns, source["name"], source, decode=False)
            elif "projected" in volume:
                files = {}
                for item in volume["projected"].get("sources") or []:
                    if "serviceAccountToken" in item:
                        token = self._token(pod, item["serviceAccountToken"].get("expirationSeconds") or 3600)
                        files[item["serviceAccountToken"].get("path", "token")] = token.encode()
                    elif "configMap" in item:
                        source = item["configMap"]
                        files |= self._object_files("configmaps", ns, source["name"], source, decode=False)
                    elif "secret" in item:
                        source = item["secret"]
                        files |= self._object_files("secrets", ns, source["name"], source, decode=True)
                    elif "downwardAPI" in item:
                        for entry in item["downwardAPI"].get("items") or []:
                            if "fieldRef" in entry:
                                files[entry["path"]] = _field(pod, entry["fieldRef"]["fieldPath"]).encode()
            else:  # emptyDir, and anything else a process can use as a directory
                directory.mkdir(parents=True, exist_ok=True)
            if files is not None:
                write_atomically(directory, files)
            out[volume["name"]] = directory
        return out

    def _object_files(self, kind: str, ns: str, name: str, source: dict, decode: bool) -> dict[str, bytes]:
        obj = self.plane.api("GET", f"/api/v1/namespaces/{ns}/{kind}/{name}")
        if obj is None:
            if source.get("optional"):
                return {}
            raise VolumeMissingError(f"{kind[:-1]} {ns}/{name} not found")
        data = {k: base64.b64decode(v) if decode else v.encode() for k, v in (obj.get("data") or {}).items()}
        if not decode:
            data |= {k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}
        items = source.get("items")
        if items:
            return {item["path"]: data[item["key"]] for item in items if item["key"] in data}
        return data

    def _environment(self, pod, spec) -> dict[str, str]:
        ns = pod["metadata"]["namespace"]
        env: dict[str, str] = {}
        for source in spec.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                ref = source["configMapRef"]
                data = self._object_files("configmaps", ns, ref["name"], ref, decode=False)
            else:
                ref = source["secretRef"]
                data = self._object_files("secrets", ns, ref["name"], ref, decode=True)
            env |= {prefix + k: v.decode() for k, v in data.items()}
        for var in spec.get("env") or []:
            if "valueFrom" not in var:
                env[var["name"]] = _expand(var.get("value", ""), env)
                continue
            source = var["valueFrom"]
            if "fieldRef" in source:
                env[var["name"]] = _field(pod, source["fieldRef"]["fieldPath"], self.pods.get(pod["metadata"]["uid"]))
            elif "secretKeyRef" in source or "configMapKeyRef" in source:
                secret = "secretKeyRef" in source
                ref = source["secretKeyRef" if secret else "configMapKeyRef"]
                data = self._object_files("secrets" if secret else "configmaps", ns, ref["name"],
                                          {"optional": ref.get("optional")}, decode=secret)  # fmt: skip
                if ref["key"] in data:
                    env[var["name"]] = data[ref["key"]].decode()
                elif not ref.get("optional"):
                    raise VolumeMissingError(f"key {ref['key']} of {ref['name']} not found")
            elif "resourceFieldRef" in source:
                resource = source["resourceFieldRef"]["resource"]
                kind, _, name = resource.partition(".")
                value = (spec.get("resources") or {}).get(kind, {}).get(name)
                env[var["name"]] = str(value or self.node.capacity.get(name, "0"))
        return env

    def _token(self, pod, seconds: int = 86400) -> str:
        meta = pod["metadata"]
        account = pod["spec"].get("serviceAccountName") or "default"
        answer = self.plane.api(
            "POST",
            f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": max(seconds, 86400),
                      "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}}},
        )  # fmt: skip
        return answer["status"]["token"]

    def _kubeconfig(self, pod, run: PodRun) -> Path:
        """A kubeconfig of the pod's ServiceAccount for 127.0.0.1: the chart's RBAC is what the process may do."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "embedded", "cluster": {"server": self.plane.server,
                                                          "certificate-authority-data": self._ca}}],
            "users": [{"name": "pod", "user": {"token": self._token(pod)}}],
            "contexts": [{"name": "embedded", "context": {"cluster": "embedded", "user": "pod",
                                                          "namespace": run.namespace}}],
            "current-context": "embedded",
        }  # fmt: skip
        path = run.dir / "kubeconfig"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return path

    def _probe(self, spec, container: ContainerRun) -> bool:
        """The container's readiness probe, asked on the process's local port (Ready when it has none)."""
        probe = spec.get("readinessProbe") or spec.get("startupProbe")
        if not probe or container.launch is None:
            return True
        action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
        if action is None:  # exec: nothing to run it in
            return True
        port = _container_port(spec, action.get("port"))
        local = container.launch.ports.get(port) if port is not None else None
        if local is None:
            return True
        try:
            if "httpGet" in probe:
                scheme = probe["httpGet"].get("scheme", "HTTP")
                context = ssl._create_unverified_context() if scheme == "HTTPS" else None  # the pod's own cert
                connection = (
                    http.client.HTTPSConnection("127.0.0.1", local, timeout=2, context=context)
                    if scheme == "HTTPS"
                    else http.client.HTTPConnection("127.0.0.1", local, timeout=2)
                )
                try:
                    connection.request("GET", probe["httpGet"].get("path", "/"))
                    return 200 <= connection.getresponse().status < 400
                finally:
                    connection.close()
            with socket.create_connection(("127.0.0.1", local), timeout=2):
                return True
        except (OSError, http.client.HTTPException):
            return False

    # ------------------------------------------------------------------ status

    def _patch_status(self, pod: dict[str, Any], run: PodRun) -> None:
        specs = {c["name"]: c for c in pod["spec"]["containers"]}
        statuses = []
        for name, c in run.containers.items():
            status: dict[str, Any] = {
                "name": name,
                "image": c.image,
                "imageID": "",
                "restartCount": c.restarts,
                "ready": c.ready and not run.completed,
            }
            if run.completed:
                status["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": c.started_at
                                                  or now(), "finishedAt": now()}}  # fmt: skip
                status["started"] = False
            elif (c.process is not None) or (not c.local and c.started_at):
                status["state"] = {"running": {"startedAt": c.started_at}}
                status["started"] = True
                status["containerID"] = f"embedded://{c.process.pid if c.process else 'simulated'}"
            else:
                waiting = {"reason": c.waiting or "ContainerCreating"}
                if c.message:
                    waiting["message"] = c.message
                status["state"] = {"waiting": waiting}
                status["started"] = False
            if c.last_exit is not None:
                status["lastState"] = {"terminated": {"exitCode": c.last_exit, "reason": "Error" if c.last_exit
                                                      else "Completed"}}  # fmt: skip
            statuses.append(status)
        ready = all(s["ready"] for s in statuses) and set(specs) == set(run.containers)
        conditions = [
            {"type": "PodReadyToStartContainers", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": "True" if ready else "False"},
            {"type": "Ready", "status": "True" if ready else "False"},
            {"type": "PodScheduled", "status": "True"},
        ]
        phase = "Succeeded" if run.completed else "Running" if any(
            s["state"].keys() == {"running"} for s in statuses) else "Pending"  # fmt: skip
        init = [
            {"name": c["name"], "image": c["image"], "imageID": "", "ready": True, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
            for c in pod["spec"].get("initContainers") or []
        ]  # fmt: skip
        body = {
            "phase": phase,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": run.ip,
            "podIPs": [{"ip": run.ip}],
            "qosClass": pod.get("status", {}).get("qosClass", "BestEffort"),
            "conditions": conditions,
            "containerStatuses": statuses,
            "initContainerStatuses": init,
        }
        text = json.dumps(body, sort_keys=True)
        if text == run.last_status:
            return
        body["startTime"] = pod.get("status", {}).get("startTime") or now()
        for condition in conditions:
            condition["lastTransitionTime"] = now()
        meta = pod["metadata"]
        self.plane.api(
            "PATCH",
            f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
            {"status": body},
            "application/merge-patch+json",
        )
        run.last_status = text

    # ------------------------------------------------------------------ routing

    def _list_services(self) -> list[dict[str, Any]]:
        fetched, services = self._services
        if time.monotonic() - fetched > 1.0:
            services = (self.plane.api("GET", "/api/v1/services") or {}).get("items", [])
            self._services = (time.monotonic(), services)
        return services

    def route(self, host: str, port: int) -> int | None:
        """The egress proxy's question: cluster IP and port of a Service -> a Ready local process's port."""
        for service in self._list_services():
            if service["spec"].get("clusterIP") == host:
                return self._backend(service, port)
        return None

    def service_port(self, dns_name: str, port: int) -> int | None:
        """`name.namespace.svc[.cluster.local]` and a Service port -> a running local process's port."""
        parts = dns_name.split(".")
        if len(parts) < 2:
            return None
        for service in self._list_services():
            if service["metadata"]["name"] == parts[0] and service["metadata"]["namespace"] == parts[1]:
                return self._backend(service, port, need_ready=False)
        return None

    def _backend(self, service: dict[str, Any], port: int, need_ready: bool = True) -> int | None:
        spec = service["spec"]
        service_port = next((p for p in spec.get("ports") or [] if p.get("port") == port), None)
        selector = spec.get("selector") or {}
        if service_port is None or not selector:
            return None
        target = service_port.get("targetPort", port)
        with self._lock:
            for run in self.pods.values():
                if run.namespace != service["metadata"]["namespace"]:
                    continue
                if any(run.labels.get(k) != v for k, v in selector.items()):
                    continue
                for spec_container in run.specs:
                    number = _container_port(spec_container, target)
                    c = run.containers.get(spec_container["name"])
                    if number is None or c is None or c.launch is None or c.process is None:
                        continue
                    if need_ready and not c.ready:
                        continue
                    local = c.launch.ports.get(number)
                    if local is not None:
                        return local
        return None

    # ------------------------------------------------------------------ report

    def report(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "pod": f"{run.namespace}/{run.name}",
                    "ip": run.ip,
                    "containers": {
                        name: {
                            "mode": "local" if c.local else "simulated",
                            "pid": c.process.pid if c.process else None,
                            "ready": c.ready,
                            "restarts": c.restarts,
                            "ports": c.launch.ports if c.launch else {},
                            "waiting": c.waiting,
                            "message": c.message,
                            "log": str(run.dir / f"{name}.log") if c.local else None,
                        }
                        for name, c in run.containers.items()
                    },
                }
                for run in self.pods.values()
            ]


_VARIABLE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: known variables replaced, unknown kept as written, $$ an escaped $."""

    def one(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return env.get(match[1], match[0])

    return _VARIABLE.sub(one, text)


def _field(pod: dict[str, Any], path: str, run: PodRun | None = None) -> str:
    meta = pod["metadata"]
    simple = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta["namespace"],
        "metadata.uid": meta["uid"],
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
        "status.hostIP": "127.0.0.1",
        "status.podIP": run.ip if run else "",
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return (meta.get(match[1]) or {}).get(match[2], "")
    return ""


def _container_port(spec: dict[str, Any], port: int | str | None) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        for declared in spec.get("ports") or []:
            if declared.get("name") == port:
                return declared["containerPort"]
    return None
