"""Any GKE cluster, any GPU capacity model: each mode runs the real __main__.py under mocks from a test config,
validates every object, passes the policy pack, and its impossible combinations are refused by name."""

from __future__ import annotations

import copy

import pytest

from kserve_triton import offline
from settings import stack as config
from tests.support.capacity_models import AUTOPILOT, EXISTING_GKE, EXISTING_GPU_NODES, MODEL, MODES, SAMPLE, SHARED_L4
from tests.support.schemas import CRD_FILES, builtin_errors, crd_errors
from tests.support.stacks import ROOT, TEST_PROJECT, shared_dir, stack_config

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
RELEASE = "kubernetes:helm.sh/v3:Release"
SHARED = shared_dir()


def deploy(harness, cfg):
    harness.configure(copy.deepcopy(cfg))
    harness.run_main(reuse=True)
    return harness.monitor


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_deploys_and_every_object_validates(pulumi_mocks, mode):
    monitor = deploy(pulumi_mocks, MODES[mode])
    for node in monitor.nodes.values():
        if not (node.custom and node.type.startswith("kubernetes:")):
            continue
        if node.inputs.get("kind") in CRD_FILES and SHARED is not None:
            assert crd_errors(SHARED, node.inputs) == [], node.name
        elif node.type.startswith("kubernetes:core/"):
            assert builtin_errors(node.inputs) == [], node.name


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_passes_the_policy_pack(pulumi_mocks, mode):
    from tests.support.policy_pack import violations_of_program

    monitor = deploy(pulumi_mocks, MODES[mode])
    assert violations_of_program(monitor, mandatory_only=True) == []


# --- an existing GKE cluster -----------------------------------------------------------------------------------


