"""The embedded stack through the real Pulumi engine, into a cluster whose cert-manager, KServe and KEDA are the real
ones: `pulumi up` to Ready by KServe's own status, a second `up` that changes nothing, the changes a team makes, and
`pulumi destroy`. Each test states the whole config it deploys, so each holds on its own; run in order, each `up`
is a change from the one before, as a team's would be.

What stays simulated: containers (the model pods on kwok's GPU nodes are marked Running and Ready, nothing runs in
them, and their storage initializer downloads nothing), GPUs, and GCP."""

from __future__ import annotations

import time

import pytest
from pulumi import automation as auto

from tests.support.embedded import PROJECT, condition, model, with_changes

pytestmark = pytest.mark.e2e

ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}"
SCALED = "/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects"
HPAS = "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
DEPLOYMENT = "/apis/apps/v1/namespaces/{ns}/deployments/{name}-predictor"


def up(engine, prometheus, **settings):
    """`pulumi up` of the embedded stack with `settings` replaced; the result (it raised if the update failed)."""
    result = engine.up(with_changes(prometheus.url, **settings))
    assert result.summary.result == "succeeded"
    return result


def ready(kube, name="torchscript-cifar10", ns="models") -> bool:
    return condition(kube.get(ISVC.format(ns=ns, name=name)), "Ready") == "True"


def scaled_objects(kube, ns="models") -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in kube.items(SCALED.format(ns=ns))}


def hpas(kube, ns="models") -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in kube.items(HPAS.format(ns=ns))}


# --- up, and up again ---------------------------------------------------------------------------------------------


def test_up_from_empty_returns_once_kserve_says_the_model_is_ready(engine, prometheus, kube):
    result = up(engine, prometheus)
    changes = result.summary.resource_changes
    assert set(changes) == {"create"}, changes
    # pulumi.com/waitFor: `up` returned only once KServe itself had set Ready.
    isvc = kube.get(ISVC.format(ns="models", name="torchscript-cifar10"))
    assert condition(isvc, "Ready") == "True"
    assert condition(isvc, "PredictorReady") == "True"
    assert "kserve-triton@v0.0.1" in result.stdout, "the policy pack ran through the CLI's --policy-pack"


def test_a_second_up_changes_nothing(engine, prometheus):
    result = up(engine, prometheus)
    assert set(result.summary.resource_changes) == {"same"}, result.summary.resource_changes


# --- the changes a team makes ---------------------------------------------------------------------------------------


def test_the_scaled_object_follows_the_signal(engine, prometheus, kube):
    up(engine, prometheus, inferenceServices=[model(autoscaling={"signal": "requestRate", "target": 10})])
    (trigger,) = scaled_objects(kube)["torchscript-cifar10-predictor"]["spec"]["triggers"]
    assert trigger["metadata"]["threshold"] == "10"
    assert trigger["metadata"]["query"].startswith("sum(rate(nv_inference_request_success{")
    assert "keda-hpa-torchscript-cifar10-predictor" in hpas(kube)


