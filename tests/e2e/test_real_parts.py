"""What the real KServe, KEDA, HPA and API server do with the program's objects, against what the project's models
of them (tests/upstream/) say: every shipped stack's objects through the real admission chain, the predictor pod the
real KServe makes against tests/upstream/kserve_pod.py, Pod Security at `restricted`, scaling through the real KEDA
and the real HorizontalPodAutoscaler, and the policy pack refusing through the real CLI.

What stays simulated: containers (the model pods on kwok's GPU nodes are marked Running and Ready, nothing runs in
them), so their Triton metrics come from a page whose counters grow at the rate a test sets; GPUs; GCP."""

from __future__ import annotations

import copy
import functools
import itertools
import math
from typing import Any

import pytest
from pulumi import automation as auto

from components.inference_services import SCALE_UP_POLICIES
from kserve_triton.offline import run_stack, unwrap_secret
from tests.support.embedded import PROJECT, Kube, condition, model, with_changes
from tests.support.stacks import PROJECT_OVERRIDE, STACK_FILES, shared_dir
from tests.upstream.hpa import Hpa, Policy
from tests.upstream.kserve_autoscaling import validation_errors
from tests.upstream.kserve_pod import predictor_pod

pytestmark = pytest.mark.e2e

NAMESPACE = "models"
NAME = "torchscript-cifar10"
ISVC = f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{NAME}"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{NAME}-predictor"
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
# Kinds only GKE serves (its own controllers define them): the embedded cluster cannot admit them.
GKE_ONLY_KINDS = {"ComputeClass", "GCPDataSource"}
GMP_CRDS = ("monitoring.googleapis.com_podmonitorings.yaml", "monitoring.googleapis.com_clusterpodmonitorings.yaml")


def up(engine, prometheus, **settings):
    result = engine.up(with_changes(prometheus.url, **settings))
    assert result.summary.result == "succeeded"
    return result


def predictor_pods(kube: Kube, name: str = NAME) -> list[dict[str, Any]]:
    selector = f"serving.kserve.io/inferenceservice={name},component=predictor"
    return [p for p in kube.items(f"{PODS}?labelSelector={selector}") if not p["metadata"].get("deletionTimestamp")]


@pytest.fixture(scope="module")
def deployed(engine, prometheus, kube):
    """The embedded stack as shipped, Ready."""
    up(engine, prometheus, inferenceServices=[model()])
    assert condition(kube.get(ISVC), "Ready") == "True"
    return kube


# --- every stack's objects through the real admission chain -------------------------------------------------------


def install_gmp_crds(kube: Kube) -> None:
    """Managed Prometheus's CRDs as GKE has them (0.17.2, ../shared/crds)."""
    import yaml

    for file in GMP_CRDS:
        crd = yaml.safe_load((shared_dir() / "crds" / "gmp-v0.17.2" / file).read_text())
        status, answer = kube.apply(crd)
        assert status in (200, 201), answer
    kube.wait(
        "PodMonitoring served",
        lambda: "PodMonitoring" in kube.served_kinds("monitoring.googleapis.com/v1"),
        timeout=30,
    )


@functools.cache
def stack_objects(stack: str) -> tuple[dict[str, Any], ...]:
    """The Kubernetes objects a shipped stack declares (its in-cluster half), as the program renders them."""
    monitor = run_stack(stack, overrides=None if stack == "local" else PROJECT_OVERRIDE, reuse=True).monitor
    objects = []
    for node in monitor.nodes.values():
        inputs = unwrap_secret(node.inputs)
        if not node.type.startswith("kubernetes:") or node.type.startswith("kubernetes:helm.sh"):
            continue
        if node.type.endswith("Patch") or "kind" not in inputs or node.type.startswith("pulumi:providers"):
            continue
        objects.append(copy.deepcopy(inputs))
    return tuple(objects)


