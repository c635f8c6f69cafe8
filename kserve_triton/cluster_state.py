"""Reading a cluster's state for the cold-start measurement: the newest predictor pod of an InferenceService, its
node, the events of both and the GPU device plugin pod on a new node, through kubectl, as `ClusterView`; and
reading times out of events and conditions. Only kubectl and the standard library.

What the events look like, and where that is from (reasons are matched exactly, containers by
`involvedObject.fieldPath`; messages are never parsed for times, only shown, shortened to the scale-up's node
group, the kubelet's pull duration and the image being pulled):

- `kubectl get events -o json` prints core/v1 Events (a `List` of `kind: Event`). Events written through the
  events.k8s.io API, like the scheduler's `Scheduled` and `FailedScheduling`, come back with `eventTime` set
  (microseconds) and `firstTimestamp`/`lastTimestamp` null, with `action` and `series` (`count`,
  `lastObservedTime`) for repeats: kubernetes/kubernetes#90482 (a `Scheduled` event, `action: Binding`),
  #89689 and PR #90206 (kubectl falls back to `eventTime` when the timestamps are null),
  opsgenie/kubernetes-event-exporter#194. Events from the older recorder (kubelet, cluster-autoscaler, node
  controller) have `firstTimestamp`/`lastTimestamp`/`count` and `eventTime: null`. Some schedulers write the
  older shape too, so every event is read as: first seen = `eventTime`, else `firstTimestamp`, else
  `metadata.creationTimestamp`. Field list: the Kubernetes API reference, io.k8s.api.core.v1.Event.
- cluster-autoscaler (kubernetes/autoscaler, `processors/status/eventing_scale_up_processor.go`):
  `TriggeredScaleUp` "pod triggered scale-up: %v" with `ScaleUpInfo.String()` = "{%v %v->%v (max: %v)}" (node
  group, sizes); `NotTriggerScaleUp` "pod didn't trigger scale-up (it wouldn't fit if a new node is added): ...".
  On GKE the group is the managed instance group URL, e.g. "pod triggered scale-up: [{https://www.googleapis.com/
  compute/v1/projects/P/zones/us-east4-a/instanceGroups/gke-kh-e2e-l4-2-c399c5c0-grp 1->2 (max: 20)}]" (a GKE L4
  `kubectl describe pod` in a public vLLM autoscaling write-up).
- kubelet, image manager (`pkg/kubelet/images/image_manager.go`): `Pulling` "Pulling image %q"; `Pulled`
  "Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes." or "Container image %q
  already present on machine"; runtime (`pkg/kubelet/kuberuntime/kuberuntime_container.go`): `Created`
  ("Created container %v", "Created container: %v" or "Container created" depending on the version) and
  `Started` ("Started container %v" / "Container started"). The container is named by
  `involvedObject.fieldPath` = `spec.containers{NAME}` or `spec.initContainers{NAME}`, which is what is matched.
- Node events: the kubelet's `NodeReady` "Node %s status is now: NodeReady" (`recordNodeStatusEvent`), the node
  lifecycle controller's `RegisteredNode` "Registered Node %v in Controller". Node objects have no namespace, so
  their events are stored in `default`; they are listed with `-A` and a field selector (events can be selected
  by `involvedObject.kind`/`.name`/`.uid`/`.fieldPath`, `reason`, ...: `pkg/registry/core/event/strategy.go`).
- GKE-managed GPU drivers: the device plugin runs as `nvidia-gpu-device-plugin-<size>-cos-<id>` pods in
  kube-system whose init containers install the driver, and the node has allocatable `nvidia.com/gpu` only once
  that pod has finished setting up (GoogleCloudPlatform/container-engine-accelerators#407; pod names also in
  rapidsai/deployment#572). No event says "GPU allocatable"; the device plugin pod turning Ready is the closest
  observable time (the kubelet publishes the new allocatable with its next node status update, seconds later).
- The model: KServe v0.20 mounts a pvc:// model as the volume `kserve-pvc-source` with no init container
  (pkg/utils/storage.go, AddModelMount); GKE's Cloud Storage FUSE webhook adds the native sidecar
  `gke-gcsfuse-sidecar` at initContainers[0] (gcs-fuse-csi-driver v1.24.4, pkg/webhook/injection.go): its
  state.running.startedAt is when the bucket is served at the mount. A Hyperdisk ML volume is attached by the
  attach/detach controller: event `SuccessfulAttachVolume` "AttachVolume.Attach succeeded for volume ..."
  (kubernetes pkg/volume/util/operationexecutor/operation_generator.go). Triton logs "loading: MODEL:VERSION" when it
  starts loading a model and "successfully loaded 'MODEL'" when it is done (both strings are in libtritonserver,
  the release nvidia-pytriton 0.7.0 ships; tests/components/test_triton_server.py reads them from a real server's
  log); `kubectl logs --timestamps` prefixes every line with an RFC 3339 time, which is what is read.
- Events are deleted after the API server's `--event-ttl`, 1 h by default (kubernetes/kubernetes#124836), so
  run this within the hour; after that, stages that only events show are reported as unknown.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"
STORAGE_INITIALIZER = "storage-initializer"
MAIN_CONTAINER = "kserve-container"
FUSE_SIDECAR = "gke-gcsfuse-sidecar"
MODEL_VOLUME = "kserve-pvc-source"
TRITON_LOADING = re.compile(r"loading: (?P<model>[^\s:\"']+):(?P<version>\d+)")
TRITON_LOADED = re.compile(r"successfully loaded '(?P<model>[^']+)'")
# GKE's own device plugin, and NVIDIA's (GPU Operator or its Helm chart).
DEVICE_PLUGIN_PREFIXES = ("nvidia-gpu-device-plugin", "nvidia-device-plugin")

Runner = Callable[[list[str]], Any]
"""Runs `kubectl <args>` (args without "kubectl" and --context) and returns its parsed JSON output."""


class ColdStartError(Exception):
    """The measurement cannot be made; the message is the one-line reason shown to the user."""


class KubectlError(ColdStartError):
    """kubectl is missing, failed, or printed no JSON; `reason` is what kubectl said, without the command."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


