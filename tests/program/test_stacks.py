"""Each stack file, run through the real __main__.py: what that environment gets."""

from __future__ import annotations

import pytest

from tests.support.stacks import ROOT, TEST_PROJECT, deployable_config

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
NODE_POOL = "gcp:container/nodePool:NodePool"
REPOSITORY_GRANT = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"


def deploy(harness, stack: str):
    harness.configure(deployable_config(ROOT / f"Pulumi.{stack}.yaml"))
    harness.run_main(reuse=True)
    return harness.monitor


@pytest.fixture
def dev(pulumi_mocks):
    return deploy(pulumi_mocks, "dev")


@pytest.fixture
def prod(pulumi_mocks):
    return deploy(pulumi_mocks, "prod")


@pytest.fixture
def local(pulumi_mocks):
    return deploy(pulumi_mocks, "local")


def test_dev_is_the_cheapest_useful_gpu_set_up(dev):
    cluster = dev.one("gcp:container/cluster:Cluster")
    gpu = dev.one(NODE_POOL, "gpu").inputs
    assert cluster.inputs["location"] == "us-central1-a", "zonal: no regional control-plane fee"
    assert cluster.inputs["deletionProtection"] is False and cluster.protect is False
    assert dev.one("kubernetes:helm.sh/v3:Release", "kserve-crd").protect is False
    assert gpu["nodeConfig"]["spot"] is True
    assert gpu["nodeConfig"]["guestAccelerators"][0]["type"] in ("nvidia-l4", "nvidia-tesla-t4")
    assert gpu["nodeConfig"]["guestAccelerators"][0]["count"] == 1
    assert gpu["autoscaling"]["totalMinNodeCount"] == 0, "scales to zero when no model is deployed"


def test_prod_is_regional_on_demand_replicated_and_protected(prod):
    cluster = prod.one("gcp:container/cluster:Cluster")
    gpu = prod.one(NODE_POOL, "gpu").inputs
    assert cluster.inputs["location"] == "us-central1", "regional control plane"
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.protect is True
    assert prod.one("kubernetes:helm.sh/v3:Release", "kserve-crd").protect is True
    assert gpu["nodeConfig"]["spot"] is False
    assert len(gpu["nodeLocations"]) >= 2
    services = prod.of_type(ISVC)
    assert services
    for isvc in services:
        assert isvc.inputs["spec"]["predictor"]["minReplicas"] >= 2, isvc.name


def test_prod_pool_holds_every_replica_at_minimum_and_a_spare_for_rollouts(prod):
    gpu = prod.one(NODE_POOL, "gpu").inputs
    capacity = gpu["autoscaling"]["totalMaxNodeCount"] * gpu["nodeConfig"]["guestAccelerators"][0]["count"]
    for isvc in prod.of_type(ISVC):
        predictor = isvc.inputs["spec"]["predictor"]
        assert predictor["deploymentStrategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert capacity >= sum(
        i.inputs["spec"]["predictor"]["minReplicas"]
        * int(i.inputs["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"])
        for i in prod.of_type(ISVC)
    )


def test_local_creates_nothing_in_gcp_and_uses_the_kubeconfig_context(local):
    assert [n.type for n in local.nodes.values() if n.type.startswith("gcp:")] == []
    provider = local.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "kind-kserve"
    assert "kubeconfig" not in provider.inputs
    for node in local.nodes.values():
        if node.custom and node.type.startswith("kubernetes:"):
            assert local.provider_of(node) is provider, node.name