def test_min_and_max_reach_the_scaled_object_and_keda_s_hpa(engine, prometheus, kube):
    up(engine, prometheus, inferenceServices=[model(minReplicas=2, maxReplicas=3)])
    spec = scaled_objects(kube)["torchscript-cifar10-predictor"]["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 3)
    kube.wait(
        "KEDA's HPA at 2-3",
        lambda: (
            (h := hpas(kube).get("keda-hpa-torchscript-cifar10-predictor"))
            and (h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) == (2, 3)
        ),
    )


def test_an_update_kserve_never_observes_returns_at_once(engine, prometheus, kube):
    """Raising maxReplicas under a ScaledObject leaves the Deployment alone, so KServe v0.20 never moves the
    InferenceService's observedGeneration: an update that waited for it would last until its timeout (10 min)."""
    up(engine, prometheus, inferenceServices=[model(minReplicas=1, maxReplicas=3)])
    generation = kube.get(ISVC.format(ns="models", name="torchscript-cifar10"))["metadata"]["generation"]
    started = time.monotonic()
    result = up(engine, prometheus, inferenceServices=[model(minReplicas=1, maxReplicas=5)])
    assert result.summary.resource_changes.get("update"), result.summary.resource_changes
    isvc = kube.get(ISVC.format(ns="models", name="torchscript-cifar10"))
    assert isvc["metadata"]["generation"] > generation
    assert isvc["status"]["observedGeneration"] < isvc["metadata"]["generation"], "KServe did not observe it"
    assert time.monotonic() - started < 120


def test_removing_autoscaling_leaves_no_scaled_object_and_no_hpa_behind(engine, prometheus, kube):
    """KServe v0.20 pins the Deployment at minReplicas for the `none` class but never deletes a ScaledObject it made
    itself: its HPA would go on scaling. The program's own ScaledObject goes with the autoscaling."""
    up(engine, prometheus, inferenceServices=[model(minReplicas=1, maxReplicas=3)])
    assert "torchscript-cifar10-predictor" in scaled_objects(kube)
    fixed = model(minReplicas=2, maxReplicas=2)
    del fixed["autoscaling"]
    up(engine, prometheus, inferenceServices=[fixed])
    assert scaled_objects(kube) == {}
    kube.wait("KEDA's HPA deleted", lambda: hpas(kube) == {})
    deployment = DEPLOYMENT.format(ns="models", name="torchscript-cifar10")
    kube.wait("2 replicas, as KServe pins them", lambda: (kube.get(deployment) or {})["spec"]["replicas"] == 2)
    assert ready(kube)


def test_a_new_triton_image_rolls_the_predictor_out(engine, prometheus, kube):
    up(engine, prometheus, inferenceServices=[model()])
    deployment = DEPLOYMENT.format(ns="models", name="torchscript-cifar10")
    generation = kube.get(deployment)["metadata"]["generation"]
    triton = {**_stack_triton(), "image": "nvcr.io/nvidia/tritonserver:25.02-py3"}
    up(engine, prometheus, inferenceServices=[model()], triton=triton)
    rolled = kube.get(deployment)
    (container,) = [c for c in rolled["spec"]["template"]["spec"]["containers"] if c["name"] == "kserve-container"]
    assert container["image"] == "nvcr.io/nvidia/tritonserver:25.02-py3"
    assert rolled["metadata"]["generation"] > generation
    kube.wait(
        "the rollout done",
        lambda: (d := kube.get(deployment))["status"].get("updatedReplicas") == d["spec"]["replicas"],
    )
    assert ready(kube)


def test_a_model_moves_to_another_namespace(engine, prometheus, kube):
    up(engine, prometheus, inferenceServices=[model(namespace="team-b")])
    assert ready(kube, ns="team-b")
    assert kube.get(ISVC.format(ns="models", name="torchscript-cifar10")) is None
    assert (
        kube.get("/api/v1/namespaces/team-b")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )


def test_a_model_is_added_and_removed(engine, prometheus, kube):
    up(
        engine,
        prometheus,
        inferenceServices=[model(), model(name="second", minReplicas=1, maxReplicas=1, autoscaling=None)],
    )
    assert ready(kube) and ready(kube, name="second")
    up(engine, prometheus, inferenceServices=[model()])
    kube.wait("the second model gone", lambda: kube.get(ISVC.format(ns="models", name="second")) is None)
    kube.wait(
        "its Deployment gone",
        lambda: kube.get(DEPLOYMENT.format(ns="models", name="second")) is None,
    )


def _stack_triton() -> dict:
    from tests.support.embedded import stack_file_config

    return dict(stack_file_config()[f"{PROJECT}:triton"])


# --- what is refused ------------------------------------------------------------------------------------------------


def test_a_bad_stack_stops_before_anything_exists_in_the_cluster(embedded_cluster, prometheus, kube, tmp_path):
    from embedded.engine import Engine

    fresh = Engine(tmp_path / "engine", embedded_cluster.kubeconfig)
    config = with_changes(
        prometheus.url, inferenceServices=[model(namespace="never-made", minReplicas=3, maxReplicas=2)]
    )
    with pytest.raises(auto.CommandError) as refused:
        fresh.up(config)
    assert "inferenceServices[0].minReplicas" in str(refused.value) or "inferenceServices[0].maxReplicas" in str(
        refused.value
    )
    assert "nothing was created" in str(refused.value)
    assert kube.get("/api/v1/namespaces/never-made") is None
    # The engine records the stack itself before the program runs; nothing of the program's is in its state.
    recorded = fresh.stack().export_stack().deployment.get("resources") or []
    assert [r["type"] for r in recorded] in ([], ["pulumi:pulumi:Stack"])
