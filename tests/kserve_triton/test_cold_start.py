"""`python -m kserve_triton cold-start`: how long each stage of a predictor pod's cold start took.

The fixtures (tests/kserve_triton/fixtures/cold_start/<scenario>/) are what `kubectl get ... -o json` prints for
five cold starts; tests/kserve_triton/fixtures/cold_start/fake_kubectl.py answers kubectl's arguments from them.
All times in the expectations below are seconds after the pod's creation, worked out by hand from the
fixtures' timestamps.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kserve_triton.__main__ import main
from kserve_triton.cluster_state import ColdStartError, event_time, kubectl_failure, parse_time
from kserve_triton.cold_start import (
    DONE,
    IN_PROGRESS,
    NOT_NEEDED,
    NOT_YET,
    STAGES,
    UNKNOWN,
    Report,
    measure,
    run_command,
)

FIXTURES = Path(__file__).parent / "fixtures" / "cold_start"
_spec = importlib.util.spec_from_file_location("fake_kubectl", FIXTURES / "fake_kubectl.py")
assert _spec and _spec.loader
fake_kubectl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_kubectl)


def fixture_runner(scenario: str | Path, calls: list[list[str]] | None = None, edit=None):
    """A Runner answering from a scenario directory; `edit(args, document)` may change an answer."""
    directory = FIXTURES / scenario

    def run(args: list[str]):
        if calls is not None:
            calls.append(args)
        try:
            document = fake_kubectl.answer(args, directory)
        except fake_kubectl.FakeKubectlError as failure:
            raise kubectl_failure(args, failure.stderr, failure.code) from None
        return edit(args, document) if edit else document

    return run


def timeline(report: Report) -> dict[str, tuple]:
    """stage -> (status, start, duration), rounded to the millisecond like the JSON."""
    return {
        s.name: (
            s.status,
            None if s.start_seconds is None else round(s.start_seconds, 3),
            None if s.duration_seconds is None else round(s.duration_seconds, 3),
        )
        for s in report.stages
    }


def measured(scenario: str, isvc: str, **kwargs) -> Report:
    return measure(isvc, "models", fixture_runner(scenario, **kwargs))


# --- a scale-up from zero onto a new GPU node -------------------------------------------------------------


def test_a_scale_up_from_zero_is_timed_stage_by_stage():
    report = measured("scale-from-zero", "torchscript-cifar10")
    assert timeline(report) == {
        "scale-up triggered": (DONE, 0.0, 12.0),  # 09:14:03 pod created -> 09:14:15 TriggeredScaleUp
        "node created": (DONE, 12.0, 47.0),  # -> 09:15:02 node creationTimestamp
        "node Ready": (DONE, 59.0, 19.0),  # -> 09:15:21 NodeReady
        "GPU allocatable": (DONE, 78.0, 41.0),  # -> 09:16:02 nvidia-gpu-device-plugin pod Ready
        "pod scheduled": (DONE, 119.0, 7.348),  # -> 09:16:09.347812 Scheduled (eventTime)
        "model volume ready": (NOT_NEEDED, None, None),  # downloaded
        "storage initializer done": (DONE, 126.348, 21.652),  # -> 09:16:31 finishedAt
        "image pulled": (DONE, 148.0, 10.0),  # -> 09:16:41 Pulled kserve-container
        "container started": (DONE, 158.0, 1.0),  # -> 09:16:42 Started
        "models loaded": (DONE, 159.0, 9.718),  # -> 09:16:51.718404287 "successfully loaded 'cifar10'"
        "Ready": (DONE, 168.718, 13.282),  # -> 09:17:05 Ready condition
    }
    assert report.ready and report.total_seconds == 182.0
    assert report.node_new is True


def test_the_stages_of_a_ready_pod_add_up_to_its_time_to_ready():
    report = measured("scale-from-zero", "torchscript-cifar10")
    assert sum(s.duration_seconds or 0.0 for s in report.stages) == pytest.approx(report.total_seconds)


def test_each_stage_names_the_event_or_field_it_was_read_from():
    report = measured("scale-from-zero", "torchscript-cifar10")
    assert {s.name: s.source for s in report.stages} == {
        "scale-up triggered": "event TriggeredScaleUp (cluster-autoscaler)",
        "node created": "node metadata.creationTimestamp",
        "node Ready": "event NodeReady (kubelet)",
        "GPU allocatable": "device plugin pod nvidia-gpu-device-plugin-small-cos-7mx2p Ready",
        "pod scheduled": "event Scheduled (default-scheduler)",
        "model volume ready": "the model is not read from a volume (downloaded)",
        "storage initializer done": "storage-initializer state.terminated.finishedAt",
        "image pulled": "event Pulled kserve-container (kubelet)",
        "container started": "first event Started kserve-container (kubelet)",
        "models loaded": 'Triton\'s log: last "successfully loaded"',
        "Ready": "pod condition Ready",
    }


def test_the_details_carry_what_the_events_say():
    report = measured("scale-from-zero", "torchscript-cifar10")
    assert (
        report.stage("scale-up triggered").detail == "gke-kserve-triton-de-gpu-pool-5f3e2a1-8c1f2a3b-grp 0->1 (max: 2)"
    )
    assert report.stage("node created").detail == "g2-standard-8 spot in us-central1-a"
    assert report.stage("storage initializer done").detail == "kubelet: pulled in 12.604s; ran 6s"
    assert report.stage("image pulled").detail == "kubelet: pulled in 8.927s"
    assert report.stage("Ready").detail == "2 failed probes before (Unhealthy events)"  # startup probe, model loading


def test_events_are_timed_by_event_time_when_first_and_last_timestamps_are_null():
    events = json.loads((FIXTURES / "scale-from-zero" / "events-pod.json").read_text())["items"]
    scheduled = next(e for e in events if e["reason"] == "Scheduled")
    assert scheduled["firstTimestamp"] is None and scheduled["lastTimestamp"] is None  # events.k8s.io writer
    assert event_time(scheduled) == datetime(2025, 6, 12, 9, 16, 9, 347812, tzinfo=UTC)
    pulled = next(e for e in events if e["reason"] == "Pulled")
    assert pulled["eventTime"] is None  # the kubelet's older recorder
    assert event_time(pulled) == datetime(2025, 6, 12, 9, 16, 24, tzinfo=UTC)


def test_a_new_node_is_asked_for_its_events_and_its_device_plugin():
    calls: list[list[str]] = []
    measured("scale-from-zero", "torchscript-cifar10", calls=calls)
    node = "gke-kserve-triton-de-gpu-pool-5f3e2a1-8c1f2a3b-kq7t"
    pod = "torchscript-cifar10-predictor-7c9b8d5f4-h2x7m"
    selector = "serving.kserve.io/inferenceservice=torchscript-cifar10,component=predictor"
    assert [" ".join(call) for call in calls] == [
        f"get pods -n models -l {selector} -o json",
        f"get events -n models --field-selector involvedObject.kind=Pod,involvedObject.name={pod} -o json",
        f"logs {pod} -n models -c kserve-container --timestamps",
        f"get node {node} -o json",
        f"get events -A --field-selector involvedObject.kind=Node,involvedObject.name={node} -o json",
        f"get pods -n kube-system --field-selector spec.nodeName={node} -o json",
    ]


# --- a warm node ------------------------------------------------------------------------------------------


def test_on_a_node_that_existed_the_node_stages_are_not_needed():
    report = measured("warm-node", "tensorrt-resnet")
    assert timeline(report) == {
        "scale-up triggered": (NOT_NEEDED, None, None),
        "node created": (NOT_NEEDED, None, None),
        "node Ready": (NOT_NEEDED, None, None),
        "GPU allocatable": (NOT_NEEDED, None, None),
        "pod scheduled": (DONE, 0.0, 0.0),  # Scheduled with firstTimestamp only (eventTime null)
        "model volume ready": (NOT_NEEDED, None, None),
        "storage initializer done": (DONE, 0.0, 21.0),
        "image pulled": (DONE, 21.0, 1.0),
        "container started": (DONE, 22.0, 1.0),
        "models loaded": (DONE, 23.0, 6.903),  # -> 10:21:06.903187224
        "Ready": (DONE, 29.903, 2.097),
    }
    assert report.total_seconds == 32.0 and report.node_new is False
    assert report.stage("node created").source == "node existed (created 3d02h38m before the pod)"


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_the_newest_predictor_pod_is_measured_whatever_the_list_order(order):
    def reorder(args, document):
        if args[1] == "pods" and order == "reversed":
            document = {**document, "items": document["items"][::-1]}
        return document

    report = measured("warm-node", "tensorrt-resnet", edit=reorder)  # with the rollout's old, terminating pod
    assert report.pod == "tensorrt-resnet-predictor-6b4c9d7f8-zr5tn"  # created 2025-06-13, the old one a day before
    assert report.pods_found == 2
    assert "newest of 2 predictor pods" in report.as_text()


def test_a_warm_node_needs_no_node_events_nor_kube_system_pods():
    calls: list[list[str]] = []
    measured("warm-node", "tensorrt-resnet", calls=calls)
    assert [call[:3] for call in calls] == [
        ["get", "pods", "-n"],
        ["get", "events", "-n"],
        ["logs", "tensorrt-resnet-predictor-6b4c9d7f8-zr5tn", "-n"],
        ["get", "node", calls[3][2]],
    ]


def test_an_image_already_on_the_node_is_said_so():
    report = measured("warm-node", "tensorrt-resnet")
    assert report.stage("image pulled").detail == "image already on the node"
    assert report.stage("storage initializer done").detail == "image already on the node; ran 19s"


# --- not Ready yet ----------------------------------------------------------------------------------------


def test_a_pull_under_way_is_in_progress_and_the_stages_after_it_not_yet():
    now = datetime(2025, 6, 14, 14, 8, 5, tzinfo=UTC)  # the pod was created at 14:02:40
    report = measure("torchscript-cifar10", "models", fixture_runner("still-pulling"), now)
    assert timeline(report) == {
        "scale-up triggered": (DONE, 0.0, 11.0),
        "node created": (DONE, 11.0, 46.0),
        "node Ready": (DONE, 57.0, 21.0),
        "GPU allocatable": (DONE, 78.0, 43.0),
        "pod scheduled": (DONE, 121.0, 6.082),
        "model volume ready": (NOT_NEEDED, None, None),
        "storage initializer done": (DONE, 127.082, 28.918),
        "image pulled": (IN_PROGRESS, 156.0, 169.0),  # 14:05:16 -> now
        "container started": (NOT_YET, None, None),
        "models loaded": (NOT_YET, None, None),
        "Ready": (NOT_YET, None, None),
    }
    assert not report.ready and report.total_seconds is None and report.elapsed_seconds == 325.0
    assert report.stage("image pulled").detail == "pulling nvcr.io/nvidia/tritonserver:25.01-py3 since +2m37s"
    text = report.as_text()
    assert "in progress (2m49s so far)" in text
    assert text.endswith("Not Ready yet: 5m25s since the pod was created")


def test_a_pod_waiting_for_its_node_shows_the_node_in_progress():
    def pending(args, document):
        if args[1] == "pods":
            pod = document["items"][0]
            del pod["spec"]["nodeName"]
            pod["status"] = {
                "conditions": [
                    {
                        "lastProbeTime": None,
                        "lastTransitionTime": "2025-06-12T09:14:03Z",
                        "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
                        "reason": "Unschedulable",
                        "status": "False",
                        "type": "PodScheduled",
                    }
                ],
                "phase": "Pending",
                "qosClass": "Burstable",
            }
        if args[1] == "events":
            document["items"] = [
                e for e in document["items"] if e["reason"] in ("FailedScheduling", "TriggeredScaleUp")
            ]
            document["items"] = document["items"][:2]
        return document

    calls: list[list[str]] = []
    now = datetime(2025, 6, 12, 9, 14, 40, tzinfo=UTC)
    report = measure("torchscript-cifar10", "models", fixture_runner("scale-from-zero", calls, pending), now)
    statuses = {name: status for name, (status, _, _) in timeline(report).items()}
    assert statuses == {
        "scale-up triggered": DONE,
        "node created": IN_PROGRESS,
        **{name: NOT_YET for name in STAGES[2:]},
        "model volume ready": NOT_NEEDED,  # the pod's spec says: a storage initializer downloads the model
    }
    assert report.stage("node created").duration_seconds == 25.0  # 09:14:15 -> 09:14:40
    assert len(calls) == 2  # no node to look up yet
    assert "not on a node yet" in report.as_text()


# --- a restarted container, and a user without cluster-wide rights ----------------------------------------


def test_a_restarted_container_is_timed_from_its_first_start():
    report = measured("restarted", "tensorrt-resnet")
    started = report.stage("container started")
    assert (started.end_seconds, started.duration_seconds) == (231.0, 1.0)  # 08:33:51, the Started event's first
    assert started.detail == "restarted 1 time (last: OOMKilled, exit code 137); latest start +6m02s"
    loaded = report.stage("models loaded")  # the latest start's load: the crash and the restart come before it
    assert (loaded.end_seconds, loaded.duration_seconds) == (pytest.approx(384.800552), pytest.approx(153.800552))
    assert (
        loaded.detail == "Triton loaded resnet in 21.6s; the log of its latest start (kserve-container restarted once)"
    )
    ready = report.stage("Ready")
    assert (ready.end_seconds, ready.duration_seconds) == (390.0, pytest.approx(5.199448))
    assert ready.detail == (
        "its latest transition: kserve-container restarted 1 time before; 14 failed probes before (Unhealthy events)"
    )
    assert report.total_seconds == 390.0


def test_a_missing_scale_up_event_is_unknown_and_the_next_stage_counts_from_pod_creation():
    report = measured("restarted", "tensorrt-resnet")
    scale_up = report.stage("scale-up triggered")
    assert scale_up.status == UNKNOWN and scale_up.duration_seconds is None
    assert scale_up.source.startswith("no TriggeredScaleUp event on the pod (events are kept for 1 h by default")
    node = report.stage("node created")
    assert (node.start_seconds, node.duration_seconds) == (0.0, 65.0)
    assert "measured from pod creation, as scale-up triggered is unknown" in node.detail


def test_without_cluster_wide_rights_the_node_and_gpu_stages_fall_back_and_say_why():
    report = measured("restarted", "tensorrt-resnet")
    node_ready = report.stage("node Ready")
    assert (node_ready.status, node_ready.end_seconds) == (DONE, 87.0)  # the node's Ready condition, 08:31:27
    assert node_ready.source == "node condition Ready.lastTransitionTime"
    assert node_ready.detail.startswith('node events not readable (Forbidden: events is forbidden: User "ml-dev')
    gpu = report.stage("GPU allocatable")
    assert (gpu.end_seconds, round(gpu.duration_seconds, 3)) == (134.520394, 47.52)  # = Scheduled: an upper bound
    assert gpu.source == "upper bound: event Scheduled (default-scheduler)"
    assert gpu.detail.startswith("kube-system pods not readable (Forbidden: pods is forbidden")
    assert report.stage("pod scheduled").duration_seconds == 0.0


# --- what is not known is said, never guessed -------------------------------------------------------------


def without_events(args, document):
    return {**document, "items": []} if args[1] == "events" else document


def test_after_the_events_expire_only_the_stages_that_need_them_are_unknown():
    report = measured("scale-from-zero", "torchscript-cifar10", edit=without_events)
    assert timeline(report) == {
        "scale-up triggered": (UNKNOWN, None, None),
        "node created": (DONE, 0.0, 59.0),
        "node Ready": (DONE, 59.0, 19.0),  # from the node's Ready condition
        "GPU allocatable": (DONE, 78.0, 41.0),
        "pod scheduled": (DONE, 119.0, 7.0),  # from the PodScheduled condition (whole seconds)
        "model volume ready": (NOT_NEEDED, None, None),
        "storage initializer done": (DONE, 126.0, 22.0),
        "image pulled": (UNKNOWN, None, None),
        "container started": (DONE, 148.0, 11.0),  # state.running.startedAt; includes the unknown pull
        "models loaded": (DONE, 159.0, 9.718),  # Triton's log does not expire with the events
        "Ready": (DONE, 168.718, 13.282),
    }
    assert (
        report.stage("image pulled").source
        == "no Pulled event for kserve-container (events are kept for 1 h by default)"
    )
    assert "as image pulled is unknown" in report.stage("container started").detail
    assert report.total_seconds == 182.0


def test_a_node_ready_condition_newer_than_the_scheduling_is_not_taken_for_the_first_one():
    def flapped(args, document):
        document = without_events(args, document)
        if args[1] == "node":
            document = copy.deepcopy(document)
            ready = next(c for c in document["status"]["conditions"] if c["type"] == "Ready")
            ready["lastTransitionTime"] = "2025-06-12T11:40:00Z"  # went NotReady and back, long after
        return document

    report = measured("scale-from-zero", "torchscript-cifar10", edit=flapped)
    node_ready = report.stage("node Ready")
    assert node_ready.status == UNKNOWN
    assert node_ready.source.endswith("the node's Ready condition changed after the pod was scheduled")


def test_a_node_that_is_gone_leaves_the_node_stages_unknown():
    def gone(args, document):
        if args[1] == "node":
            raise kubectl_failure(args, f'Error from server (NotFound): nodes "{args[2]}" not found\n', 1)
        return document

    report = measured("scale-from-zero", "torchscript-cifar10", edit=gone)
    assert report.stage("node created").status == UNKNOWN
    assert report.stage("node created").source.endswith("cannot be read: it no longer exists")
    assert report.stage("pod scheduled").status == DONE and report.total_seconds == 182.0


def test_a_pod_without_gpus_or_storage_initializer_does_not_need_those_stages():
    def cpu_only(args, document):
        if args[1] == "pods" and args[3] == "models":
            pod = document["items"][0]
            pod["spec"]["initContainers"] = []
            for amounts in pod["spec"]["containers"][0]["resources"].values():
                amounts.pop("nvidia.com/gpu")
        return document

    report = measured("scale-from-zero", "torchscript-cifar10", edit=cpu_only)
    assert report.stage("GPU allocatable").status == NOT_NEEDED
    assert report.stage("storage initializer done").status == NOT_NEEDED
    assert report.stage("image pulled").start_seconds == 126.347812  # right after scheduling


def test_rfc3339_times_of_both_precisions_are_read():
    assert parse_time("2025-06-12T09:16:09Z") == datetime(2025, 6, 12, 9, 16, 9, tzinfo=UTC)
    assert parse_time("2025-06-12T09:16:09.347812Z") == datetime(2025, 6, 12, 9, 16, 9, 347812, tzinfo=UTC)
    assert parse_time("2025-06-12T11:16:09.3+02:00") == datetime(2025, 6, 12, 9, 16, 9, 300000, tzinfo=UTC)
    assert parse_time(None) is None and parse_time("0001-01-01T00:00:00Z") is None


# --- output -----------------------------------------------------------------------------------------------


def test_the_table_shows_start_duration_and_source_of_every_stage():
    text = measured("scale-from-zero", "torchscript-cifar10").as_text()
    lines = text.splitlines()
    assert lines[0] == "Cold start of InferenceService models/torchscript-cifar10"
    assert lines[3].split() == ["Stage", "Start", "Duration", "Source"]
    assert "pod scheduled             +1m59s  7.3s        event Scheduled (default-scheduler)" in lines
    assert "model volume ready        -       not needed  the model is not read from a volume (downloaded)" in lines
    assert lines[-2] == "Model loading (download) of cifar10: init container 6s; Triton's load 7.7s"
    assert lines[-1] == "Total to Ready: 3m02s"


@pytest.mark.parametrize(
    ("scenario", "isvc"), [("scale-from-zero", "torchscript-cifar10"), ("restarted", "tensorrt-resnet")]
)
def test_json_carries_the_same_numbers_as_the_table(scenario, isvc, capsys):
    run = fixture_runner(scenario)
    report = measure(isvc, "models", run)
    args = argparse.Namespace(isvc=isvc, namespace="models", context=None, json=True)
    assert run_command(args, run) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total_seconds"] == report.total_seconds
    assert [(s["stage"], s["status"], s["start_seconds"], s["duration_seconds"]) for s in document["stages"]] == [
        (name, *values) for name, values in timeline(report).items()
    ]
    assert [s["source"] for s in document["stages"]] == [s.source for s in report.stages]


# --- the command line, through a kubectl on PATH ----------------------------------------------------------


@pytest.fixture
def fake_kubectl_on_path(tmp_path, monkeypatch):
    """Put a `kubectl` on PATH that answers from a scenario; returns (choose_scenario, calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FIXTURES / "fake_kubectl.py"}" "$@"\n')
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("COLD_START_LOG", str(log))

    def use(scenario: str | Path):
        monkeypatch.setenv("COLD_START_SCENARIO", str(FIXTURES / scenario))

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return use, calls