def test_local_runs_kserve_triton_and_a_cpu_model_without_gpus(local):
    (container,) = local.one(CSR).inputs["spec"]["containers"]
    assert container["resources"] == {"requests": {"cpu": "1000m", "memory": "2048Mi"}, "limits": {"memory": "2048Mi"}}
    assert "nodeSelector" not in local.one(CSR).inputs["spec"]
    (isvc,) = local.of_type(ISVC)
    predictor = isvc.inputs["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == "gs://kfserving-examples/models/torchscript"
    assert "nvidia.com/gpu" not in predictor["model"]["resources"]["limits"]
    assert "tolerations" not in predictor
    releases = local.of_type("kubernetes:helm.sh/v3:Release")
    assert {r.inputs["name"] for r in releases} == {"cert-manager", "kserve-crd", "kserve-resources", "keda"}
    assert all("nodeSelector" not in (r.inputs.get("values") or {}) for r in releases)


def test_local_model_reader_account_has_no_cloud_identity(local):
    account = local.one("kubernetes:core/v1:ServiceAccount").inputs
    assert "annotations" not in account["metadata"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_gke_stacks_pull_triton_through_the_regional_nvcr_proxy_and_stream_it(pulumi_mocks, stack):
    project = TEST_PROJECT
    monitor = deploy(pulumi_mocks, stack)
    (container,) = monitor.one(CSR).inputs["spec"]["containers"]
    assert container["image"] == f"us-central1-docker.pkg.dev/{project}/nvcr-remote/nvidia/tritonserver:25.01-py3"
    assert monitor.one(NODE_POOL, "gpu").inputs["nodeConfig"]["gcfsConfig"] == {"enabled": True}
    gpu_grants = [monitor.named(name) for name in ("gpu-nodes-pull", "gpu-nodes-pull-1", "gpu-nodes-pull-2")]
    for isvc in monitor.of_type(ISVC):
        for grant in gpu_grants:
            assert monitor.depends_on(isvc, grant), "no pod may pull before its node can read the proxies"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_gke_stacks_pull_kserve_and_cert_manager_through_the_proxies_once_the_system_pool_may(pulumi_mocks, stack):
    monitor = deploy(pulumi_mocks, stack)
    system_account = monitor.one("gcp:serviceaccount/account:Account", "gke-system-nodes").outputs["member"]
    readers = [g for g in monitor.of_type(REPOSITORY_GRANT) if g.inputs["member"] == system_account]
    assert len(readers) == 4, "the system pool reads the nvcr.io, Docker Hub, quay.io and ghcr.io proxies"
    controller = monitor.one("kubernetes:helm.sh/v3:Release", "kserve-resources")
    prefix = f"us-central1-docker.pkg.dev/{TEST_PROJECT}"
    assert (
        controller.inputs["values"]["kserve"]["storage"]["image"]
        == f"{prefix}/dockerhub-remote/kserve/storage-initializer"
    )
    cert_manager = monitor.one("kubernetes:helm.sh/v3:Release", "kserve-cert-manager")
    assert (
        cert_manager.inputs["values"]["image"]["repository"] == f"{prefix}/quay-remote/jetstack/cert-manager-controller"
    )
    for release in (controller, cert_manager):
        for grant in readers:
            assert monitor.depends_on(release, grant), f"{release.name} waits until its pods can pull"


def test_local_pulls_triton_straight_from_nvcr(local):
    (container,) = local.one(CSR).inputs["spec"]["containers"]
    assert container["image"] == "nvcr.io/nvidia/tritonserver:25.01-py3"


def test_dev_own_model_example_deploys_once_uncommented_as_its_comment_says(pulumi_mocks):
    """The commented example in Pulumi.dev.yaml is real config: uncomment it, name your bucket, raise maxNodes."""
    import re

    import yaml

    from tests.support.stacks import PROJECT_OVERRIDE

    text = (ROOT / "Pulumi.dev.yaml").read_text()
    text = re.sub(r"^(\s+)# (buckets: |- name: tensorrt-resnet|  \w+: )", r"\1\2", text, flags=re.MULTILINE)
    text = text.replace("<your-models-bucket>", "team-models").replace("maxNodes: 2 ", "maxNodes: 3 ")
    config = {**yaml.safe_load(text)["config"], **PROJECT_OVERRIDE}
    assert config["kserve-triton:modelStorage"]["buckets"] == ["team-models"]
    pulumi_mocks.configure(config)
    pulumi_mocks.run_main(reuse=True)
    services = {n.inputs["metadata"]["name"]: n for n in pulumi_mocks.monitor.of_type(ISVC)}
    assert set(services) == {"torchscript-cifar10", "tensorrt-resnet"}
    model = services["tensorrt-resnet"].inputs["spec"]["predictor"]["model"]
    assert model["storageUri"] == "pvc://tensorrt-resnet-model", "2 GB: read through Cloud Storage FUSE (the default)"
    (volume,) = pulumi_mocks.monitor.of_type("kubernetes:core/v1:PersistentVolume")
    assert volume.inputs["spec"]["csi"]["volumeHandle"] == "team-models"
    assert "only-dir=tensorrt-resnet" in volume.inputs["spec"]["mountOptions"]
    assert services["torchscript-cifar10"].inputs["spec"]["predictor"]["model"]["storageUri"].startswith("gs://")
    assert model["modelFormat"] == {"name": "tensorrt"}
    grant = pulumi_mocks.monitor.one("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert grant.inputs["bucket"] == "team-models"


def test_prod_has_private_nodes_and_needs_no_nat(prod):
    cluster = prod.one("gcp:container/cluster:Cluster").inputs
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    # Every image comes through the Artifact Registry proxies and the model from GCS: nothing from the internet.
    assert prod.of_type("gcp:compute/routerNat:RouterNat") == []
    assert prod.of_type("gcp:compute/firewall:Firewall")


def test_dev_nodes_stay_public(dev):
    assert "privateClusterConfig" not in dev.one("gcp:container/cluster:Cluster").inputs


def test_private_nodes_with_a_model_from_the_internet_get_cloud_nat(pulumi_mocks):
    from tests.support.stacks import PROJECT_OVERRIDE

    config = deployable_config(ROOT / "Pulumi.prod.yaml") | PROJECT_OVERRIDE
    config["kserve-triton:inferenceServices"][0]["storageUri"] = "hf://team/resnet"
    pulumi_mocks.configure(config)
    pulumi_mocks.run_main(reuse=True)
    assert pulumi_mocks.monitor.one("gcp:compute/routerNat:RouterNat")