# --- times and events ------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time as Kubernetes writes it (`Time`: seconds, `MicroTime`: microseconds); None if unset."""
    if not isinstance(value, str) or not value:
        return None
    match = _RFC3339.match(value.strip())
    if not match:
        return None
    seconds, fraction, zone = match.groups()
    text = seconds + (f".{(fraction + '000000')[:6]}" if fraction else "") + ("+00:00" if zone == "Z" else zone)
    moment = datetime.fromisoformat(text)
    return None if moment.year <= 1 else moment  # Go's zero time, printed by some clients for "unset"


def event_time(event: dict) -> datetime | None:
    """When an event was first seen: eventTime (events.k8s.io writers), else firstTimestamp (older recorder)."""
    return (
        parse_time(event.get("eventTime"))
        or parse_time(event.get("firstTimestamp"))
        or parse_time((event.get("metadata") or {}).get("creationTimestamp"))
    )


def event_count(event: dict) -> int:
    """How often it happened: series.count (events.k8s.io writers), else count (older recorder)."""
    series = event.get("series") or {}
    return int(series.get("count") or event.get("count") or 1)


def event_reporter(event: dict) -> str:
    return (
        event.get("reportingComponent")
        or (event.get("source") or {}).get("component")
        or event.get("reportingController")
        or "?"
    )


def _container_of(event: dict) -> str | None:
    match = re.fullmatch(
        r"spec\.(?:init)?[cC]ontainers\{(.+)\}", (event.get("involvedObject") or {}).get("fieldPath") or ""
    )
    return match[1] if match else None


def _events(events: list[dict], reason: str, container: str | None = None) -> list[dict]:
    """Events with this reason (about this container), earliest first."""
    found = [
        e
        for e in events
        if e.get("reason") == reason and (container is None or _container_of(e) == container) and event_time(e)
    ]
    return sorted(found, key=lambda e: event_time(e))  # type: ignore[arg-type,return-value]