STACKS = sorted(f.name.removeprefix("Pulumi.").removesuffix(".yaml") for f in STACK_FILES)


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_of_every_shipped_stack_passes_the_real_webhooks_and_schemas(deployed, stack):
    kube = deployed
    install_gmp_crds(kube)
    objects = stack_objects(stack)
    assert any(o["kind"] == "InferenceService" for o in objects)
    made_namespaces = []
    refused, unserved = {}, set()
    try:
        for obj in sorted(objects, key=lambda o: o["kind"] != "Namespace"):  # namespaces first, for real
            path = kube.path_of(obj)
            if path is None:
                unserved.add(obj["kind"])
                continue
            if obj["kind"] == "Namespace" and kube.get(path) is None:
                status, answer = kube.apply(obj, path)
                assert status in (200, 201), answer
                made_namespaces.append(path)
                continue
            status, answer = kube.apply(obj, path, dry_run=True)
            if status not in (200, 201):
                refused[f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"] = answer
    finally:
        for path in made_namespaces:
            kube.raw("DELETE", path)
    assert refused == {}
    assert unserved <= GKE_ONLY_KINDS, unserved


def test_a_broken_inference_service_is_refused_with_kserve_s_own_message(deployed):
    kube = deployed
    isvc = copy.deepcopy(kube.get(ISVC))
    broken = {
        "apiVersion": isvc["apiVersion"],
        "kind": "InferenceService",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": copy.deepcopy(isvc["spec"]),
    }
    broken["spec"]["predictor"].update(minReplicas=3, maxReplicas=2)
    assert validation_errors(broken) == ["minReplicas 3 > maxReplicas 2"], "the model refuses it too"
    status, answer = kube.apply(broken, dry_run=True)
    assert status in (400, 403, 422), answer  # a webhook's denial comes with the code it chose (KServe: 403)
    # pkg/apis/serving/v1beta1/component.go: MinReplicasLowerBoundExceedsMaxReplicasError
    assert "'MinReplicas' cannot be greater than MaxReplicas" in answer["message"], answer
    assert "inferenceservice.kserve-webhook-server.validator" in answer["message"], "by KServe's validating webhook"


# --- the predictor pod the real KServe makes -----------------------------------------------------------------------


def predicted(kube: Kube) -> dict[str, Any]:
    isvc = kube.get(ISVC)
    runtimes = {
        r["metadata"]["name"]: r["spec"] for r in kube.items("/apis/serving.kserve.io/v1alpha1/clusterservingruntimes")
    }
    storage = kube.items("/apis/serving.kserve.io/v1alpha1/clusterstoragecontainers")
    return predictor_pod(isvc, runtimes, storage)


def differences(model_says: Any, real: Any, where: str = "") -> list[str]:
    """Where the real object does not have what the model predicts (the API server's defaults aside)."""
    if isinstance(model_says, dict):
        if not isinstance(real, dict):
            return [f"{where}: model {model_says!r}, real {real!r}"]
        return [d for key, value in model_says.items() for d in differences(value, real.get(key), f"{where}.{key}")]
    if isinstance(model_says, list) and model_says and all(isinstance(i, dict) and "name" not in i for i in model_says):
        # Unnamed entries (tolerations, say): each predicted one is among the real ones, which admission may extend
        # (DefaultTolerationSeconds adds not-ready and unreachable).
        return [
            f"{where}: model {item!r} not in real {real!r}"
            for item in model_says
            if not any(isinstance(r, dict) and not differences(item, r) for r in real or [])
        ]
    if isinstance(model_says, list) and model_says and all(isinstance(i, dict) and "name" in i for i in model_says):
        real_by_name = {i.get("name"): i for i in real or []}
        return [
            d
            for item in model_says
            for d in differences(item, real_by_name.get(item["name"]), f"{where}[{item['name']}]")
        ]
    if isinstance(model_says, list):
        if not isinstance(real, list) or len(real) != len(model_says):
            return [f"{where}: model {model_says!r}, real {real!r}"]
        return [
            d
            for index, (m, r) in enumerate(zip(model_says, real, strict=True))
            for d in differences(m, r, f"{where}[{index}]")
        ]
    if str(model_says) != str(real):
        return [f"{where}: model {model_says!r}, real {real!r}"]
    return []


def test_the_predictor_pod_is_the_one_tests_upstream_kserve_pod_predicts(deployed):
    kube = deployed
    (real, *_) = predictor_pods(kube)
    model_pod = predicted(kube)
    assert differences(model_pod["metadata"]["labels"], real["metadata"]["labels"]) == []
    spec = model_pod["spec"]
    assert [c["name"] for c in real["spec"]["initContainers"]] == [c["name"] for c in spec["initContainers"]]
    found = differences(spec, real["spec"])
    assert found == [], "\n".join(found)


def test_pod_security_restricted_is_enforced_by_the_real_admission(deployed):
    kube = deployed
    namespace = kube.get(f"/api/v1/namespaces/{NAMESPACE}")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert predictor_pods(kube), "the predictor pod was admitted"
    (real, *_) = predictor_pods(kube)
    root = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "runs-as-root", "namespace": NAMESPACE},
        "spec": {
            "containers": [
                {"name": "c", "image": real["spec"]["containers"][0]["image"], "securityContext": {"runAsUser": 0}}
            ]
        },
    }
    status, answer = kube.raw("POST", f"{PODS}?dryRun=All", root)
    assert status == 403, answer
    assert 'violates PodSecurity "restricted:' in answer["message"]
    assert "runAsNonRoot" in answer["message"] and "allowPrivilegeEscalation" in answer["message"]


