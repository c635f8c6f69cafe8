"""Pod Security Admission at `restricted` in the model namespaces, checked statically: the predictor pod KServe makes
of every InferenceService (tests/upstream/kserve_pod.py: the runtime's container merged with the model, and the
storage initializer from the ClusterStorageContainer of the real chart render) meets the profile
(tests/upstream/pod_security.py), and would not without the program's two fixes."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest

from components.model_namespace import PSA_ENFORCE_VERSION, PSA_LABELS
from kserve_triton.offline import OfflineRun, run_stack
from settings.inference_services import STORAGE_SCHEMES
from tests.support.helm import chart_dir, needs_helm, render
from tests.support.schemas import KUBERNETES_VERSION, builtin_errors
from tests.support.stacks import PROJECT_OVERRIDE
from tests.upstream.kserve_pod import STORAGE_INITIALIZER, predictor_pod
from tests.upstream.pod_security import restricted_violations

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
RELEASE = "kubernetes:helm.sh/v3:Release"
# The stack files, and the capacity models' configs (tests/support/capacity_models.py): Autopilot, an existing GKE
# cluster with this program's pool, and one with GPU nodes of its own.
CAPACITY_MODELS = ["AUTOPILOT", "EXISTING_GKE", "EXISTING_GPU_NODES"]
STACKS = ["dev", "prod", "local", "shared-gpu", *CAPACITY_MODELS]


@functools.cache
def program(stack: str):
    if stack in CAPACITY_MODELS:
        from tests.support import capacity_models

        harness = OfflineRun()
        harness.configure(getattr(capacity_models, stack))
        harness.run_main(reuse=True)
        return harness.monitor
    return run_stack(stack, overrides=PROJECT_OVERRIDE if stack != "local" else None, reuse=True).monitor


def inference_services(stack: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(n.inputs) for n in program(stack).of_type(ISVC)]


def runtimes(stack: str) -> dict[str, dict[str, Any]]:
    return {n.inputs["metadata"]["name"]: n.inputs["spec"] for n in program(stack).of_type(CSR)}


def kserve_values(stack: str) -> dict[str, Any]:
    (release,) = [n.inputs for n in program(stack).of_type(RELEASE) if n.inputs["name"] == "kserve-resources"]
    return copy.deepcopy(release["values"])


@functools.cache
def _storage_containers(stack: str, values_key: str) -> list[dict[str, Any]]:
    (release,) = [n.inputs for n in program(stack).of_type(RELEASE) if n.inputs["name"] == "kserve-resources"]
    objects = render(chart_dir(release["chart"], release["version"]), release["name"], "kserve", json.loads(values_key))
    return [o for o in objects if o["kind"] == "ClusterStorageContainer"]


def storage_containers(stack: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    return _storage_containers(stack, json.dumps(values, sort_keys=True))


def pods(stack: str, isvcs=None, values=None) -> list[dict[str, Any]]:
    storage = storage_containers(stack, kserve_values(stack) if values is None else values)
    assert storage, "the chart renders the ClusterStorageContainer `default`"
    return [predictor_pod(isvc, runtimes(stack), storage) for isvc in isvcs or inference_services(stack)]


# --- the checker ---------------------------------------------------------------------------------------------


GOOD_CONTEXT = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def spec_with(container_context=None, pod=None, **pod_fields):
    container = {
        "name": "c",
        "image": "i:1",
        "securityContext": GOOD_CONTEXT if container_context is None else container_context,
    }
    return {"containers": [container], **({"securityContext": pod} if pod else {}), **pod_fields}


@pytest.mark.parametrize(
    ("spec", "phrase"),
    [
        (spec_with(hostNetwork=True), "hostNetwork"),
        (spec_with({**GOOD_CONTEXT, "privileged": True}), "privileged"),
        (spec_with({**GOOD_CONTEXT, "allowPrivilegeEscalation": True}), "allowPrivilegeEscalation"),
        (
            spec_with({k: v for k, v in GOOD_CONTEXT.items() if k != "allowPrivilegeEscalation"}),
            "allowPrivilegeEscalation",
        ),
        (spec_with({k: v for k, v in GOOD_CONTEXT.items() if k != "runAsNonRoot"}), "runAsNonRoot"),
        (spec_with({**GOOD_CONTEXT, "runAsUser": 0}), "runAsUser 0"),
        (spec_with({k: v for k, v in GOOD_CONTEXT.items() if k != "seccompProfile"}), "seccompProfile is unset"),
        (spec_with({**GOOD_CONTEXT, "seccompProfile": {"type": "Unconfined"}}), "Unconfined"),
        (spec_with({**GOOD_CONTEXT, "capabilities": {"drop": ["NET_RAW"]}}), "lacks ALL"),
        (spec_with({**GOOD_CONTEXT, "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}), "adds SYS_ADMIN"),
        (spec_with(volumes=[{"name": "h", "hostPath": {"path": "/"}}]), "hostPath"),
        (spec_with(volumes=[{"name": "n", "nfs": {"server": "s", "path": "/"}}]), "volume n: nfs"),
        (spec_with(pod={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}), "kernel.msgmax"),
    ],
)
def test_the_checker_refuses_what_restricted_refuses(spec, phrase):
    found = restricted_violations(spec)
    assert any(phrase in problem for problem in found), found


def test_the_checker_admits_a_pod_whose_settings_come_from_the_pod_level():
    container_only_caps = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    pod = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert restricted_violations(spec_with(container_only_caps, pod=pod)) == []
    assert restricted_violations(spec_with(container_only_caps)) != []


# --- the predictor pods --------------------------------------------------------------------------------------


@needs_helm
@pytest.mark.parametrize("stack", STACKS)
def test_every_predictor_pod_meets_the_restricted_profile(stack):
    for pod in pods(stack):
        assert restricted_violations(pod["spec"]) == [], pod["metadata"]["name"]
        assert [c["name"] for c in pod["spec"]["initContainers"]] == [STORAGE_INITIALIZER]


@needs_helm
@pytest.mark.parametrize("stack", STACKS)
def test_the_predictor_pods_are_valid_pods(stack):
    for pod in pods(stack):
        assert builtin_errors(pod) == [], pod["metadata"]["name"]


def _without_pod_context(isvcs):
    for isvc in isvcs:
        del isvc["spec"]["predictor"]["securityContext"]
    return isvcs


def _without_storage_seccomp(values):
    del values["kserve"]["storage"]["containerSecurityContext"]
    if not values["kserve"]["storage"]:
        del values["kserve"]["storage"]
    return values


@needs_helm
@pytest.mark.parametrize("stack", STACKS)
def test_without_both_fixes_the_storage_initializer_is_refused_and_each_fix_alone_suffices(stack):
    """KServe v0.20's storage initializer has no seccomp profile: the InferenceService's pod securityContext and the
    chart value that adds one to the ClusterStorageContainer each close that gap (both are set)."""
    isvcs, values = _without_pod_context(inference_services(stack)), _without_storage_seccomp(kserve_values(stack))
    neither = pods(stack, isvcs, values)
    for pod in neither:
        assert restricted_violations(pod["spec"]) == [
            "seccomp: storage-initializer: seccompProfile is unset (the pod's: unset)"
        ]
    pod_level_only = pods(stack, values=_without_storage_seccomp(kserve_values(stack)))
    chart_only = pods(stack, isvcs=_without_pod_context(inference_services(stack)))
    for pod in pod_level_only + chart_only:
        assert restricted_violations(pod["spec"]) == [], pod["metadata"]["name"]


@needs_helm
@pytest.mark.parametrize(
    "uri", ["gs://b/m", "s3://b/m", "https://models.example.com/m.tar.gz", "hf://org/model", "https://h/m"]
)
def test_every_storage_scheme_the_settings_take_gets_the_storage_containers_security_context(uri):
    """An init container KServe makes without a matching ClusterStorageContainer has no securityContext at all, which
    the restricted profile refuses (allowPrivilegeEscalation and capabilities are container-level only)."""
    assert {uri.split("://")[0] for uri in ("gs://", "s3://", "https://", "hf://")} | {"pvc"} == set(STORAGE_SCHEMES)
    (isvc,) = inference_services("prod")
    isvc["spec"]["predictor"]["model"]["storageUri"] = uri
    (pod,) = pods("prod", [isvc])
    assert pod["spec"]["initContainers"][0]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert restricted_violations(pod["spec"]) == []
    bare = predictor_pod(isvc, runtimes("prod"), storage_containers=[])
    assert "securityContext" not in bare["spec"]["initContainers"][0]
    assert restricted_violations(bare["spec"]) == [
        "privilege_escalation: storage-initializer: allowPrivilegeEscalation is not false",
        "capabilities: storage-initializer: capabilities.drop lacks ALL",
    ]


def test_a_pvc_model_has_no_init_container_and_passes():
    (isvc,) = inference_services("prod")
    isvc["spec"]["predictor"]["model"]["storageUri"] = "pvc://models-claim/resnet"
    pod = predictor_pod(isvc, runtimes("prod"), storage_containers=[])
    assert "initContainers" not in pod["spec"]
    assert restricted_violations(pod["spec"]) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_model_namespace_enforces_restricted(stack):
    monitor = program(stack)
    labelled = {
        n.inputs["metadata"]["name"]: n.inputs["metadata"].get("labels") or {}
        for n in monitor.of_type("kubernetes:core/v1:Namespace") + monitor.of_type("kubernetes:core/v1:NamespacePatch")
    }
    for isvc in inference_services(stack):
        assert labelled[isvc["metadata"]["namespace"]].items() >= PSA_LABELS.items(), isvc["metadata"]["name"]


def test_the_enforced_version_is_the_one_the_objects_are_validated_against():
    """Raise both together: the pods are checked against this version's profile by these tests."""
    minor = KUBERNETES_VERSION.rsplit(".", 1)[0]
    assert f"v{minor}" == PSA_ENFORCE_VERSION
