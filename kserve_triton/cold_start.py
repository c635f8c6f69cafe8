"""How long each stage of a predictor pod's cold start took, read from the cluster with kubectl.

`python -m kserve_triton cold-start --isvc NAME [-n NAMESPACE] [--context CTX] [--json]` takes the newest pod
of the InferenceService's predictor (labels `serving.kserve.io/inferenceservice=NAME,component=predictor`), its
node, the events of both and, for a node created for the pod, the GPU device plugin pod on it, and prints when
each stage of "Time to first inference" ended, measured from the pod's creation:

    scale-up triggered  event TriggeredScaleUp on the pod (cluster-autoscaler)
    node created        the node's metadata.creationTimestamp
    node Ready          event NodeReady on the node (kubelet); else the node's Ready condition
    GPU allocatable     the GPU device plugin pod on the node turning Ready; else, as an upper bound, the
                        time the pod (which requests nvidia.com/gpu) was scheduled there
    pod scheduled       event Scheduled on the pod; else the pod's PodScheduled condition
    model volume ready  a model read from a volume instead of downloaded: the FUSE sidecar's
                        state.running.startedAt (Cloud Storage FUSE), else event SuccessfulAttachVolume
                        (Hyperdisk ML); not needed for a download
    storage initializer the storage-initializer init container's state.terminated.finishedAt (its image pull
      done              and the model download); else the pod's Initialized condition
    image pulled        event Pulled of the kserve-container (the Triton image)
    container started   the first event Started of the kserve-container; else its state.running.startedAt
    models loaded       the last "successfully loaded" line of Triton's log (kubectl logs --timestamps)
    Ready               the pod's Ready condition

The model-loading stage is reported on its own as well: the init container (download), the volume (FUSE or
Hyperdisk ML) and Triton's own model load (from its first "loading:" to its last "successfully loaded" line), which
through FUSE includes reading the model from the bucket.

A stage that cannot be determined is reported as unknown with the reason, never estimated. When the pod landed
on a node that existed before it, the node stages are "not needed". Only kubectl is used (no port-forward, no
Pulumi): stdlib only, so the smoke-test virtualenv can run it. Reading the cluster is `cluster_state.py`; this
module times the stages and reports them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kserve_triton.cluster_state import (
    DEVICE_PLUGIN_PREFIXES,
    FUSE_SIDECAR,
    GPU_RESOURCE,
    STORAGE_INITIALIZER,
    ClusterView,
    ColdStartError,
    Runner,
    _condition,
    _containers,
    _events,
    _first,
    _status_of,
    _true_since,
    collect,
    event_count,
    event_reporter,
    event_time,
    kubectl,
    main_container,
    model_loading,
    parse_time,
    requests_gpu,
    triton_loads,
)

EVENT_TTL_NOTE = "events are kept for 1 h by default"

SCALE_UP = "scale-up triggered"
NODE_CREATED = "node created"
NODE_READY = "node Ready"
GPU_ALLOCATABLE = "GPU allocatable"
SCHEDULED = "pod scheduled"
VOLUME = "model volume ready"
STORAGE = "storage initializer done"
IMAGE = "image pulled"
STARTED = "container started"
LOADED = "models loaded"
READY = "Ready"
STAGES = (
    SCALE_UP, NODE_CREATED, NODE_READY, GPU_ALLOCATABLE, SCHEDULED, VOLUME, STORAGE, IMAGE, STARTED, LOADED, READY
)  # fmt: skip

DONE, IN_PROGRESS, NOT_YET, NOT_NEEDED, UNKNOWN = "done", "in progress", "not yet", "not needed", "unknown"


def human(seconds: float) -> str:
    """12s, 7.3s, 1m18s, 1h02m03s, 3d02h38m."""
    if seconds < 60:
        return f"{seconds:.0f}s" if abs(seconds - round(seconds)) < 0.05 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h{minutes:02d}m"


def _short_scale_up(message: str) -> str:
    """Shorten the scale-up plan "[{https://.../instanceGroups/GROUP 0->1 (max: 2)}]" to "GROUP 0->1 (max: 2)"."""
    groups = re.findall(r"\{(\S+) (\d+->\d+) \(max: (\d+)\)\}", message)
    if not groups:
        return message
    return ", ".join(f"{url.rstrip('/').rsplit('/', 1)[-1]} {sizes} (max: {most})" for url, sizes, most in groups)


def _pull_detail(event: dict | None) -> str:
    """What the kubelet said about an image pull, short."""
    if event is None:
        return ""
    message = event.get("message") or ""
    if "already present on machine" in message:
        return "image already on the node"
    match = re.search(
        r'" in ((?:[0-9.]+(?:h|ms|m|s|µs|us|ns))+)(?: \(((?:[0-9.]+(?:h|ms|m|s|µs|us|ns))+) including waiting\))?',
        message,
    )
    if match:
        waiting = f" ({match[2]} including waiting)" if match[2] and match[2] != match[1] else ""
        return f"kubelet: pulled in {match[1]}{waiting}"
    return "kubelet: pulled"


# --- the measurement -------------------------------------------------------------------------------------


@dataclass
class Finding:
    """When one stage ended, and how that is known; or why it does not apply or is not known."""

    at: datetime | None = None
    source: str = ""
    detail: str = ""
    not_needed: str | None = None
    missing: str = ""


@dataclass
class Stage:
    name: str
    status: str
    start_seconds: float | None = None
    end_seconds: float | None = None
    duration_seconds: float | None = None
    source: str = ""
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "status": self.status,
            "start_seconds": _round(self.start_seconds),
            "end_seconds": _round(self.end_seconds),
            "duration_seconds": _round(self.duration_seconds),
            "source": self.source,
            "detail": self.detail,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class ModelLoading:
    """The model-loading stage on its own: how the pod gets its model, and where the time went."""

    mode: str
    init_container_seconds: float | None
    volume_seconds: float | None
    triton_load_seconds: float | None
    models: list[str]
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "init_container_seconds": _round(self.init_container_seconds),
            "volume_seconds": _round(self.volume_seconds),
            "triton_load_seconds": _round(self.triton_load_seconds),
            "models": self.models,
            "note": self.note,
        }

    def as_text(self) -> str:
        parts = []
        for label, value in (
            ("init container", self.init_container_seconds),
            ("volume", self.volume_seconds),
            ("Triton's load", self.triton_load_seconds),
        ):
            if value is not None:
                parts.append(f"{label} {human(value)}")
        models = f" of {', '.join(self.models)}" if self.models else ""
        timing = "; ".join(parts) if parts else "unknown"
        return f"Model loading ({self.mode}){models}: {timing}" + (f" ({self.note})" if self.note else "")


@dataclass
class Report:
    isvc: str
    namespace: str
    pod: str
    pod_created: str
    pods_found: int
    node: str | None
    node_new: bool | None
    ready: bool
    total_seconds: float | None
    elapsed_seconds: float | None
    stages: list[Stage] = field(default_factory=list)
    loading: ModelLoading | None = None

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "isvc": self.isvc,
            "namespace": self.namespace,
            "pod": self.pod,
            "pod_created": self.pod_created,
            "pods_found": self.pods_found,
            "node": self.node,
            "node_new": self.node_new,
            "ready": self.ready,
            "total_seconds": _round(self.total_seconds),
            "elapsed_seconds": _round(self.elapsed_seconds),
            "stages": [s.as_dict() for s in self.stages],
            "model_loading": self.loading.as_dict() if self.loading else None,
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def as_text(self) -> str:
        pods = f" (newest of {self.pods_found} predictor pods)" if self.pods_found > 1 else ""
        if self.node is None:
            where = "not on a node yet"
        elif self.node_new is None:
            where = f"on node {self.node} (which could not be read)"
        else:
            where = f"on node {self.node} ({'created for it' if self.node_new else 'which existed before it'})"
        lines = [
            f"Cold start of InferenceService {self.namespace}/{self.isvc}",
            f"pod {self.pod}{pods}, created {self.pod_created}, {where}",
            "",
        ]
        rows = [("Stage", "Start", "Duration", "Source")]
        for s in self.stages:
            start = f"+{human(s.start_seconds)}" if s.start_seconds is not None else "-"
            if s.status == DONE:
                duration = human(s.duration_seconds or 0.0)
            elif s.status == IN_PROGRESS:
                duration = f"in progress ({human(s.duration_seconds or 0.0)} so far)"
            else:
                duration = s.status
            source = "; ".join(part for part in (s.source, s.detail) if part)
            rows.append((s.name, start, duration, source))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
        lines.append("")
        if self.loading is not None:
            lines.append(self.loading.as_text())
        if self.ready and self.total_seconds is not None:
            lines.append(f"Total to Ready: {human(self.total_seconds)}")
        else:
            lines.append(f"Not Ready yet: {human(self.elapsed_seconds or 0.0)} since the pod was created")
        return "\n".join(lines)


class _Analysis:
    def __init__(self, view: ClusterView):
        self.view = view
        self.pod = view.pod
        self.created = parse_time(self.pod["metadata"].get("creationTimestamp"))
        if self.created is None:
            raise ColdStartError(f"pod {self.pod['metadata'].get('name')} has no creationTimestamp")
        uid = self.pod["metadata"].get("uid")
        self.events = [
            e
            for e in view.pod_events
            if (e.get("involvedObject") or {}).get("kind", "Pod") == "Pod"
            and (not uid or not (e.get("involvedObject") or {}).get("uid") or e["involvedObject"]["uid"] == uid)
        ]
        self.node_name = (self.pod.get("spec") or {}).get("nodeName")
        self.node = view.node
        self.node_created = parse_time((self.node or {}).get("metadata", {}).get("creationTimestamp"))
        self.node_new = None if self.node_created is None else self.node_created >= self.created
        self.main = main_container(self.pod)
        self.scheduled = self._scheduled()

    # Each method returns the Finding for one stage.

    def _node_existed(self) -> str:
        assert self.node_created is not None and self.created is not None
        return f"node existed (created {human((self.created - self.node_created).total_seconds())} before the pod)"

    def _no_node(self) -> Finding | None:
        if not self.node_name:
            return Finding(missing="the pod has no node yet")
        if self.node is None:
            return Finding(missing=f"node {self.node_name} cannot be read: {self.view.node_error}")
        if not self.node_new:
            return Finding(not_needed=self._node_existed())
        return None

    def scale_up(self) -> Finding:
        triggered = _first(self.events, "TriggeredScaleUp")
        if self.node_name and self.node is not None and not self.node_new:
            return Finding(not_needed=self._node_existed())
        if triggered:
            return Finding(
                event_time(triggered),
                f"event TriggeredScaleUp ({event_reporter(triggered)})",
                _short_scale_up(triggered.get("message") or ""),
            )
        refused = _events(self.events, "NotTriggerScaleUp")
        if refused:
            return Finding(missing=f"cluster-autoscaler: {refused[-1].get('message', '')}")
        if not self.node_name:
            return Finding(missing="no TriggeredScaleUp event yet")
        return Finding(
            missing=f"no TriggeredScaleUp event on the pod ({EVENT_TTL_NOTE}; or another pod's scale-up made the node)"
        )

    def node_created_at(self) -> Finding:
        if (gap := self._no_node()) is not None:
            return gap
        labels = (self.node or {}).get("metadata", {}).get("labels") or {}
        machine = labels.get("node.kubernetes.io/instance-type") or labels.get("beta.kubernetes.io/instance-type")
        zone = labels.get("topology.kubernetes.io/zone")
        spot = " spot" if labels.get("cloud.google.com/gke-spot") == "true" else ""
        detail = f"{machine}{spot} in {zone}" if machine and zone else ""
        return Finding(self.node_created, "node metadata.creationTimestamp", detail)

    def node_ready(self) -> Finding:
        if (gap := self._no_node()) is not None:
            return gap
        ready = _first(self.view.node_events or [], "NodeReady")
        if ready:
            return Finding(event_time(ready), f"event NodeReady ({event_reporter(ready)})")
        since = _true_since(self.node or {}, "Ready")
        why = self.view.node_events_error or f"no NodeReady event ({EVENT_TTL_NOTE})"
        if since is not None and (self.scheduled.at is None or since <= self.scheduled.at):
            return Finding(since, "node condition Ready.lastTransitionTime", why)
        if since is not None:
            return Finding(missing=f"{why}; the node's Ready condition changed after the pod was scheduled")
        return Finding(missing=f"{why}; the node is not Ready")

    def gpu_allocatable(self) -> Finding:
        if not requests_gpu(self.pod):
            return Finding(not_needed=f"the pod requests no {GPU_RESOURCE}")
        if (gap := self._no_node()) is not None:
            return gap
        allocatable = ((self.node or {}).get("status") or {}).get("allocatable", {}).get(GPU_RESOURCE)
        now = f"node allocatable {GPU_RESOURCE} now: {allocatable or 0}"
        why = ""
        plugins = [
            p
            for p in self.view.node_pods or []
            if str(p["metadata"].get("name", "")).startswith(DEVICE_PLUGIN_PREFIXES)
        ]
        for plugin in plugins:
            ready = _true_since(plugin, "Ready")
            if ready is not None and (self.scheduled.at is None or ready <= self.scheduled.at):
                name = plugin["metadata"]["name"]
                return Finding(ready, f"device plugin pod {name} Ready", now)
            why = f"device plugin pod {plugin['metadata'].get('name')} turned Ready after the pod was scheduled"
        if not why:
            why = self.view.node_pods_error or "no GPU device plugin pod found on the node in kube-system"
        if self.scheduled.at is not None:
            return Finding(
                self.scheduled.at,
                f"upper bound: {self.scheduled.source}",
                f"{why}; the scheduler only places a pod requesting {GPU_RESOURCE} once it is allocatable",
            )
        return Finding(missing=f"{why}; the pod is not scheduled yet")

    def _scheduled(self) -> Finding:
        scheduled = _first(self.events, "Scheduled")
        if scheduled:
            return Finding(event_time(scheduled), f"event Scheduled ({event_reporter(scheduled)})")
        since = _true_since(self.pod, "PodScheduled")
        if since is not None:
            return Finding(since, "pod condition PodScheduled", f"no Scheduled event ({EVENT_TTL_NOTE})")
        failed = _events(self.events, "FailedScheduling")
        if failed:
            return Finding(missing=f"not scheduled: {failed[-1].get('message', '')}")
        return Finding(missing="the pod is not scheduled")

    def volume(self) -> Finding:
        mode = model_loading(self.pod)
        if mode in ("download", "none"):
            return Finding(
                not_needed="the model is not read from a volume" + (" (downloaded)" if mode == "download" else "")
            )
        if mode == "gcsFuse":
            status = _status_of(self.pod, FUSE_SIDECAR, "initContainerStatuses") or _status_of(self.pod, FUSE_SIDECAR)
            started = parse_time(((status.get("state") or {}).get("running") or {}).get("startedAt"))
            if started is not None:
                return Finding(
                    started, f"{FUSE_SIDECAR} state.running.startedAt", "Cloud Storage FUSE serves the bucket"
                )
            failed = _events(self.events, "FailedMount")
            why = failed[-1].get("message", "") if failed else "not started"
            return Finding(missing=f"{FUSE_SIDECAR} {why}")
        attached = _first(self.events, "SuccessfulAttachVolume")
        if attached:
            return Finding(event_time(attached), f"event SuccessfulAttachVolume ({event_reporter(attached)})")
        failed = _events(self.events, "FailedAttachVolume") + _events(self.events, "FailedMount")
        if failed:
            return Finding(missing=f"{failed[-1].get('reason')}: {failed[-1].get('message', '')}")
        return Finding(missing="no SuccessfulAttachVolume event (a volume that needs no attach, or events expired)")

    def loaded(self) -> Finding:
        if self.view.triton_log is None:
            return Finding(missing=self.view.triton_log_error or f"{self.main} has not started: no log yet")
        started, finished, models = triton_loads(self.view.triton_log)
        if finished is None:
            return Finding(missing='no "successfully loaded" line in Triton\'s log yet')
        took = f"Triton loaded {', '.join(models)} in {human((finished - started).total_seconds())}" if started else ""
        restarts = int(_status_of(self.pod, self.main).get("restartCount") or 0)
        times = "once" if restarts == 1 else f"{restarts} times"
        latest = f"the log of its latest start ({self.main} restarted {times})" if restarts else ""
        detail = "; ".join(part for part in (took, latest) if part)
        return Finding(finished, 'Triton\'s log: last "successfully loaded"', detail)

    def model_loading(self, findings: dict[str, Finding]) -> ModelLoading:
        mode = model_loading(self.pod)
        init = None
        if mode == "download":
            status = _status_of(self.pod, STORAGE_INITIALIZER, "initContainerStatuses")
            terminated = (status.get("state") or {}).get("terminated") or {}
            begin, end = parse_time(terminated.get("startedAt")), parse_time(terminated.get("finishedAt"))
            init = (end - begin).total_seconds() if begin and end else None
        volume = None
        if findings[VOLUME].at is not None and findings[SCHEDULED].at is not None:
            volume = max((findings[VOLUME].at - findings[SCHEDULED].at).total_seconds(), 0.0)
        load, models, note = None, [], ""
        if self.view.triton_log is not None:
            started, finished, models = triton_loads(self.view.triton_log)
            if started and finished:
                load = (finished - started).total_seconds()
            if mode == "gcsFuse":
                note = "Triton's load includes reading the model from the bucket"
        return ModelLoading(mode, init, volume, load, models, note)

    def storage(self) -> Finding:
        if STORAGE_INITIALIZER not in [c.get("name") for c in _containers(self.pod, "initContainers")]:
            return Finding(not_needed=f"the pod has no {STORAGE_INITIALIZER} init container")
        status = _status_of(self.pod, STORAGE_INITIALIZER, "initContainerStatuses")
        state = status.get("state") or {}
        pull = _pull_detail(_first(self.events, "Pulled", STORAGE_INITIALIZER))
        terminated = state.get("terminated") or {}
        finished = parse_time(terminated.get("finishedAt"))
        if finished is not None and terminated.get("exitCode", 0) == 0:
            started = parse_time(terminated.get("startedAt"))
            ran = f"ran {human((finished - started).total_seconds())}" if started else ""
            restarts = f"restarted {status['restartCount']} times" if status.get("restartCount") else ""
            detail = "; ".join(part for part in (pull, ran, restarts) if part)
            return Finding(finished, f"{STORAGE_INITIALIZER} state.terminated.finishedAt", detail)
        initialized = _true_since(self.pod, "Initialized")
        if initialized is not None:
            return Finding(initialized, "pod condition Initialized", pull)
        if running := parse_time((state.get("running") or {}).get("startedAt")):
            return Finding(missing=f"{STORAGE_INITIALIZER} running since {_offset(running, self.created)}")
        waiting = (state.get("waiting") or {}).get("reason")
        return Finding(missing=f"{STORAGE_INITIALIZER} {waiting or 'not started'}")

    def image(self) -> Finding:
        pulled = _first(self.events, "Pulled", self.main)
        if pulled:
            return Finding(
                event_time(pulled), f"event Pulled {self.main} ({event_reporter(pulled)})", _pull_detail(pulled)
            )
        pulling = _first(self.events, "Pulling", self.main)
        if pulling:
            image = re.search(r'"([^"]+)"', pulling.get("message") or "")
            what = image[1] if image else "the image"
            return Finding(missing=f"pulling {what} since {_offset(event_time(pulling), self.created)}")
        if _status_of(self.pod, self.main).get("imageID"):
            return Finding(missing=f"no Pulled event for {self.main} ({EVENT_TTL_NOTE})")
        return Finding(missing=f"no Pulling event for {self.main} yet")

    def started(self) -> Finding:
        status = _status_of(self.pod, self.main)
        restarts = int(status.get("restartCount") or 0)
        running = parse_time(((status.get("state") or {}).get("running") or {}).get("startedAt"))
        previous = (status.get("lastState") or {}).get("terminated") or {}
        detail = ""
        if restarts:
            why = previous.get("reason") or "exited"
            code = f", exit code {previous['exitCode']}" if "exitCode" in previous else ""
            latest = f"; latest start {_offset(running, self.created)}" if running else ""
            detail = f"restarted {restarts} time{'s' if restarts > 1 else ''} (last: {why}{code}){latest}"
        event = _first(self.events, "Started", self.main)
        if event:
            return Finding(event_time(event), f"first event Started {self.main} ({event_reporter(event)})", detail)
        if restarts == 0 and running is not None:
            return Finding(running, f"{self.main} state.running.startedAt", "")
        first_run = parse_time(previous.get("startedAt"))
        if restarts == 1 and first_run is not None:
            return Finding(first_run, f"{self.main} lastState.terminated.startedAt", detail)
        if restarts > 1:
            return Finding(missing=f"first start unknown: {detail}, and no Started event ({EVENT_TTL_NOTE})")
        waiting = ((status.get("state") or {}).get("waiting") or {}).get("reason")
        return Finding(missing=f"{self.main} {waiting or 'not started'}")

    def ready(self) -> Finding:
        since = _true_since(self.pod, "Ready")
        if since is None:
            condition = _condition(self.pod, "Ready") or {}
            return Finding(missing=f"pod condition Ready is {condition.get('status', 'unset')}")
        notes = []
        restarts = int(_status_of(self.pod, self.main).get("restartCount") or 0)
        if restarts:
            times = f"{restarts} time{'s' if restarts > 1 else ''}"
            notes.append(f"its latest transition: {self.main} restarted {times} before")
        failed = sum(event_count(e) for e in _events(self.events, "Unhealthy", self.main))
        if failed:
            notes.append(f"{failed} failed probes before (Unhealthy events)")
        return Finding(since, "pod condition Ready", "; ".join(notes))


def _offset(moment: datetime | None, origin: datetime | None) -> str:
    if moment is None or origin is None:
        return "?"
    return f"+{human((moment - origin).total_seconds())}"


def analyse(view: ClusterView, isvc: str, namespace: str, now: datetime) -> Report:
    """The stage table of one pod, from what kubectl returned. Pure: no I/O, `now` only for stages in progress."""
    analysis = _Analysis(view)
    findings = {
        SCALE_UP: analysis.scale_up(),
        NODE_CREATED: analysis.node_created_at(),
        NODE_READY: analysis.node_ready(),
        GPU_ALLOCATABLE: analysis.gpu_allocatable(),
        SCHEDULED: analysis.scheduled,
        VOLUME: analysis.volume(),
        STORAGE: analysis.storage(),
        IMAGE: analysis.image(),
        STARTED: analysis.started(),
        LOADED: analysis.loaded(),
        READY: analysis.ready(),
    }
    created = analysis.created
    assert created is not None
    ready = findings[READY].at is not None

    def seconds(moment: datetime) -> float:
        return (moment - created).total_seconds()

    stages: list[Stage] = []
    previous_end, previous_name, gap = 0.0, "pod creation", ""
    for index, name in enumerate(STAGES):
        found = findings[name]
        if found.not_needed is not None:
            stages.append(Stage(name, NOT_NEEDED, source=found.not_needed))
            continue
        if found.at is not None:
            end = seconds(found.at)
            notes = [found.detail] if found.detail else []
            if gap:
                since = "pod creation" if previous_name == "pod creation" else f"the end of {previous_name}"
                notes.append(f"measured from {since}, as {gap} is unknown")
            duration = end - previous_end
            if duration < 0:
                notes.append(f"ended {human(-duration)} before {previous_name} (timestamps of different precision)")
                duration = 0.0
            stages.append(Stage(name, DONE, previous_end, end, duration, found.source, "; ".join(notes)))
            previous_end, previous_name, gap = max(previous_end, end), name, ""
            continue
        later_known = any(findings[n].at is not None for n in STAGES[index + 1 :])
        if ready or later_known:
            stages.append(Stage(name, UNKNOWN, source=found.missing))
            gap = f"{gap} and {name}" if gap else name
        elif any(s.status == IN_PROGRESS for s in stages):
            stages.append(Stage(name, NOT_YET, source=found.missing))
        else:
            elapsed = (now - created).total_seconds() - previous_end
            stages.append(Stage(name, IN_PROGRESS, previous_end, None, max(elapsed, 0.0), "", found.missing))

    total = seconds(findings[READY].at) if findings[READY].at is not None else None
    return Report(
        isvc=isvc,
        namespace=namespace,
        pod=view.pod["metadata"]["name"],
        pod_created=view.pod["metadata"]["creationTimestamp"],
        pods_found=view.pods_found,
        node=analysis.node_name,
        node_new=analysis.node_new,
        ready=ready,
        total_seconds=total,
        elapsed_seconds=None if ready else (now - created).total_seconds(),
        stages=stages,
        loading=analysis.model_loading(findings),
    )


def measure(isvc: str, namespace: str, run: Runner, now: datetime | None = None) -> Report:
    return analyse(collect(isvc, namespace, run), isvc, namespace, now or datetime.now(UTC))


# --- command line ----------------------------------------------------------------------------------------


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the `cold-start` subcommand to an argparse subparsers object."""
    parser = commands.add_parser(
        "cold-start", help="how long each stage of a predictor pod's cold start took (reads the cluster with kubectl)"
    )
    parser.add_argument("--isvc", required=True, help="InferenceService name")
    parser.add_argument("--namespace", "-n", default="models", help="namespace of --isvc (default: models)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--json", action="store_true", help="print the stages as JSON")
    return parser


def run_command(args: argparse.Namespace, run: Runner | None = None, now: datetime | None = None) -> int:
    try:
        report = measure(args.isvc, args.namespace, run or kubectl(args.context), now)
    except ColdStartError as error:
        print(f"cold-start: {error}", file=sys.stderr)
        return 1
    print(report.as_json() if args.json else report.as_text())
    return 0