# --- scaling through the real KEDA and HPA ------------------------------------------------------------------------

PROGRAM_SCALE_UP = tuple(Policy(p["type"], p["value"], p["periodSeconds"]) for p in SCALE_UP_POLICIES)
HPA = f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/keda-hpa-{NAME}-predictor"


def hpa_condition(kube: Kube, kind: str) -> tuple[str, str] | None:
    for entry in ((kube.get(HPA) or {}).get("status") or {}).get("conditions") or []:
        if entry["type"] == kind:
            return entry["status"], entry["reason"]
    return None


def test_keda_and_the_hpa_scale_the_predictor_to_what_the_request_rate_asks(deployed, engine, prometheus, counters):
    """35 requests/s against 10 per replica: KEDA reads the real Prometheus through the real query, the HPA in the
    real kube-controller-manager reads KEDA's external metric through the aggregated API and asks for ceil(3.5)."""
    kube = deployed
    target, offered = 10, 35
    up(
        engine,
        prometheus,
        inferenceServices=[
            model(minReplicas=1, maxReplicas=6, autoscaling={"signal": "requestRate", "target": target})
        ],
    )
    # No series yet (nothing scraped): KEDA answers an error (ignoreNullValues false), the HPA keeps its count.
    prometheus.write_targets([])
    kube.wait(
        "the HPA unable to read the metric",
        lambda: hpa_condition(kube, "ScalingActive") == ("False", "FailedGetExternalMetric"),
        timeout=90,
    )
    assert kube.get(DEPLOYMENT)["spec"]["replicas"] == 1
    (pod, *_) = predictor_pods(kube)
    counters.set_rate(pod["metadata"]["name"], offered)
    prometheus.write_targets(counters.targets(NAMESPACE))
    try:
        wanted = math.ceil(offered / target)
        seen: list[int] = []

        def replicas_now() -> bool:
            count = (kube.get(DEPLOYMENT) or {}).get("spec", {}).get("replicas")
            if not seen or seen[-1] != count:
                seen.append(count)
            return count == wanted

        kube.wait(f"the predictor at {wanted} replicas", replicas_now, timeout=180)
        # The program's behaviour, as the model of the HPA's rules (tests/upstream/hpa.py) applies it: never more
        # than double per sync, never down while the load holds (the 1 m rate ramps up, so the counts between vary).
        assert seen[0] == 1 and seen[-1] == wanted
        assert all(a < b <= 2 * a for a, b in itertools.pairwise(seen)), seen
        assert Hpa(target=target, min_replicas=1, max_replicas=6, scale_up=PROGRAM_SCALE_UP).sync(15, offered) == 2
        hpa = kube.get(
            f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/keda-hpa-{NAME}-predictor"
        )
        (metric,) = hpa["status"]["currentMetrics"]
        assert metric["type"] == "External"
        # AverageValue: the query's total over the replicas the HPA saw, as a quantity (e.g. "8750m").
        assert metric["external"]["current"]["averageValue"]
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 6)
    finally:
        counters.set_rate(pod["metadata"]["name"], 0)


# --- the policy pack through the real CLI ---------------------------------------------------------------------------


def unpinned_runtime() -> None:
    """A program of one ServingRuntime whose image is `latest`: the policy pack's `images-pinned` refuses it."""
    import pulumi_kubernetes as k8s

    k8s.apiextensions.CustomResource(
        "unpinned",
        api_version="serving.kserve.io/v1alpha1",
        kind="ServingRuntime",
        metadata={"name": "unpinned", "namespace": "default"},
        spec={
            "supportedModelFormats": [{"name": "onnx", "version": "1"}],
            "containers": [{"name": "kserve-container", "image": "nvcr.io/nvidia/tritonserver:latest"}],
        },
    )


def test_the_policy_pack_refuses_through_the_real_cli_before_anything_is_made(embedded_cluster, kube, tmp_path):
    from embedded.engine import Engine

    engine = Engine(tmp_path / "engine", embedded_cluster.kubeconfig, stack="policy-check", program=unpinned_runtime)
    with pytest.raises(auto.CommandError) as refused:
        engine.up({f"{PROJECT}:cluster": {"existing": {"context": "kserve-triton-embedded"}}})
    message = str(refused.value)
    assert "kserve-triton@v0.0.1" in message
    assert "images-pinned" in message and "never latest" in message, message
    assert kube.get("/apis/serving.kserve.io/v1alpha1/namespaces/default/servingruntimes/unpinned") is None