def _first(events: list[dict], reason: str, container: str | None = None) -> dict | None:
    found = _events(events, reason, container)
    return found[0] if found else None


def _condition(obj: dict, kind: str) -> dict | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def _true_since(obj: dict, kind: str) -> datetime | None:
    condition = _condition(obj, kind)
    if condition and condition.get("status") == "True":
        return parse_time(condition.get("lastTransitionTime"))
    return None


@dataclass
class ClusterView:
    """What kubectl returned; None where a lookup was not made, with the reason in *_error if it failed."""

    pod: dict
    pods_found: int = 1
    pod_events: list[dict] = field(default_factory=list)
    node: dict | None = None
    node_error: str = ""
    node_events: list[dict] | None = None
    node_events_error: str = ""
    node_pods: list[dict] | None = None
    node_pods_error: str = ""
    triton_log: str | None = None
    """`kubectl logs --timestamps` of the kserve-container; None when not asked for (not started) or failed."""
    triton_log_error: str = ""


def _containers(pod: dict, kind: str = "containers") -> list[dict]:
    return (pod.get("spec") or {}).get(kind) or []


def _status_of(pod: dict, name: str, kind: str = "containerStatuses") -> dict:
    for status in (pod.get("status") or {}).get(kind) or []:
        if status.get("name") == name:
            return status
    return {}


def model_loading(pod: dict) -> str:
    """How the pod gets its model: download (KServe's storage initializer), gcsFuse (the FUSE sidecar and a volume),
    volume (a PersistentVolumeClaim: Hyperdisk ML or any other), or none."""
    init = [c.get("name") for c in _containers(pod, "initContainers")]
    volumes = [v.get("name") for v in (pod.get("spec") or {}).get("volumes") or []]
    if STORAGE_INITIALIZER in init:
        return "download"
    if FUSE_SIDECAR in init or FUSE_SIDECAR in [c.get("name") for c in _containers(pod)]:
        return "gcsFuse"
    return "volume" if MODEL_VOLUME in volumes else "none"


def triton_loads(log: str) -> tuple[datetime | None, datetime | None, list[str]]:
    """(first "loading:", last "successfully loaded", the models loaded) in a `kubectl logs --timestamps` text."""
    started = finished = None
    models: list[str] = []
    for line in log.splitlines():
        stamp, _, text = line.partition(" ")
        moment = parse_time(stamp)
        if moment is None:
            continue
        if TRITON_LOADING.search(text) and started is None:
            started = moment
        loaded = TRITON_LOADED.search(text)
        if loaded:
            finished = moment
            models.append(loaded["model"])
    return started, finished, models


def requests_gpu(pod: dict) -> bool:
    for container in _containers(pod):
        resources = container.get("resources") or {}
        for amounts in (resources.get("limits") or {}, resources.get("requests") or {}):
            if str(amounts.get(GPU_RESOURCE, "0")) not in ("0", ""):
                return True
    return False


def main_container(pod: dict) -> str:
    names = [c.get("name") for c in _containers(pod)]
    return MAIN_CONTAINER if MAIN_CONTAINER in names or not names else str(names[0])


# --- kubectl ---------------------------------------------------------------------------------------------