def test_the_command_prints_the_table_read_through_kubectl(fake_kubectl_on_path, capsys):
    use, calls = fake_kubectl_on_path
    use("scale-from-zero")
    context = "gke_my-gcp-project_us-central1-a_kserve-triton-dev"
    assert main(["cold-start", "--isvc", "torchscript-cifar10", "--context", context]) == 0
    out = capsys.readouterr().out
    assert "GPU allocatable           +1m18s  41s" in out
    assert out.rstrip().endswith("Total to Ready: 3m02s")
    assert all(call[:2] == ["--context", context] for call in calls()) and len(calls()) == 6
    assert calls()[2][2:] == ["logs", "torchscript-cifar10-predictor-7c9b8d5f4-h2x7m", "-n", "models", "-c",
                              "kserve-container", "--timestamps"]  # fmt: skip


def test_the_command_prints_json_read_through_kubectl(fake_kubectl_on_path, capsys):
    use, _ = fake_kubectl_on_path
    use("restarted")
    assert main(["cold-start", "--isvc", "tensorrt-resnet", "-n", "models", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["pod"], document["total_seconds"], document["ready"]) == (
        "tensorrt-resnet-predictor-6b4c9d7f8-n6cfd",
        390.0,
        True,
    )
    assert document["stages"][3]["source"] == "upper bound: event Scheduled (default-scheduler)"


def test_a_failing_kubectl_makes_the_command_fail_with_a_one_line_reason(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        "echo 'E0612 09:20:01.123456   4242 memcache.go:265] couldn'\"'\"'t get current server API group list' >&2\n"
        "echo 'error: You must be logged in to the server (Unauthorized)' >&2\n"
        "exit 1\n"
    )
    kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert main(["cold-start", "--isvc", "torchscript-cifar10"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "cold-start: `kubectl get pods -n models -l serving.kserve.io/inferenceservice=torchscript-cifar10,"
        "component=predictor -o json` failed: error: You must be logged in to the server (Unauthorized)"
    ]


def test_without_kubectl_the_command_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["cold-start", "--isvc", "torchscript-cifar10"]) == 1
    assert capsys.readouterr().err == "cold-start: kubectl not found on PATH; install kubectl or put it on PATH\n"


def test_an_unknown_inference_service_is_named_in_the_error(fake_kubectl_on_path, tmp_path, capsys):
    use, calls = fake_kubectl_on_path
    use(tmp_path)  # an empty cluster: no pods, no InferenceServices
    assert main(["cold-start", "--isvc", "resnet", "-n", "team-a"]) == 1
    assert capsys.readouterr().err == "cold-start: no InferenceService resnet in namespace team-a\n"
    assert calls()[-1] == ["get", "inferenceservices.serving.kserve.io", "resnet", "-n", "team-a", "-o", "json"]


def test_an_inference_service_without_predictor_pods_is_an_error(tmp_path):
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "resnet"}}
    (tmp_path / "isvc.json").write_text(json.dumps(isvc))
    with pytest.raises(ColdStartError, match=r"^InferenceService models/resnet has no predictor pods \(label selector"):
        measure("resnet", "models", fixture_runner(tmp_path))


