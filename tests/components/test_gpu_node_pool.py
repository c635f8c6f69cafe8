"""The GPU node pool component: accelerators, driver, taint, autoscaling, spot and node identity."""

from __future__ import annotations

import pytest

from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs

NODE_POOL = "gcp:container/nodePool:NodePool"


def pool_args(**overrides) -> GpuNodePoolArgs:
    values = dict(
        project="my-project",
        cluster_id="projects/my-project/locations/us-central1/clusters/inference",
        cluster_name="inference",
        location="us-central1",
        machine_type="g2-standard-24",
        accelerator_type="nvidia-l4",
        accelerator_count=2,
        driver_version="LATEST",
        spot=False,
        min_nodes=0,
        max_nodes=3,
        zones=["us-central1-a", "us-central1-b"],
        disk_size_gb=300,
    )
    values.update(overrides)
    return GpuNodePoolArgs(**values)


def build(harness, **overrides):
    harness.run(lambda: GpuNodePool("gpu", pool_args(**overrides)))
    return harness.monitor.one(NODE_POOL)


@pytest.fixture
def pool(pulumi_mocks):
    return build(pulumi_mocks)


def test_accelerators_with_gke_managed_driver(pool):
    node = pool.inputs["nodeConfig"]
    assert node["machineType"] == "g2-standard-24"
    assert node["guestAccelerators"] == [
        {"type": "nvidia-l4", "count": 2, "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}
    ]
    assert node["imageType"] == "COS_CONTAINERD"
    assert node["diskSizeGb"] == 300


def test_gpu_taint_is_set_explicitly(pool):
    assert pool.inputs["nodeConfig"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
    ]


def test_autoscaling_is_pool_wide_may_reach_zero_and_does_not_drift(pool):
    assert pool.inputs["autoscaling"] == {
        "totalMinNodeCount": 0,
        "totalMaxNodeCount": 3,
        "locationPolicy": "BALANCED",
    }
    assert pool.inputs["ignoreNodeCountChanges"] is True
    assert "nodeCount" not in pool.inputs
    assert "initialNodeCount" in pool.ignore_changes
    assert pool.inputs["nodeLocations"] == ["us-central1-a", "us-central1-b"]


def test_spot_pools_fill_any_zone_with_capacity(pulumi_mocks):
    pool = build(pulumi_mocks, spot=True)
    assert pool.inputs["nodeConfig"]["spot"] is True
    assert pool.inputs["autoscaling"]["locationPolicy"] == "ANY"


def test_on_demand_pool(pool):
    assert pool.inputs["nodeConfig"]["spot"] is False


def test_upgrades_need_no_spare_gpu(pool):
    assert pool.inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 0, "maxUnavailable": 1}


def test_pool_name_is_not_fixed_so_a_replacement_can_be_created_first(pool):
    assert "name" not in pool.inputs
    assert "namePrefix" not in pool.inputs
    assert pool.delete_before_replace is False


