"""The GKE cluster component: a hardened VPC-native cluster, a system pool, and its Kubernetes provider."""

from __future__ import annotations

import pytest
import yaml

from components.gke_cluster import GkeCluster, GkeClusterArgs, SystemPoolArgs
from tests.support.stacks import is_secret, unwrap_secret

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"


def cluster_args(**overrides) -> GkeClusterArgs:
    values = dict(
        project="my-project",
        name="inference",
        location="us-central1",
        region="us-central1",
        release_channel="STABLE",
        deletion_protection=True,
        protect=True,
        production=False,
        system_pool=SystemPoolArgs(machine_type="e2-standard-4", min_nodes=1, max_nodes=3),
    )
    values.update(overrides)
    return GkeClusterArgs(**values)


@pytest.fixture
def built(pulumi_mocks):
    pulumi_mocks.run(lambda: GkeCluster("gke", cluster_args()))
    return pulumi_mocks.monitor


def test_cluster_is_vpc_native_on_its_own_subnet(built):
    cluster = built.one(CLUSTER).inputs
    subnet = built.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }
    assert {r["rangeName"] for r in subnet["secondaryIpRanges"]} == {"pods", "services"}
    assert subnet["region"] == "us-central1"
    assert built.one("gcp:compute/network:Network").inputs["autoCreateSubnetworks"] is False


def test_cluster_has_workload_identity_release_channel_and_deletion_protection(built):
    cluster = built.one(CLUSTER).inputs
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "my-project.svc.id.goog"}
    assert cluster["releaseChannel"] == {"channel": "STABLE"}
    assert cluster["deletionProtection"] is True
    assert cluster["enableShieldedNodes"] is True


def test_default_node_pool_is_removed_and_never_runs_as_the_default_compute_account(built):
    cluster = built.one(CLUSTER)
    assert cluster.inputs["removeDefaultNodePool"] is True
    assert cluster.inputs["initialNodeCount"] == 1
    assert cluster.inputs["nodeConfig"]["serviceAccount"] == "inference-sys@my-project.iam.gserviceaccount.com"
    assert set(cluster.ignore_changes) == {"nodeConfig", "initialNodeCount"}


def test_managed_prometheus_and_dcgm_gpu_metrics_are_on(built):
    monitoring = built.one(CLUSTER).inputs["monitoringConfig"]
    assert "DCGM" in monitoring["enableComponents"]
    assert monitoring["managedPrometheus"] == {"enabled": True}


def test_cluster_is_labelled_for_the_policy_pack(pulumi_mocks):
    pulumi_mocks.run(lambda: GkeCluster("gke", cluster_args(production=True)))
    labels = pulumi_mocks.monitor.one(CLUSTER).inputs["resourceLabels"]
    assert labels == {"managed-by": "pulumi", "kserve-triton-production": "true"}


def test_cluster_protect_follows_config(pulumi_mocks):
    pulumi_mocks.run(lambda: GkeCluster("gke", cluster_args(protect=False, deletion_protection=False)))
    cluster = pulumi_mocks.monitor.one(CLUSTER)
    assert cluster.protect is False
    assert cluster.inputs["deletionProtection"] is False


def test_protected_cluster(built):
    assert built.one(CLUSTER).protect is True


def test_system_pool_runs_cluster_services_on_small_labelled_nodes(built):
    pool = built.one(NODE_POOL, "gke-system").inputs
    node = pool["nodeConfig"]
    assert node["machineType"] == "e2-standard-4"
    assert node["labels"] == {"kserve-triton/node-role": "system"}
    assert "guestAccelerators" not in node
    assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert node["serviceAccount"] == "inference-sys@my-project.iam.gserviceaccount.com"
    assert pool["autoscaling"] == {"totalMinNodeCount": 1, "totalMaxNodeCount": 3}


def test_node_account_has_only_the_node_role(built):
    bindings = built.of_type("gcp:projects/iAMMember:IAMMember")
    assert [(b.inputs["role"], b.inputs["member"]) for b in bindings] == [
        ("roles/container.defaultNodeServiceAccount", "serviceAccount:inference-sys@my-project.iam.gserviceaccount.com")
    ]


def test_provider_uses_a_secret_exec_plugin_kubeconfig(built):
    provider = built.one("pulumi:providers:kubernetes")
    kubeconfig = provider.inputs["kubeconfig"]
    assert is_secret(kubeconfig), "the kubeconfig must reach the provider as a secret"
    parsed = yaml.safe_load(unwrap_secret(kubeconfig))
    user = parsed["users"][0]["user"]["exec"]
    assert user["command"] == "gke-gcloud-auth-plugin"
    assert "token" not in parsed["users"][0]["user"]
    assert parsed["clusters"][0]["cluster"]["server"] == "https://203.0.113.10"


def test_provider_waits_for_the_system_pool(built):
    provider = built.one("pulumi:providers:kubernetes")
    assert built.depends_on(provider, built.one(NODE_POOL, "gke-system"))
    assert built.depends_on(provider, built.one(CLUSTER))


def test_everything_is_parented_to_the_component(built):
    component = built.one("kserve-triton:gke:GkeCluster")
    assert {n.name for n in built.children_of(component)} == {
        "gke-system-nodes",
        "gke-system-nodes-role",
        "gke-network",
        "gke-subnet",
        "gke-cluster",
        "gke-system",
        "gke-k8s",
    }
    assert set(component.registered_outputs) >= {"name", "location", "kubeconfig"}