# --- the model-loading stage ------------------------------------------------------------------------------


def test_a_model_read_through_fuse_is_timed_by_its_sidecar_and_tritons_load():
    report = measured("fuse-model", "tensorrt-resnet")
    stages = timeline(report)
    assert stages["model volume ready"] == (DONE, 0.0, 3.0)  # 10:20:37 Scheduled -> 10:20:40 sidecar running
    assert stages["storage initializer done"] == (NOT_NEEDED, None, None)
    assert stages["models loaded"] == (DONE, 5.0, 32.562)  # -> 10:21:14.562098342 "successfully loaded 'resnet'"
    assert report.stage("model volume ready").source == "gke-gcsfuse-sidecar state.running.startedAt"
    assert report.loading.as_dict() == {
        "mode": "gcsFuse",
        "init_container_seconds": None,
        "volume_seconds": 3.0,
        "triton_load_seconds": 31.447,  # 10:20:43.114927 "loading: resnet:1" -> 10:21:14.562098
        "models": ["resnet"],
        "note": "Triton's load includes reading the model from the bucket",
    }
    assert "Model loading (gcsFuse) of resnet: volume 3s; Triton's load 31.4s" in report.as_text()
    assert report.total_seconds == 42.0


def test_a_download_is_timed_by_its_init_container_and_tritons_load():
    loading = measured("scale-from-zero", "torchscript-cifar10").loading
    assert (loading.mode, loading.init_container_seconds, loading.volume_seconds) == ("download", 6.0, None)
    assert loading.triton_load_seconds == pytest.approx(7.686582)  # 09:16:44.031822915 -> 09:16:51.718404287


