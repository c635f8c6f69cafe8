"""The GKE cluster: its network, a small system node pool, and a Kubernetes provider for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.naming import NODE_ROLE_LABEL, service_account_id

if TYPE_CHECKING:
    from settings import StackSettings

C = gcp.container

# The least-privilege role Google defines for node service accounts (logs, metrics, autoscaler
# metrics); replaces the legacy logWriter/metricWriter/monitoring.viewer trio.
NODE_SERVICE_ACCOUNT_ROLE = "roles/container.defaultNodeServiceAccount"

# VPC-native ranges of the cluster's own subnet; private (RFC 1918) and sized for a few hundred nodes.
NODE_RANGE = "10.10.0.0/20"
POD_RANGE = "10.16.0.0/14"
SERVICE_RANGE = "10.20.0.0/20"

OAUTH_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]

# GKE's default monitoring packages for a new Standard cluster (1.33, REGULAR), plus DCGM GPU metrics.
# `enable_components` is the complete list, so anything left out is switched off
# (../shared/notes/autoscaling-observability.md §3.3).
MONITORING_COMPONENTS = [
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
]

# GKE operations outlast most defaults: a GPU pool waits out a stockout until its timeout. These equal
# terraform-provider-google's current defaults (cluster 90m since v7.30.0, node pool 2h since v7.42.0; before,
# 40m and 30m), pinned so an older or newer provider cannot cut them short. A `pulumi up` that times out anyway
# can simply be run again: it picks up the resource where GKE left it.
CLUSTER_TIMEOUTS = pulumi.CustomTimeouts(create="90m", update="90m", delete="90m")
NODE_POOL_TIMEOUTS = pulumi.CustomTimeouts(create="120m", update="120m", delete="120m")

# A regional cluster's node pools span three of the region's zones unless told otherwise.
REGIONAL_POOL_ZONES = 3

# GCE label the policy pack reads to tell production stacks (policy/kserve_triton_policies.py).
PRODUCTION_LABEL = "kserve-triton-production"


def initial_nodes_per_zone(min_nodes: int, zones: int) -> int:
    """A pool's `initial_node_count` (per zone) that gives it at least `min_nodes` from the start: the
    autoscaler adds nodes for pending pods, not to reach its minimum."""
    return max(1, -(-min_nodes // zones)) if min_nodes else 0


@dataclass(frozen=True)
class SystemPoolArgs:
    machine_type: str
    min_nodes: int
    max_nodes: int


@dataclass(frozen=True)
class GkeClusterArgs:
    project: str
    name: str
    location: str
    """A region (regional cluster) or a zone (zonal cluster)."""
    region: str
    release_channel: str
    deletion_protection: bool
    protect: bool
    """Pulumi `protect` on the cluster: no delete or replace until it is turned off."""
    production: bool
    """Labels the cluster as production, which the policy pack (policy/) holds to production rules."""
    system_pool: SystemPoolArgs

    @classmethod
    def from_settings(cls, stack: StackSettings) -> GkeClusterArgs:
        cluster = stack.cluster
        assert cluster.name is not None and cluster.location is not None  # required on GKE
        return cls(
            project=stack.project,
            name=cluster.name,
            location=cluster.location,
            region=cluster.region,
            release_channel=cluster.release_channel,
            deletion_protection=cluster.deletion_protection,
            protect=cluster.protect,
            production=stack.production,
            system_pool=SystemPoolArgs(**cluster.system_node_pool.model_dump()),
        )


def node_service_account(
    name: str, project: str, cluster_name: str, purpose: str, parent: pulumi.Resource
) -> tuple[gcp.serviceaccount.Account, gcp.projects.IAMMember]:
    """A dedicated node service account holding only the node role (never the default compute account)."""
    account = gcp.serviceaccount.Account(
        name,
        account_id=service_account_id(cluster_name, purpose),
        display_name=f"GKE {cluster_name} {purpose} nodes",
        project=project,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    role = gcp.projects.IAMMember(
        f"{name}-role",
        project=project,
        role=NODE_SERVICE_ACCOUNT_ROLE,
        member=account.member,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return account, role


def workload_metadata() -> dict:
    return {"mode": "GKE_METADATA"}


def shielded_instance() -> dict:
    return {"enable_secure_boot": True, "enable_integrity_monitoring": True}


class GkeCluster(pulumi.ComponentResource):
    """A VPC-native GKE Standard cluster with Workload Identity, managed Prometheus and DCGM metrics,
    the default node pool removed, and a tainted-GPU-free system pool for cluster services."""

    name: pulumi.Output[str]
    location: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """A kubeconfig that authenticates with gke-gcloud-auth-plugin; secret."""
    provider: k8s.Provider
    """The Kubernetes provider every in-cluster resource must use."""
    system_node_selector: dict[str, str]
    """Node selector that places a pod on the system pool."""
    workload_pool_owner: list[pulumi.Resource]
    """What creates `<project>.svc.id.goog`: Workload Identity bindings must wait for it (IAM refuses them
    before the pool exists)."""

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:gke:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.node_service_account, self.node_service_account_role = node_service_account(
            f"{name}-system-nodes", args.project, args.name, "sys", parent=self
        )

        self.network = gcp.compute.Network(
            f"{name}-network",
            project=args.project,
            auto_create_subnetworks=False,
            description=f"VPC of GKE cluster {args.name}",
            opts=child,
        )
        self.subnetwork = gcp.compute.Subnetwork(
            f"{name}-subnet",
            project=args.project,
            region=args.region,
            network=self.network.id,
            ip_cidr_range=NODE_RANGE,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                {"range_name": "pods", "ip_cidr_range": POD_RANGE},
                {"range_name": "services", "ip_cidr_range": SERVICE_RANGE},
            ],
            opts=child,
        )

        self.cluster = C.Cluster(
            f"{name}-cluster",
            name=args.name,
            project=args.project,
            location=args.location,
            network=self.network.id,
            subnetwork=self.subnetwork.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={
                "cluster_secondary_range_name": "pods",
                "services_secondary_range_name": "services",
            },
            datapath_provider="ADVANCED_DATAPATH",
            release_channel={"channel": args.release_channel},
            workload_identity_config={"workload_pool": f"{args.project}.svc.id.goog"},
            enable_shielded_nodes=True,
            deletion_protection=args.deletion_protection,
            resource_labels={"managed-by": "pulumi", PRODUCTION_LABEL: str(args.production).lower()},
            # GKE needs a first pool to create a cluster; it is removed as soon as the cluster exists.
            # It still gets our node account, so nothing ever runs as the default compute account.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config={
                "service_account": self.node_service_account.email,
                "oauth_scopes": OAUTH_SCOPES,
                "workload_metadata_config": workload_metadata(),
                "shielded_instance_config": shielded_instance(),
            },
            logging_config={"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS"]},
            monitoring_config={"enable_components": MONITORING_COMPONENTS, "managed_prometheus": {"enabled": True}},
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                custom_timeouts=CLUSTER_TIMEOUTS,
                depends_on=[self.node_service_account_role],
                # The removed default pool's settings are create-only; never replace the cluster for them.
                ignore_changes=["nodeConfig", "initialNodeCount"],
            ),
        )

        self.system_node_selector = {NODE_ROLE_LABEL: "system"}
        self.workload_pool_owner = [self.cluster]
        self.system_pool = C.NodePool(
            f"{name}-system",
            project=args.project,
            cluster=self.cluster.id,
            location=args.location,
            autoscaling={
                "total_min_node_count": args.system_pool.min_nodes,
                "total_max_node_count": args.system_pool.max_nodes,
            },
            # Nodes from the start: cert-manager and KServe must not wait for a scale-up from zero.
            initial_node_count=initial_nodes_per_zone(
                args.system_pool.min_nodes, REGIONAL_POOL_ZONES if args.location == args.region else 1
            ),
            ignore_node_count_changes=True,
            management={"auto_repair": True, "auto_upgrade": True},
            node_config={
                "machine_type": args.system_pool.machine_type,
                "image_type": "COS_CONTAINERD",
                "service_account": self.node_service_account.email,
                "oauth_scopes": OAUTH_SCOPES,
                "labels": self.system_node_selector,
                "workload_metadata_config": workload_metadata(),
                "shielded_instance_config": shielded_instance(),
            },
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["initialNodeCount"], custom_timeouts=NODE_POOL_TIMEOUTS
            ),
        )

        self.name = self.cluster.name
        self.location = self.cluster.location
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.name,
                self.cluster.endpoint,
                self.cluster.master_auth.cluster_ca_certificate,
                self.cluster.project,
                self.cluster.location,
            ).apply(lambda parts: kubeconfig(*parts))
        )
        # In-cluster resources wait for the system pool: cert-manager and the KServe controller need
        # somewhere to run. GPU pools are deliberately not on this path.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.system_pool]),
        )

        self.register_outputs(
            {
                "name": self.name,
                "location": self.location,
                "endpoint": self.cluster.endpoint,
                "kubeconfig": self.kubeconfig,
                "systemPoolName": self.system_pool.name,
            }
        )


def kubeconfig(name: str, endpoint: str, ca_certificate: str, project: str, location: str) -> str:
    """A kubeconfig for the cluster that gets short-lived tokens from gke-gcloud-auth-plugin."""
    context = f"gke_{project}_{location}_{name}"
    return f"""apiVersion: v1
kind: Config
clusters:
- name: {context}
  cluster:
    certificate-authority-data: {ca_certificate}
    server: https://{endpoint}
contexts:
- name: {context}
  context:
    cluster: {context}
    user: {context}
current-context: {context}
preferences: {{}}
users:
- name: {context}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following
        https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
      provideClusterInfo: true
"""
