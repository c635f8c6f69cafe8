"""What stays accepted next to the new refusals (tests/settings/test_config.py, REFUSALS): quantities in every unit
Kubernetes takes, counts at GKE's limits, every server variant of NVIDIA's image, other registries, the derived
/dev/shm, and production where its promises do not apply."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from settings import stack as config

GKE = {
    "gcp": {"project": "my-project"},
    "cluster": {"name": "c", "location": "us-central1-a"},
    "gpuNodePool": {"machineType": "g2-standard-8", "acceleratorType": "nvidia-l4", "maxNodes": 2},
}


def _with(**sections: Any) -> dict[str, Any]:
    raw = copy.deepcopy(GKE)
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return raw


def _isvc(**values: Any) -> dict[str, Any]:
    return {"name": "m", "modelFormat": "onnx", "storageUri": "gs://kfserving-examples/m", **values}


@pytest.mark.parametrize(("cpu", "millis"), [("0.5", 500), ("500m", 500), ("5e-1", 500), (".5", 500), ("2", 2000)])
def test_cpu_in_every_unit_is_the_same_cpu(cpu, millis):
    assert config.parse(_with(triton={"cpu": cpu})).replica_size.cpu_millis == millis


@pytest.mark.parametrize(
    ("memory", "mib"),
    [("16Gi", 16384), ("16384Mi", 16384), ("17179869184", 16384), ("16G", 15258), ("1.5Gi", 1536), ("1e10", 9536)],
)
def test_memory_in_every_unit_is_compared_by_value(memory, mib):
    assert config.parse(_with(triton={"memory": memory})).replica_size.memory_mib == mib


def test_the_share_is_compared_by_value_whatever_the_unit():
    """25344Mi is one L4's share of a g2-standard-8: the same amount in bytes is taken, a mebibyte more is not."""
    assert config.parse(_with(triton={"memory": str(25344 * 2**20)})).replica_size.memory_mib == 25344
    with pytest.raises(config.ConfigError, match=r"triton\.memory"):
        config.parse(_with(triton={"memory": "25345Mi"}))


@pytest.mark.parametrize("size", ["512M", "0.5Gi", "536870912", "512Mi"])
def test_shm_and_disk_sizes_take_every_unit(size):
    settings = config.parse(_with(triton={"shmSize": size, "ephemeralStorage": size}))
    assert settings.shm_size == size


def test_the_default_shm_is_1gi_and_half_a_small_replica():
    assert config.parse(GKE).shm_size == "1Gi"
    shared = config.parse(
        _with(
            gpuNodePool={"machineType": "g2-standard-4", "sharing": {"clientsPerGpu": 8}}, imageCache={"enabled": False}
        )
    )
    assert shared.replica_size.memory_mib == 1280  # a g2-standard-4's L4 share / 8, rounded down to 256Mi
    assert shared.shm_size == "640Mi"


def test_a_shared_gpu_at_the_most_clients_that_fit_is_taken():
    """g2-standard-4 leaves one L4 2900m: 29 replicas of 100m; the refusal names 29 (test_config.py)."""
    settings = config.parse(_with(gpuNodePool={"machineType": "g2-standard-4", "sharing": {"clientsPerGpu": 29}}))
    assert settings.replica_size.cpu_millis == 100


@pytest.mark.parametrize(
    ("zones", "max_nodes"),
    [(None, 1000), (["us-central1-a", "us-central1-b", "us-central1-c"], 3000)],
    ids=["zonal", "three zones"],
)
def test_gke_pools_up_to_a_thousand_nodes_a_zone_are_taken(zones, max_nodes):
    pool = {"maxNodes": max_nodes, **({"zones": zones} if zones else {})}
    cluster = {"location": "us-central1"} if zones else {}
    assert config.parse(_with(cluster=cluster, gpuNodePool=pool)).gpu_node_pool.max_nodes == max_nodes


def test_a_replica_maximum_the_pool_can_hold_is_taken():
    settings = config.parse(_with(inferenceServices=[_isvc(maxReplicas=2)]))
    assert settings.inference_services[0].max_replicas == 2


@pytest.mark.parametrize("machine", ["e2-standard-2", "e2-medium", "n2-standard-8", "n2d-highmem-4", "n4-standard-4"])
def test_cpu_machines_of_the_catalog_may_run_the_system_pool(machine):
    assert config.parse(_with(cluster={"systemNodePool": {"machineType": machine}})).cluster.system_node_pool


@pytest.mark.parametrize(
    ("image", "model_format"),
    [
        ("nvcr.io/nvidia/tritonserver:23.08-py3", "onnx"),
        ("nvcr.io/nvidia/tritonserver:25.01-pyt-python-py3", "pytorch"),
        ("nvcr.io/nvidia/tritonserver:25.01-vllm-python-py3", "triton"),
        ("nvcr.io/nvidia/tritonserver:24.12-trtllm-python-py3", "triton"),
        ("us-central1-docker.pkg.dev/my-project/nvcr-remote/nvidia/tritonserver:25.01-py3", "onnx"),
        ("nvcr.io/nvidia/tritonserver:25.01-py3@sha256:" + "a" * 64, "onnx"),
        ("registry.example.com:5000/ml/triton-custom:2025-01", "onnx"),
        ("myteam/triton-with-deps:1.4", "onnx"),  # Docker Hub, not named tritonserver: not NVIDIA's, only pinned
    ],
)
def test_images_nvidia_publishes_and_other_repositories_are_taken(image, model_format):
    settings = config.parse(_with(triton={"image": image}, inferenceServices=[_isvc(modelFormat=model_format)]))
    assert settings.triton.image == image


def test_production_on_autopilot_has_no_system_nodes_to_count():
    settings = config.parse(
        {
            "production": True,
            "gcp": {"project": "my-project"},
            "cluster": {
                "mode": "autopilot",
                "name": "c",
                "location": "us-central1",
                "releaseChannel": "STABLE",
                "autopilot": {"acceleratorType": "nvidia-l4"},
            },
            "kserve": {"protectCrds": True},
        }
    )
    assert settings.cluster.is_autopilot


def test_a_number_setting_takes_an_exponent_written_as_text():
    settings = config.parse(_with(inferenceServices=[_isvc(maxReplicas=2, autoscaling={"target": "2.5e1"})]))
    assert settings.inference_services[0].autoscaling.target == 25.0


def test_an_infinite_number_is_refused_in_words():
    with pytest.raises(config.ConfigError) as refused:
        config.parse(_with(inferenceServices=[_isvc(maxReplicas=2, autoscaling={"target": float("inf")})]))
    assert str(refused.value).endswith(
        "inferenceServices[0].autoscaling.target: Infinity is not allowed: must be a finite number, e.g. 50 or 0.5"
    )


def test_a_key_that_is_not_a_plain_name_keeps_the_problem_on_one_line():
    with pytest.raises(config.ConfigError) as refused:
        config.parse(_with(triton={"a\nb": 1}))
    assert [p.setting for p in refused.value.problems] == ['triton["a\\nb"]']
    assert len(str(refused.value).splitlines()) == 2  # the heading and one problem