def test_an_existing_gke_cluster_is_read_never_created_and_gets_this_programs_gpu_pool(pulumi_mocks):
    monitor = deploy(pulumi_mocks, EXISTING_GKE)
    assert monitor.of_type(CLUSTER) == [], "the cluster is read (get_cluster), never managed"
    pool = monitor.one(NODE_POOL, "gpu")
    assert pool.inputs["cluster"] == f"projects/{TEST_PROJECT}/locations/us-central1/clusters/team-gpu"
    assert pool.inputs["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    provider = monitor.one("pulumi:providers:kubernetes")
    kubeconfig = offline.unwrap_secret(provider.inputs["kubeconfig"])
    assert "server: https://198.51.100.20" in kubeconfig and "gke-gcloud-auth-plugin" in kubeconfig
    assert f"gke_{TEST_PROJECT}_us-central1_team-gpu" in kubeconfig
    assert pulumi_mocks.exports["clusterName"].value == "team-gpu"
    # The existing nodes' accounts are not this program's: the charts' images are not rewritten to the proxies.
    assert monitor.of_type("gcp:artifactregistry/repository:Repository") == []
    controller = monitor.one(RELEASE, "kserve-resources").inputs["values"]["kserve"]
    assert "image" not in controller.get("storage", {})


@pytest.mark.parametrize(
    ("described", "refusal"),
    [
        ({"workloadIdentityConfigs": []}, "has no Workload Identity"),
        ({"enableAutopilot": True}, "is an Autopilot cluster, which takes no node pool"),
    ],
)
def test_an_existing_gke_cluster_that_lacks_what_the_program_needs_is_refused(pulumi_mocks, described, refusal):
    offline.EXISTING_CLUSTER_OVERRIDES["team-gpu"] = described
    try:
        with pytest.raises(Exception, match=refusal):
            deploy(pulumi_mocks, EXISTING_GKE)
    finally:
        offline.EXISTING_CLUSTER_OVERRIDES.clear()
    assert not pulumi_mocks.monitor.of_type(RELEASE), "nothing is created in a refused cluster"


FUSE_ON_EXISTING = {
    **EXISTING_GKE,
    "kserve-triton:modelStorage": {"buckets": ["team-models"]},
    "kserve-triton:inferenceServices": [{**MODEL, "modelLoading": "gcsFuse"}],
}


def test_an_existing_gke_cluster_without_the_fuse_driver_is_refused_for_a_fuse_model(pulumi_mocks):
    """A CSI feature missing on the chosen cluster: only the GKE API says, so it is checked when the cluster is read
    (preview included), before anything is created in it."""
    offline.EXISTING_CLUSTER_OVERRIDES["team-gpu"] = {
        "addonsConfigs": [{"gcsFuseCsiDriverConfigs": [{"enabled": False}]}]
    }
    try:
        with pytest.raises(Exception, match="has no Cloud Storage FUSE CSI driver, which modelLoading gcsFuse needs"):
            deploy(pulumi_mocks, FUSE_ON_EXISTING)
    finally:
        offline.EXISTING_CLUSTER_OVERRIDES.clear()
    assert not pulumi_mocks.monitor.of_type(RELEASE), "nothing is created in a refused cluster"


def test_an_existing_gke_cluster_with_the_fuse_driver_serves_a_fuse_model(pulumi_mocks):
    offline.EXISTING_CLUSTER_OVERRIDES["team-gpu"] = {
        "addonsConfigs": [{"gcsFuseCsiDriverConfigs": [{"enabled": True}]}]
    }
    try:
        monitor = deploy(pulumi_mocks, FUSE_ON_EXISTING)
    finally:
        offline.EXISTING_CLUSTER_OVERRIDES.clear()
    (isvc,) = monitor.of_type(ISVC)
    assert isvc.inputs["spec"]["predictor"]["model"]["storageUri"] == "pvc://resnet-model"


def test_the_gpu_nodes_an_existing_cluster_has_are_selected_tolerated_and_sized_for(pulumi_mocks):
    monitor = deploy(pulumi_mocks, EXISTING_GPU_NODES)
    assert monitor.of_type(NODE_POOL) == []
    spec = monitor.one(CSR).inputs["spec"]
    assert spec["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    (isvc,) = monitor.of_type(ISVC)
    # g2-standard-24 (2 L4s): each GPU's share, twice (catalog.gcp.node_budget).
    assert isvc.inputs["spec"]["predictor"]["model"]["resources"]["requests"] == {
        "cpu": "22800m",
        "memory": "83968Mi",
        "nvidia.com/gpu": "2",
    }


def test_gpu_nodes_of_any_cluster_are_described_by_their_own_label(pulumi_mocks):
    cfg = {
        "kserve-triton:cluster": {
            "existing": {
                "context": "eks-gpu",
                "gpuNodes": {
                    "acceleratorLabel": "nvidia.com/gpu.product",
                    "acceleratorType": "NVIDIA-L4",
                    "tainted": False,
                },
            }
        },
        "kserve-triton:triton": {"cpu": "4", "memory": "16Gi"},
        "kserve-triton:inferenceServices": [SAMPLE],
    }
    spec = deploy(pulumi_mocks, cfg).one(CSR).inputs["spec"]
    assert spec["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert "tolerations" not in spec
    assert spec["containers"][0]["resources"]["requests"] == {
        "cpu": "4000m",
        "memory": "16384Mi",
        "nvidia.com/gpu": "1",
    }


# --- Autopilot ----------------------------------------------------------------------------------------------


def test_autopilot_creates_a_cluster_without_node_pools_whose_nodes_run_as_our_account(pulumi_mocks):
    monitor = deploy(pulumi_mocks, AUTOPILOT)
    cluster = monitor.one(CLUSTER).inputs
    assert cluster["enableAutopilot"] is True
    assert cluster["location"] == "us-central1"
    for refused_by_autopilot in ("removeDefaultNodePool", "initialNodeCount", "nodeConfig", "enableShieldedNodes"):
        assert refused_by_autopilot not in cluster, refused_by_autopilot
    account = monitor.one("gcp:serviceaccount/account:Account", "gke-system-nodes").outputs["email"]
    assert cluster["clusterAutoscaling"]["autoProvisioningDefaults"]["serviceAccount"] == account
    assert monitor.of_type(NODE_POOL) == []
    for release in monitor.of_type(RELEASE):  # Autopilot places them
        assert "kserve-triton/node-role" not in str(release.inputs.get("values"))


def test_autopilot_replicas_select_their_gpu_and_count_with_requests_equal_to_limits(pulumi_mocks):
    monitor = deploy(pulumi_mocks, AUTOPILOT)
    runtime = monitor.one(CSR).inputs["spec"]
    assert "nodeSelector" not in runtime and "tolerations" not in runtime, "CPU models must not inherit them"
    predictors = {n.inputs["metadata"]["name"]: n.inputs["spec"]["predictor"] for n in monitor.of_type(ISVC)}
    for name, gpus in (("cifar10", "1"), ("cifar10-big", "2")):
        predictor = predictors[name]
        assert predictor["nodeSelector"] == {
            "cloud.google.com/gke-accelerator": "nvidia-l4",
            "cloud.google.com/gke-accelerator-count": gpus,
            "cloud.google.com/gke-spot": "true",
        }
        assert "tolerations" not in predictor, "Autopilot adds the GPU toleration itself"
        resources = predictor["model"]["resources"]
        assert resources["requests"] == resources["limits"]
        assert resources["requests"]["ephemeral-storage"] == "10Gi"
        assert resources["requests"]["nvidia.com/gpu"] == gpus
    assert predictors["cifar10"]["model"]["resources"]["requests"]["cpu"] == "6900m"  # g2-standard-8's share


# --- time-shared GPUs -----------------------------------------------------------------------------------------


def test_four_small_models_share_one_time_shared_l4(pulumi_mocks):
    monitor = deploy(pulumi_mocks, SHARED_L4)
    accelerator = monitor.one(NODE_POOL, "gpu").inputs["nodeConfig"]["guestAccelerators"][0]
    assert accelerator["gpuSharingConfig"] == {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 4}
    spec = monitor.one(CSR).inputs["spec"]
    assert spec["nodeSelector"] == {
        "cloud.google.com/gke-accelerator": "nvidia-l4",
        "cloud.google.com/gke-gpu-sharing-strategy": "time-sharing",
        "cloud.google.com/gke-max-shared-clients-per-gpu": "4",
    }
    # A quarter of g2-standard-8's 6900m / 25344Mi per client.
    assert spec["containers"][0]["resources"]["requests"] == {
        "cpu": "1700m",
        "memory": "6144Mi",
        "nvidia.com/gpu": "1",
    }
    assert len(monitor.of_type(ISVC)) == 4, "four replicas in one node's four slots"


# --- refusals -----------------------------------------------------------------------------------------------


def refused(cfg) -> dict[str, str]:
    raw = {"gcp": {k[4:]: v for k, v in cfg.items() if k.startswith("gcp:")}}
    raw.update({k.split(":", 1)[1]: copy.deepcopy(v) for k, v in cfg.items() if k.startswith("kserve-triton:")})
    with pytest.raises(config.ConfigError) as error:
        config.parse(raw)
    return {p.setting: str(p) for p in error.value.problems}


def changed(cfg, **sections):
    cfg = copy.deepcopy(cfg)
    for key, value in sections.items():
        cfg[f"kserve-triton:{key}"] = value
    return cfg


@pytest.mark.parametrize(
    ("cfg", "setting", "phrase"),
    [
        (
            changed(AUTOPILOT, gpuNodePool=EXISTING_GKE["kserve-triton:gpuNodePool"]),
            "gpuNodePool",
            "Autopilot provisions the nodes itself",
        ),
        (
            changed(AUTOPILOT, cluster={**AUTOPILOT["kserve-triton:cluster"], "location": "us-central1-a"}),
            "cluster.location",
            "an Autopilot cluster is regional",
        ),
        (
            changed(
                AUTOPILOT,
                cluster={**AUTOPILOT["kserve-triton:cluster"], "autopilot": {"acceleratorType": "nvidia-tesla-p100"}},
            ),
            "cluster.autopilot.acceleratorType",
            "Autopilot offers",
        ),
        (
            changed(AUTOPILOT, inferenceServices=[{**SAMPLE, "gpus": 3}]),
            "inferenceServices[0].gpus",
            "Autopilot gives a Pod 1 or 2 or 4 or 8",
        ),
        (
            changed(AUTOPILOT, cluster={**AUTOPILOT["kserve-triton:cluster"], "systemNodePool": {"minNodes": 2}}),
            "cluster.systemNodePool",
            "Autopilot manages the nodes",
        ),
        (changed(AUTOPILOT, triton={"cpu": "40"}), "triton.cpu", "30800m"),
        (
            changed(SHARED_L4, inferenceServices=[{**SAMPLE, "gpus": 2}]),
            "inferenceServices[0].gpus",
            "one shared GPU slot",
        ),
        (
            changed(
                SHARED_L4,
                gpuNodePool={
                    **SHARED_L4["kserve-triton:gpuNodePool"],
                    "sharing": {"strategy": "MPS", "clientsPerGpu": 4},
                },
            ),
            "gpuNodePool.sharing.strategy",
            "MPS is not supported here",
        ),
        (
            changed(
                SHARED_L4, gpuNodePool={**SHARED_L4["kserve-triton:gpuNodePool"], "sharing": {"clientsPerGpu": 64}}
            ),
            "gpuNodePool.sharing.clientsPerGpu",
            "less than or equal to 48",
        ),
        (
            changed(
                SHARED_L4, inferenceServices=[{**SAMPLE, "maxReplicas": 2, "autoscaling": {"signal": "gpuUtilization"}}]
            ),
            "inferenceServices[0].autoscaling.signal",
            "not per time-shared replica",
        ),
        (
            changed(
                EXISTING_GKE,
                cluster={"existing": {"name": "team-gpu", "location": "us-central1"}, "deletionProtection": False},
            ),
            "cluster.deletionProtection",
            "is a GKE setting; remove it, or remove existing",
        ),
        (
            changed(
                EXISTING_GKE,
                cluster={"existing": {"name": "team-gpu", "location": "us-central1"}, "releaseChannel": "STABLE"},
            ),
            "cluster.releaseChannel",
            "is a GKE setting",
        ),
        (
            changed(EXISTING_GKE, cluster={"existing": {"name": "team-gpu"}}),
            "cluster.existing.location",
            "is required for an existing GKE cluster",
        ),
        (
            changed(EXISTING_GKE, cluster={"existing": {"context": "kind", "name": "team-gpu"}}),
            "cluster.existing.name",
            "a kubeconfig context is the other kind",
        ),
        (
            changed(EXISTING_GPU_NODES, gpuNodePool=EXISTING_GKE["kserve-triton:gpuNodePool"]),
            "cluster.existing.gpuNodes",
            "keep one of the two",
        ),
        (
            changed(
                EXISTING_GPU_NODES,
                cluster={
                    "existing": {"name": "t", "location": "us-central1", "gpuNodes": {"acceleratorType": "nvidia-l4"}}
                },
            ),
            "cluster.existing.gpuNodes.machineType",
            "unless triton.cpu and triton.memory are set",
        ),
        (
            changed(EXISTING_GPU_NODES, inferenceServices=[{**SAMPLE, "gpus": 4}]),
            "inferenceServices[0].gpus",
            "have 2 GPU(s) each",
        ),
        (changed(EXISTING_GPU_NODES, imageCache={"enabled": True}), "imageCache.enabled", "does not grant read access"),
        (
            {
                "kserve-triton:cluster": {"existing": {"context": "kind"}},
                "kserve-triton:gpuNodePool": EXISTING_GKE["kserve-triton:gpuNodePool"],
            },
            "gpuNodePool",
            "kubeconfig context gets no GKE node pool",
        ),
    ],
)
def test_impossible_combinations_are_refused_by_name(cfg, setting, phrase):
    problems = refused(cfg)
    assert setting in problems, problems
    assert phrase in problems[setting]


def test_the_shared_gpu_example_stack_serves_several_models_on_one_l4(pulumi_mocks):
    cfg = stack_config(ROOT / "Pulumi.shared-gpu.yaml")
    monitor = deploy(pulumi_mocks, {**cfg, "gcp:project": TEST_PROJECT})
    pool = monitor.one(NODE_POOL, "gpu").inputs
    assert pool["autoscaling"]["totalMaxNodeCount"] == 1
    assert pool["nodeConfig"]["guestAccelerators"][0]["gpuSharingConfig"]["maxSharedClientsPerGpu"] >= 3
    assert len(monitor.of_type(ISVC)) >= 3
