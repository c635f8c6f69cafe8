"""`pulumi destroy` through the real engine, then `pulumi up` again: the InferenceServices go first while KServe still
runs to remove their finalizers, the model namespaces go, the CRDs stay (retained: deleting them would delete every
InferenceService and ScaledObject in the cluster), and a following `up` brings the stack back to Ready.

Runs last in the end-to-end suite (file order): it takes the stack down."""

from __future__ import annotations

import pytest

from tests.support.embedded import condition, model, with_changes

pytestmark = pytest.mark.e2e

ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices/torchscript-cifar10"
RETAINED_CRDS = (
    "inferenceservices.serving.kserve.io",
    "clusterservingruntimes.serving.kserve.io",
    "scaledobjects.keda.sh",
)


def crd(kube, name):
    return kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")


def test_destroy_removes_the_stack_and_keeps_the_crds_then_up_brings_it_back(engine, prometheus, kube):
    config = with_changes(prometheus.url, inferenceServices=[model()])
    engine.up(config)
    assert condition(kube.get(ISVC), "Ready") == "True"

    result = engine.destroy()
    assert result.summary.result == "succeeded"
    assert set(result.summary.resource_changes) == {"delete"}
    assert kube.get(ISVC) is None
    kube.wait("the model namespace gone", lambda: kube.get("/api/v1/namespaces/models") is None, timeout=120)
    for name in RETAINED_CRDS:
        assert crd(kube, name) is not None, f"{name} was deleted"
    assert engine.stack().export_stack().deployment.get("resources") in (None, [])

    again = engine.up(config)
    assert again.summary.result == "succeeded"
    assert condition(kube.get(ISVC), "Ready") == "True"