def kubectl_failure(args: list[str], stderr: str, code: int) -> KubectlError:
    """The error for `kubectl <args>` exiting with `code`: the command and kubectl's last line on stderr."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = re.sub(r"^Error from server \((\w+)\): ", r"\1: ", lines[-1]) if lines else f"exit code {code}"
    return KubectlError(f"`{shlex.join(['kubectl', *args])}` failed: {said}", said)


def kubectl(context: str | None = None, binary: str = "kubectl", timeout: float = 60.0) -> Runner:
    """The Runner that calls the real kubectl (with --context when given)."""

    def run(args: list[str]) -> Any:
        command = [binary, *(["--context", context] if context else []), *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError:
            raise KubectlError(f"{binary} not found on PATH; install kubectl or put it on PATH") from None
        except subprocess.TimeoutExpired:
            raise KubectlError(f"`{shlex.join(['kubectl', *args])}` did not answer within {timeout:g} s") from None
        if done.returncode != 0:
            raise kubectl_failure(args, done.stderr, done.returncode)
        if args[:1] == ["logs"]:  # the one text answer
            return done.stdout
        try:
            return json.loads(done.stdout)
        except ValueError:
            raise KubectlError(f"`{shlex.join(['kubectl', *args])}` did not print JSON") from None

    return run


def _items(document: Any) -> list[dict]:
    if isinstance(document, dict):
        return list(document.get("items") or [])
    return list(document or [])


def _not_found(error: KubectlError) -> bool:
    return "NotFound" in str(error) or "not found" in str(error)


def newest(pods: list[dict]) -> dict:
    """The pod created last (ties: the later name)."""
    return max(
        pods,
        key=lambda p: (
            parse_time(p["metadata"].get("creationTimestamp")) or datetime.min.replace(tzinfo=UTC),
            p["metadata"].get("name", ""),
        ),
    )


def collect(isvc: str, namespace: str, run: Runner) -> ClusterView:
    """Ask kubectl for the newest predictor pod of the InferenceService, its node and their events.

    The pod list and the pod's events are required (a failure is a ColdStartError); the node, its events and the
    kube-system pods on it are optional: a failure there (e.g. no cluster-wide RBAC) becomes the reason of the
    stages that need them."""
    selector = f"serving.kserve.io/inferenceservice={isvc},component=predictor"
    pods = _items(run(["get", "pods", "-n", namespace, "-l", selector, "-o", "json"]))
    if not pods:
        try:
            run(["get", "inferenceservices.serving.kserve.io", isvc, "-n", namespace, "-o", "json"])
        except KubectlError as error:
            if _not_found(error):
                raise ColdStartError(f"no InferenceService {isvc} in namespace {namespace}") from None
            raise
        raise ColdStartError(f"InferenceService {namespace}/{isvc} has no predictor pods (label selector {selector})")
    pod = newest(pods)
    name = pod["metadata"]["name"]
    view = ClusterView(pod=pod, pods_found=len(pods))
    view.pod_events = _items(
        run(
            [
                "get",
                "events",
                "-n",
                namespace,
                "--field-selector",
                f"involvedObject.kind=Pod,involvedObject.name={name}",
                "-o",
                "json",
            ]
        )
    )
    if (_status_of(pod, main_container(pod)).get("state") or {}).keys() - {"waiting"}:
        try:
            view.triton_log = run(["logs", name, "-n", namespace, "-c", main_container(pod), "--timestamps"])
        except KubectlError as error:
            view.triton_log_error = f"Triton's log not readable ({error.reason})"
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        return view
    try:
        view.node = run(["get", "node", node, "-o", "json"])
    except KubectlError as error:
        view.node_error = "it no longer exists" if _not_found(error) else error.reason
        return view
    created = parse_time(pod["metadata"].get("creationTimestamp"))
    node_created = parse_time((view.node or {}).get("metadata", {}).get("creationTimestamp"))
    if created is None or node_created is None or node_created < created:
        return view  # the node existed: its own stages are not needed, so neither are its events
    try:
        view.node_events = _items(
            run(
                [
                    "get",
                    "events",
                    "-A",
                    "--field-selector",
                    f"involvedObject.kind=Node,involvedObject.name={node}",
                    "-o",
                    "json",
                ]
            )
        )
    except KubectlError as error:
        view.node_events_error = f"node events not readable ({error.reason})"
    if requests_gpu(pod):
        try:
            view.node_pods = _items(
                run(["get", "pods", "-n", "kube-system", "--field-selector", f"spec.nodeName={node}", "-o", "json"])
            )
        except KubectlError as error:
            view.node_pods_error = f"kube-system pods not readable ({error.reason})"
    return view