def test_a_hyperdisk_ml_volume_is_ready_when_it_is_attached():
    def attached(args, document):
        if args[0] == "get" and args[1] == "pods":
            for pod in document["items"]:
                pod["spec"]["initContainers"] = []
                pod["status"]["initContainerStatuses"] = []
        if args[0] == "get" and args[1] == "events" and "involvedObject.kind=Pod" in " ".join(args):
            document["items"] = [e for e in document["items"] if "gke-gcsfuse-sidecar" not in str(e["involvedObject"])]
            document["items"].append(
                {
                    "apiVersion": "v1",
                    "count": 1,
                    "eventTime": None,
                    "firstTimestamp": "2025-06-13T10:20:52Z",
                    "involvedObject": {
                        "kind": "Pod",
                        "name": "tensorrt-resnet-predictor-6b4c9d7f8-zr5tn",
                        "namespace": "models",
                    },
                    "kind": "Event",
                    "lastTimestamp": "2025-06-13T10:20:52Z",
                    "message": 'AttachVolume.Attach succeeded for volume "pvc-0d3f"',
                    "metadata": {"name": "attach", "namespace": "models"},
                    "reason": "SuccessfulAttachVolume",
                    "source": {"component": "attachdetach-controller"},
                    "type": "Normal",
                }
            )
        return document

    report = measured("fuse-model", "tensorrt-resnet", edit=attached)
    assert report.loading.mode == "volume"
    assert timeline(report)["model volume ready"] == (DONE, 0.0, 15.0)
    assert report.stage("model volume ready").source == "event SuccessfulAttachVolume (attachdetach-controller)"


def test_an_unreadable_log_leaves_the_model_load_unknown_and_says_why():
    def forbidden(args, document):
        if args[0] == "logs":
            raise kubectl_failure(args, 'Error from server (Forbidden): pods "x" is forbidden: cannot get pods/log', 1)
        return document

    report = measured("warm-node", "tensorrt-resnet", edit=forbidden)
    loaded = report.stage("models loaded")
    assert loaded.status == UNKNOWN and loaded.source.startswith("Triton's log not readable (Forbidden")
    assert "as models loaded is unknown" in report.stage("Ready").detail
