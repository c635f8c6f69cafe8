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

# Webhook ports the control plane must reach on the system nodes, beyond the 443 and 10250 GKE's own firewall
# rule opens for private nodes (GKE docs, "Add firewall rules for specific use cases"): KServe's webhook server
# and KEDA's admission webhooks listen on 9443, KEDA's metrics API server on 6443 (rendered charts;
# cert-manager's webhook is on 10250 precisely for private GKE clusters).
WEBHOOK_PORTS = ["9443", "6443"]

# GCE label the policy pack reads to tell production stacks (policy/kserve_triton_policies/common.py).
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
class AutoProvisioningArgs:
    """Cluster-wide node auto-provisioning: the most GKE may create, and where. The limits count every pool, the
    system pool included (GKE docs, "Configure node pool auto-creation")."""

    max_cpu: int
    max_memory_gb: int
    accelerator: str
    max_gpus: int
    zones: list[str] | None


def auto_provisioning(stack: StackSettings) -> AutoProvisioningArgs | None:
    """Standard with a GPU fallback list: room for the system pool at its largest, the GPU pool's maxNodes and, for
    Hyperdisk ML, one Volume Populator transfer node (the guide's c3-standard-44)."""
    from catalog import gcp as gcp_catalog
    from settings.capacity import capacity_zones
    from settings.model_loading import uses

    pool = stack.gpu_node_pool
    if stack.cluster.is_autopilot or pool is None or pool.capacity is None:
        return None
    system = gcp_catalog.MACHINE_TYPES[stack.cluster.system_node_pool.machine_type]
    gpu = gcp_catalog.MACHINE_TYPES[pool.machine_type]
    transfer = (44, 176) if uses(stack, "hyperdiskMl") else (0, 0)
    max_system = stack.cluster.system_node_pool.max_nodes
    return AutoProvisioningArgs(
        max_cpu=max_system * system.vcpus + pool.max_nodes * gpu.vcpus + transfer[0],
        max_memory_gb=int(max_system * system.memory_gib + pool.max_nodes * gpu.memory_gib) + transfer[1],
        accelerator=pool.accelerator_type,
        max_gpus=pool.max_nodes * pool.gpus_per_node,
        zones=capacity_zones(stack),
    )


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
    autopilot: bool = False
    """GKE provisions the nodes per Pod: no node pools, no system pool (and so no system node selector)."""
    private_nodes: bool = False
    """Nodes without public IPs; the control plane keeps its (authorized-networks-restricted) public endpoint."""
    master_authorized_networks: list[str] | None = None
    """CIDRs allowed to reach the control plane; None: any address (IAM still authenticates every request)."""
    cloud_nat: bool = False
    """Private nodes that pull something from outside Google get Cloud NAT."""
    gcs_fuse: bool = False
    """GKE's Cloud Storage FUSE CSI driver (off by default on Standard; Autopilot has it on)."""
    auto_provisioning: AutoProvisioningArgs | None = None
    """Node pool auto-creation on Standard, for a ComputeClass's fallback list (and the Volume Populator's Job)."""

    @classmethod
    def from_settings(cls, stack: StackSettings) -> GkeClusterArgs:
        from settings.model_loading import uses

        cluster = stack.cluster
        return cls(
            project=stack.project,
            name=cluster.gke_name,
            location=cluster.gke_location,
            region=cluster.region,
            release_channel=cluster.release_channel,
            deletion_protection=cluster.deletion_protection,
            protect=cluster.protect,
            production=stack.production,
            system_pool=SystemPoolArgs(**cluster.system_node_pool.model_dump()),
            autopilot=cluster.is_autopilot,
            private_nodes=stack.private_nodes,
            master_authorized_networks=cluster.master_authorized_networks,
            cloud_nat=stack.private_nodes and stack.pulls_from_outside_google,
            gcs_fuse=uses(stack, "gcsFuse") and not cluster.is_autopilot,
            auto_provisioning=auto_provisioning(stack),
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
    """A VPC-native GKE cluster with Workload Identity, managed Prometheus and DCGM metrics: Standard (the default
    node pool removed, a tainted-GPU-free system pool for cluster services) or Autopilot; private nodes on demand."""

    name: pulumi.Output[str]
    location: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """A kubeconfig that authenticates with gke-gcloud-auth-plugin; secret."""
    provider: k8s.Provider
    """The Kubernetes provider every in-cluster resource must use."""
    system_node_selector: dict[str, str] | None
    """Node selector that places a pod on the system pool (None on Autopilot)."""
    cluster_id: pulumi.Output[str]
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
            # Artifact Registry, GCS and the other Google APIs without a public IP (private nodes).
            private_ip_google_access=True,
            secondary_ip_ranges=[
                {"range_name": "pods", "ip_cidr_range": POD_RANGE},
                {"range_name": "services", "ip_cidr_range": SERVICE_RANGE},
            ],
            opts=child,
        )
        self.nat = self._cloud_nat(name, args) if args.cloud_nat else None

        self.cluster = C.Cluster(
            f"{name}-cluster",
            **cluster_inputs(args, self.node_service_account.email),
            network=self.network.id,
            subnetwork=self.subnetwork.id,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                custom_timeouts=CLUSTER_TIMEOUTS,
                depends_on=[self.node_service_account_role],
                # The removed default pool's settings are create-only; never replace the cluster for them.
                ignore_changes=[] if args.autopilot else ["nodeConfig", "initialNodeCount"],
            ),
        )
        self.cluster_id = self.cluster.id
        self.workload_pool_owner = [self.cluster]
        self.webhook_firewall = self._webhook_firewall(name, args) if args.private_nodes else None

        if args.autopilot:  # Autopilot places cert-manager and KServe itself
            self.system_node_selector = None
            self.system_pool = None
        else:
            self.system_node_selector = {NODE_ROLE_LABEL: "system"}
            self.system_pool = self._system_pool(name, args)

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
        # somewhere to run (and, on private nodes, the webhook ports open). GPU pools are not on this path.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[r for r in (self.system_pool or self.cluster, self.webhook_firewall, self.nat) if r],
            ),
        )

        outputs = {"name": self.name, "location": self.location, "endpoint": self.cluster.endpoint}
        if self.system_pool is not None:
            outputs["systemPoolName"] = self.system_pool.name
        self.register_outputs({**outputs, "kubeconfig": self.kubeconfig})

    def _system_pool(self, name: str, args: GkeClusterArgs) -> C.NodePool:
        assert self.system_node_selector is not None
        return C.NodePool(
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

    def _cloud_nat(self, name: str, args: GkeClusterArgs) -> gcp.compute.RouterNat:
        """Outbound internet for private nodes, only when something is pulled from outside Google (a model over
        https://, hf:// or s3://, or images without the proxies); Google APIs need none (Private Google Access)."""
        router = gcp.compute.Router(
            f"{name}-router", project=args.project, region=args.region, network=self.network.id,
            opts=pulumi.ResourceOptions(parent=self),
        )  # fmt: skip
        return gcp.compute.RouterNat(
            f"{name}-nat",
            project=args.project,
            region=args.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _webhook_firewall(self, name: str, args: GkeClusterArgs) -> gcp.compute.Firewall:
        """The control plane calls admission webhooks on the pods' own ports; on private nodes GKE's rule opens
        only 443 and 10250. The webhooks run on the system nodes, which are targeted by their service account
        (no dependence on GKE's hashed node tag). Source: the node subnet, where the control plane's
        Private Service Connect endpoint lives (terraform-google-kubernetes-engine, `cluster_endpoint_for_nodes`,
        for clusters without a master CIDR block)."""
        return gcp.compute.Firewall(
            f"{name}-webhooks",
            project=args.project,
            network=self.network.id,
            direction="INGRESS",
            description=f"GKE {args.name}: control plane to the KServe and KEDA webhooks",
            source_ranges=[NODE_RANGE],
            allows=[{"protocol": "tcp", "ports": WEBHOOK_PORTS}],
            target_service_accounts=[self.node_service_account.email],
            log_config={"metadata": "INCLUDE_ALL_METADATA"},
            opts=pulumi.ResourceOptions(parent=self),
        )


def cluster_inputs(args: GkeClusterArgs, node_service_account_email: pulumi.Input[str]) -> dict:
    """The cluster's inputs for Standard or Autopilot. Autopilot refuses the arguments that manage nodes, an
    explicit False included (pulumi/pulumi-gcp#2881): they are left out, not set to False."""
    inputs: dict = {
        "name": args.name,
        "project": args.project,
        "location": args.location,
        "networking_mode": "VPC_NATIVE",
        "ip_allocation_policy": {"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
        "release_channel": {"channel": args.release_channel},
        "workload_identity_config": {"workload_pool": f"{args.project}.svc.id.goog"},
        "deletion_protection": args.deletion_protection,
        "resource_labels": {"managed-by": "pulumi", PRODUCTION_LABEL: str(args.production).lower()},
        "logging_config": {"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS"]},
        "monitoring_config": {"enable_components": MONITORING_COMPONENTS, "managed_prometheus": {"enabled": True}},
    }
    if args.private_nodes:
        # Private nodes; the control plane keeps its public endpoint (CI and people reach it), narrowed to the
        # authorized networks when given.
        inputs["private_cluster_config"] = {"enable_private_nodes": True, "enable_private_endpoint": False}
    if args.master_authorized_networks is not None:
        inputs["master_authorized_networks_config"] = {
            "cidr_blocks": [{"cidr_block": cidr, "display_name": cidr} for cidr in args.master_authorized_networks]
        }
    if args.autopilot:
        inputs["enable_autopilot"] = True
        # The nodes Autopilot provisions run as our node account, never the default compute account.
        inputs["cluster_autoscaling"] = {
            "auto_provisioning_defaults": {"service_account": node_service_account_email, "oauth_scopes": OAUTH_SCOPES}
        }
        return inputs
    if args.gcs_fuse:
        inputs["addons_config"] = {"gcs_fuse_csi_driver_config": {"enabled": True}}
    if args.auto_provisioning is not None:
        nap = args.auto_provisioning
        inputs["cluster_autoscaling"] = {
            "enabled": True,
            "resource_limits": [
                {"resource_type": "cpu", "minimum": 0, "maximum": nap.max_cpu},
                {"resource_type": "memory", "minimum": 0, "maximum": nap.max_memory_gb},
                {"resource_type": nap.accelerator, "minimum": 0, "maximum": nap.max_gpus},
            ],
            # Pools GKE creates run as the system nodes' account unless a ComputeClass names another (the GPU one
            # names the GPU nodes' account), with the same hardening as this program's own pools.
            "auto_provisioning_defaults": {
                "service_account": node_service_account_email,
                "oauth_scopes": OAUTH_SCOPES,
                "image_type": "COS_CONTAINERD",
                "management": {"auto_repair": True, "auto_upgrade": True},
                "shielded_instance_config": shielded_instance(),
            },
            **({"auto_provisioning_locations": nap.zones} if nap.zones else {}),
        }
    inputs.update(
        datapath_provider="ADVANCED_DATAPATH",
        enable_shielded_nodes=True,
        # GKE needs a first pool to create a cluster; it is removed as soon as the cluster exists.
        # It still gets our node account, so nothing ever runs as the default compute account.
        remove_default_node_pool=True,
        initial_node_count=1,
        node_config={
            "service_account": node_service_account_email,
            "oauth_scopes": OAUTH_SCOPES,
            "workload_metadata_config": workload_metadata(),
            "shielded_instance_config": shielded_instance(),
        },
    )
    return inputs


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