def test_long_cluster_names_give_valid_distinct_service_account_ids(pulumi_mocks):
    long_name = "a-very-long-cluster-name-for-inference-x"
    pulumi_mocks.run(lambda: GkeCluster("gke", cluster_args(name=long_name)))
    account_id = pulumi_mocks.monitor.one("gcp:serviceaccount/account:Account").inputs["accountId"]
    assert 6 <= len(account_id) <= 30
    assert account_id.endswith("-sys") and account_id[0].isalpha()


def test_the_cluster_and_its_pool_get_timeouts_that_outlast_gke_operations(built):
    assert built.one(CLUSTER).custom_timeouts == {"create": "90m", "update": "90m", "delete": "90m"}
    assert built.one(NODE_POOL).custom_timeouts == {"create": "120m", "update": "120m", "delete": "120m"}


@pytest.mark.parametrize(
    ("location", "min_nodes", "per_zone"),
    [
        ("us-central1-a", 1, 1),  # zonal: one zone
        ("us-central1-a", 2, 2),
        ("us-central1", 1, 1),  # regional: three zones, at least one node each
        ("us-central1", 3, 1),
        ("us-central1", 4, 2),
    ],
)
def test_the_system_pool_has_nodes_from_the_start(pulumi_mocks, location, min_nodes, per_zone):
    """The autoscaler adds nodes for pending pods, not to reach its minimum: without an initial count the
    pool starts empty and cert-manager and KServe wait for a scale-up from zero."""
    system_pool = SystemPoolArgs(machine_type="e2-standard-4", min_nodes=min_nodes, max_nodes=6)
    pulumi_mocks.run(lambda: GkeCluster("gke", cluster_args(location=location, system_pool=system_pool)))
    pool = pulumi_mocks.monitor.one(NODE_POOL)
    assert pool.inputs["initialNodeCount"] == per_zone
    assert "initialNodeCount" in pool.ignore_changes, "a later autoscaler-driven count must not replace the pool"


def test_monitoring_keeps_gkes_default_packages_and_adds_dcgm(built):
    """enable_components is the complete list: leaving one out switches it off (notes:
    autoscaling-observability.md §3.3; GKE's default set from TGKE's golden files for 1.33 REGULAR)."""
    monitoring = built.one(CLUSTER).inputs["monitoringConfig"]
    assert set(monitoring["enableComponents"]) == {
        "SYSTEM_COMPONENTS",
        "STORAGE",
        "HPA",
        "POD",
        "DAEMONSET",
        "DEPLOYMENT",
        "STATEFULSET",
        "JOBSET",
        "CADVISOR",
        "KUBELET",
        "DCGM",
    }
    assert monitoring["managedPrometheus"] == {"enabled": True}


# --- private nodes ----------------------------------------------------------------------------------------


def private_cluster(harness, **overrides):
    harness.run(lambda: GkeCluster("gke", cluster_args(private_nodes=True, **overrides)))
    return harness.monitor


def test_private_nodes_keep_a_public_control_plane_narrowed_to_the_authorized_networks(pulumi_mocks):
    monitor = private_cluster(pulumi_mocks, master_authorized_networks=["203.0.113.0/24"])
    cluster = monitor.one(CLUSTER).inputs
    assert cluster["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": False}
    assert cluster["masterAuthorizedNetworksConfig"] == {
        "cidrBlocks": [{"cidrBlock": "203.0.113.0/24", "displayName": "203.0.113.0/24"}]
    }
    subnet = monitor.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert subnet["privateIpGoogleAccess"] is True, "Artifact Registry and GCS without a public IP"


def test_the_control_plane_reaches_the_kserve_and_keda_webhooks_on_private_nodes(pulumi_mocks):
    monitor = private_cluster(pulumi_mocks)
    rule = monitor.one("gcp:compute/firewall:Firewall").inputs
    account = monitor.one("gcp:serviceaccount/account:Account", "gke-system-nodes").outputs["email"]
    assert rule["direction"] == "INGRESS"
    assert rule["allows"] == [{"protocol": "tcp", "ports": ["9443", "6443"]}]
    assert rule["targetServiceAccounts"] == [account], "the webhooks run on the system nodes"
    assert rule["sourceRanges"] == ["10.10.0.0/20"]
    provider = monitor.one("pulumi:providers:kubernetes")
    assert monitor.depends_on(provider, monitor.one("gcp:compute/firewall:Firewall")), "before KServe installs"


def test_cloud_nat_only_when_something_is_pulled_from_outside_google(pulumi_mocks):
    assert private_cluster(pulumi_mocks).of_type("gcp:compute/routerNat:RouterNat") == []


def test_cloud_nat_for_private_nodes_that_pull_from_the_internet(pulumi_mocks):
    monitor = private_cluster(pulumi_mocks, cloud_nat=True)
    nat = monitor.one("gcp:compute/routerNat:RouterNat").inputs
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert monitor.one("gcp:compute/router:Router").inputs["region"] == "us-central1"


def test_public_nodes_get_no_private_config_firewall_or_nat(built):
    assert "privateClusterConfig" not in built.one(CLUSTER).inputs
    assert built.of_type("gcp:compute/firewall:Firewall") == []
    assert built.of_type("gcp:compute/routerNat:RouterNat") == []