def test_nodes_use_a_dedicated_least_privilege_account_and_gke_metadata(pulumi_mocks):
    pool = build(pulumi_mocks)
    node = pool.inputs["nodeConfig"]
    account = pulumi_mocks.monitor.one("gcp:serviceaccount/account:Account")
    assert node["serviceAccount"] == "inference-gpu@my-project.iam.gserviceaccount.com"
    assert not node["serviceAccount"].endswith("-compute@developer.gserviceaccount.com")
    assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert node["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    binding = pulumi_mocks.monitor.one("gcp:projects/iAMMember:IAMMember")
    assert binding.inputs["role"] == "roles/container.defaultNodeServiceAccount"
    assert binding.inputs["member"] == f"serviceAccount:{account.outputs['email']}"
    assert pulumi_mocks.monitor.depends_on(pool, binding), "nodes must not boot before their account can log"


def test_pool_joins_the_given_cluster(pool):
    assert pool.inputs["cluster"] == "projects/my-project/locations/us-central1/clusters/inference"
    assert pool.inputs["location"] == "us-central1"


def test_component_outputs_the_generated_pool_name(pulumi_mocks):
    build(pulumi_mocks)
    component = pulumi_mocks.monitor.one("kserve-triton:gke:GpuNodePool")
    assert component.registered_outputs["name"].startswith("gpu-")
    assert component.registered_outputs["serviceAccountEmail"] == "inference-gpu@my-project.iam.gserviceaccount.com"


def build_with_cache(harness, secondary_boot_disk=None):
    import pulumi_gcp as gcp

    def program():
        api = gcp.projects.Service("fs-api", service="containerfilesystem.googleapis.com")
        repositories = [
            gcp.artifactregistry.Repository(name, location="us-central1", repository_id=name, format="DOCKER")
            for name in ("nvcr-remote", "dockerhub-remote")
        ]
        GpuNodePool(
            "gpu",
            pool_args(image_repositories=repositories, secondary_boot_disk=secondary_boot_disk, depends_on=[api]),
        )

    harness.run(program)
    return harness.monitor


def test_without_an_image_cache_there_is_no_streaming_and_no_registry_grant(pool, pulumi_mocks):
    assert "gcfsConfig" not in pool.inputs["nodeConfig"]
    assert "secondaryBootDisks" not in pool.inputs["nodeConfig"]
    assert pulumi_mocks.monitor.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember") == []


def test_with_the_image_cache_nodes_stream_images_and_may_read_every_proxy(pulumi_mocks):
    monitor = build_with_cache(pulumi_mocks)
    pool = monitor.one(NODE_POOL)
    member = "serviceAccount:inference-gpu@my-project.iam.gserviceaccount.com"
    assert pool.inputs["nodeConfig"]["gcfsConfig"] == {"enabled": True}
    grants = monitor.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    repositories = monitor.of_type("gcp:artifactregistry/repository:Repository")
    assert sorted(g.inputs["repository"] for g in grants) == sorted(r.outputs["name"] for r in repositories)
    for grant in grants:
        assert (grant.inputs["role"], grant.inputs["member"], grant.inputs["location"]) == (
            "roles/artifactregistry.reader",
            member,
            "us-central1",
        )
        assert monitor.depends_on(pool, grant)
    assert monitor.depends_on(pool, monitor.one("gcp:projects/service:Service")), "streaming needs the API first"
    # Image streaming with a custom node account (GKE docs, "Use Image streaming", requirements).
    streaming = monitor.one("gcp:projects/iAMMember:IAMMember", "gpu-nodes-streaming")
    assert (streaming.inputs["role"], streaming.inputs["member"]) == ("roles/serviceusage.serviceUsageConsumer", member)
    assert monitor.depends_on(pool, streaming)


def test_a_secondary_boot_disk_is_attached_as_an_image_cache(pulumi_mocks):
    pool = build_with_cache(pulumi_mocks, secondary_boot_disk="global/images/triton-25-01").one(NODE_POOL)
    assert pool.inputs["nodeConfig"]["secondaryBootDisks"] == [
        {"diskImage": "global/images/triton-25-01", "mode": "CONTAINER_IMAGE_CACHE"}
    ]


@pytest.mark.parametrize(("zones", "min_nodes", "per_zone"), [(None, 0, 0), (["us-central1-a"], 2, 2), (None, 2, 1)])
def test_a_gpu_pool_with_a_minimum_starts_with_it(pulumi_mocks, zones, min_nodes, per_zone):
    pulumi_mocks.run(lambda: GpuNodePool("gpu", pool_args(zones=zones, min_nodes=min_nodes, max_nodes=4)))
    pool = pulumi_mocks.monitor.one(NODE_POOL)
    assert pool.inputs.get("initialNodeCount", 0) == per_zone
    assert pool.custom_timeouts == {"create": "120m", "update": "120m", "delete": "120m"}
