"""GPU capacity that falls back: the ComputeClass the program declares (validated against GKE's published schema,
tests/upstream/compute_class.py, and the CEL rules its objects could break), node auto-provisioning on
the cluster (checked against pulumi_gcp's own argument classes), and replicas that select and tolerate the class."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from catalog.capacity import COMPUTE_CLASS_LABEL
from kserve_triton.offline import OfflineRun
from settings.capacity import COMPUTE_CLASS_NAME
from tests.support.capacity_models import AUTOPILOT_FALLBACK, FALLBACK
from tests.support.gcp_schema import unknown_inputs
from tests.support.policy_pack import violations_of_program
from tests.upstream.compute_class import cel_errors, schema_errors

CC = "kubernetes:cloud.google.com/v1:ComputeClass"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
CONFIGS = {"FALLBACK": FALLBACK, "AUTOPILOT_FALLBACK": AUTOPILOT_FALLBACK}


@functools.cache
def program(name: str):
    harness = OfflineRun()
    harness.configure(copy.deepcopy(CONFIGS[name]))
    harness.run_main(reuse=True)
    return harness.monitor


def classes(name: str) -> dict[str, dict[str, Any]]:
    return {n.inputs["metadata"]["name"]: n.inputs for n in program(name).of_type(CC)}


# --- the schema -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIGS)
def test_every_compute_class_validates_against_gkes_schema_and_rules(name):
    found = classes(name)
    assert found
    for obj in found.values():
        assert schema_errors(obj) == [], obj["metadata"]["name"]
        assert cel_errors(obj["spec"]) == [], obj["metadata"]["name"]


def test_the_schema_check_catches_a_misspelt_field_and_a_bad_value():
    obj = copy.deepcopy(classes("FALLBACK")[COMPUTE_CLASS_NAME])
    obj["spec"]["priorities"][0]["reservations"]["affinity"] = "Any"
    obj["spec"]["priorities"][1]["flexstart"] = {"enabled": True}
    del obj["spec"]["whenUnsatisfiable"]
    errors = " | ".join(schema_errors(obj))
    assert "'Any' is not one of ['Specific', 'AnyBestEffort', 'None']" in errors
    assert "'flexstart' was unexpected" in errors
    assert "'whenUnsatisfiable' is a required property" in errors
    obj = copy.deepcopy(classes("FALLBACK")[COMPUTE_CLASS_NAME])
    obj["spec"]["priorities"][3]["spot"] = True
    assert cel_errors(obj["spec"]) == ["priorities[3]: Flex Start provisioning model is incompatible with Spot"]


# --- GKE Standard: node auto-provisioning and the fallback list --------------------------------------------------


def test_the_fallback_list_is_tried_in_order_reservation_on_demand_spot_flex_start():
    spec = classes("FALLBACK")[COMPUTE_CLASS_NAME]["spec"]
    machine = {"machineType": "g2-standard-8", "gpu": {"type": "nvidia-l4", "count": 1, "driverVersion": "default"}}
    assert spec["priorities"] == [
        {
            **machine,
            "reservations": {
                "affinity": "Specific",
                "specific": [{"name": "l4-reserved", "project": "capacity-project", "zones": ["us-central1-a"]}],
            },
        },
        {**machine, "spot": False},
        {**machine, "spot": True},
        {**machine, "flexStart": {"enabled": True}},
    ]
    assert spec["whenUnsatisfiable"] == "DoNotScaleUp", "past the last tier: wait, never a node without the GPU"
    assert spec["nodePoolAutoCreation"] == {"enabled": True}
    assert spec["priorityDefaults"] == {"location": {"zones": ["us-central1-a"]}}
    assert spec["activeMigration"] == {"optimizeRulePriority": False}
    assert spec["nodePoolConfig"] == {
        "serviceAccount": "inference-gpu@example-project.iam.gserviceaccount.com",
        "imageType": "cos_containerd",
        "imageStreaming": {"enabled": True},
        "nodeLabels": {"kserve-triton/node-role": "gpu"},
    }


def test_the_volume_populator_gets_its_compute_class_when_a_model_uses_hyperdisk_ml():
    populator = classes("FALLBACK")["gcs-to-hdml-compute-class"]["spec"]
    assert populator == {
        "priorities": [{"machineFamily": "c3"}, {"machineFamily": "c3d"}],
        "whenUnsatisfiable": "DoNotScaleUp",
        "nodePoolAutoCreation": {"enabled": True},
    }
    assert "gcs-to-hdml-compute-class" not in classes("AUTOPILOT_FALLBACK"), "no Hyperdisk ML model there"


def test_standard_turns_node_auto_provisioning_on_with_limits_that_bound_cost_and_quota():
    monitor = program("FALLBACK")
    cluster = monitor.one(CLUSTER).inputs
    # e2-standard-4 system pool up to 3 nodes (12 vCPU, 48 GB), 4 g2-standard-8 (32 vCPU, 128 GB), one c3-standard-44
    # Volume Populator node (44 vCPU, 176 GB); 4 L4s.
    assert cluster["clusterAutoscaling"] == {
        "enabled": True,
        "resourceLimits": [
            {"resourceType": "cpu", "minimum": 0, "maximum": 12 + 32 + 44},
            {"resourceType": "memory", "minimum": 0, "maximum": 48 + 128 + 176},
            {"resourceType": "nvidia-l4", "minimum": 0, "maximum": 4},
        ],
        "autoProvisioningDefaults": {
            "serviceAccount": "inference-sys@example-project.iam.gserviceaccount.com",
            "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
            "imageType": "COS_CONTAINERD",
            "management": {"autoRepair": True, "autoUpgrade": True},
            "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
        },
        "autoProvisioningLocations": ["us-central1-a"],
    }
    assert monitor.of_type(NODE_POOL) == [monitor.one(NODE_POOL, "gke-system")], "GKE creates the GPU pools"


@pytest.mark.parametrize("name", CONFIGS)
def test_every_cluster_argument_is_one_pulumi_gcp_declares(name):
    """pulumi_gcp 10.2.0's Python argument classes are the provider's schema: every key the program sends exists."""
    for node in program(name).nodes.values():
        if node.type in (CLUSTER, NODE_POOL):
            assert unknown_inputs(node.type, node.inputs) == [], node.name


def test_the_schema_check_of_the_provider_catches_a_misspelt_argument():
    inputs = copy.deepcopy(program("FALLBACK").one(CLUSTER).inputs)
    inputs["clusterAutoscaling"]["autoProvisioningDefaults"]["serviceAcount"] = "x"
    inputs["addonsConfig"] = {"gcsFuseCsiDriverConfigs": {"enabled": True}}
    assert unknown_inputs(CLUSTER, inputs) == [
        "addonsConfig.gcsFuseCsiDriverConfigs",
        "clusterAutoscaling.autoProvisioningDefaults.serviceAcount",
    ]


def test_replicas_select_and_tolerate_the_compute_class_and_get_spots_grace():
    monitor = program("FALLBACK")
    runtime = monitor.one(CSR).inputs["spec"]
    assert runtime["nodeSelector"] == {
        "cloud.google.com/gke-accelerator": "nvidia-l4",
        COMPUTE_CLASS_LABEL: COMPUTE_CLASS_NAME,
    }
    tolerations = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": COMPUTE_CLASS_LABEL, "operator": "Equal", "value": COMPUTE_CLASS_NAME, "effect": "NoSchedule"},
    ]
    assert runtime["tolerations"] == tolerations
    for node in monitor.of_type(ISVC):
        predictor = node.inputs["spec"]["predictor"]
        assert predictor["tolerations"] == tolerations, "an InferenceService's tolerations replace the runtime's"
        assert predictor["terminationGracePeriodSeconds"] == 15, "spot is a tier: the strictest notice applies"


def test_autopilot_selects_the_class_instead_of_the_spot_label():
    spec = classes("AUTOPILOT_FALLBACK")[COMPUTE_CLASS_NAME]["spec"]
    assert spec["priorities"] == [
        {"gpu": {"type": "nvidia-l4"}, "spot": False},
        {"gpu": {"type": "nvidia-l4"}, "spot": True},
        {"gpu": {"type": "nvidia-l4"}, "flexStart": {"enabled": True}},
    ]
    assert "nodePoolConfig" not in spec, "Autopilot's nodes run as the cluster's auto-provisioning account"
    for node in program("AUTOPILOT_FALLBACK").of_type(ISVC):
        selector = node.inputs["spec"]["predictor"]["nodeSelector"]
        assert selector[COMPUTE_CLASS_LABEL] == COMPUTE_CLASS_NAME
        assert "cloud.google.com/gke-spot" not in selector
    assert "clusterAutoscaling" in program("AUTOPILOT_FALLBACK").one(CLUSTER).inputs  # Autopilot's own defaults


@pytest.mark.parametrize("name", CONFIGS)
def test_the_fallback_stacks_pass_the_policy_pack(name):
    assert violations_of_program(program(name), mandatory_only=True) == []
