"""A GKE node pool of NVIDIA GPU nodes whose driver GKE installs, tainted so only GPU workloads land."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from components.gke_cluster import (
    NODE_POOL_TIMEOUTS,
    OAUTH_SCOPES,
    REGIONAL_POOL_ZONES,
    initial_nodes_per_zone,
    node_service_account,
    shielded_instance,
    workload_metadata,
)
from components.naming import NODE_ROLE_LABEL

if TYPE_CHECKING:
    from components.gke_cluster import GkeCluster
    from components.image_cache import ImageCache
    from settings import StackSettings

# GKE adds this taint itself only in some cases (not when every pool is a GPU pool, nor to existing
# nodes); declaring it keeps CPU pods off GPU nodes in every case. Pods that request nvidia.com/gpu
# get a matching toleration.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
ACCELERATOR_NODE_LABEL = "cloud.google.com/gke-accelerator"
IMAGE_STREAMING_ROLE = "roles/serviceusage.serviceUsageConsumer"


@dataclass(frozen=True)
class GpuNodePoolArgs:
    project: str
    cluster_id: pulumi.Input[str]
    cluster_name: str
    location: str
    """The cluster's location (region or zone)."""
    machine_type: str
    accelerator_type: str
    accelerator_count: int
    driver_version: str
    spot: bool
    min_nodes: int
    max_nodes: int
    zones: list[str] | None
    disk_size_gb: int
    image_repositories: list[gcp.artifactregistry.Repository] = field(default_factory=list)
    """The image proxies the nodes pull from (the first holds Triton): they get read access, and image streaming
    is turned on."""
    secondary_boot_disk: str | None = None
    """A disk image with the Triton image preloaded, attached in container-image-cache mode."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    """What must exist before the pool, e.g. the Container File System API for image streaming."""
    sharing: dict | None = None
    """GPU sharing: {"strategy": "TIME_SHARING", "clients_per_gpu": N}; None: one replica per GPU."""
    capacity: list | None = None
    """A fallback list: GKE creates the node pools (a ComputeClass, components/gpu_capacity.py), so this component
    creates only the nodes' account and its grants."""

    @classmethod
    def from_settings(
        cls, stack: StackSettings, cluster: GkeCluster, image_cache: ImageCache | None
    ) -> GpuNodePoolArgs:
        from settings.gpu_pool import pool_zones

        pool = stack.gpu_node_pool
        assert pool is not None
        return cls(
            project=stack.project,
            cluster_id=cluster.cluster_id,
            cluster_name=stack.cluster.gke_name,
            location=stack.cluster.gke_location,
            accelerator_count=pool.gpus_per_node,
            image_repositories=list(image_cache.repositories) if image_cache else [],
            depends_on=list(image_cache.apis) if image_cache else [],
            zones=pool_zones(stack),
            **pool.model_dump(exclude={"accelerator_count", "zones"}),
        )


class GpuNodePool(pulumi.ComponentResource):
    """GPU nodes with GKE-managed NVIDIA drivers, their own least-privilege service account, Workload
    Identity metadata, shielded boot, autoscaling that may reach zero, and upgrades that need no spare GPU."""

    name: pulumi.Output[str] | None
    """The node pool's generated name (it is not fixed, so a replacement can be created first); None when GKE
    creates the pools (a fallback list)."""
    node_pool: gcp.container.NodePool | None
    service_account_email: pulumi.Output[str]

    @staticmethod
    def zone_count(args: GpuNodePoolArgs) -> int:
        if args.zones:
            return len(args.zones)
        return REGIONAL_POOL_ZONES if args.location.count("-") == 1 else 1

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:gke:GpuNodePool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.service_account, self.service_account_role = node_service_account(
            f"{name}-nodes", args.project, args.cluster_name, "gpu", parent=self
        )

        # Nodes pull images with their own account, so it needs to read the proxy repositories; image streaming
        # also needs serviceusage.services.use on the project for a custom node account (GKE docs, "Use Image
        # streaming to pull container images", requirements).
        self.image_bindings = [
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-nodes-pull" + ("" if index == 0 else f"-{index}"),
                project=args.project,
                location=repository.location,
                repository=repository.name,
                role="roles/artifactregistry.reader",
                member=self.service_account.member,
                opts=child,
            )
            for index, repository in enumerate(args.image_repositories)
        ]
        if args.image_repositories:
            self.image_bindings.append(
                gcp.projects.IAMMember(
                    f"{name}-nodes-streaming",
                    project=args.project,
                    role=IMAGE_STREAMING_ROLE,
                    member=self.service_account.member,
                    opts=child,
                )
            )
        if args.capacity is not None:
            # GKE creates the pools from the ComputeClass, which names this account; nothing more to create here.
            self.node_pool = None
            self.name = None
            self.service_account_email = self.service_account.email
            self.register_outputs({"serviceAccountEmail": self.service_account_email})
            return
        image_settings: dict = {}
        if args.image_repositories:
            image_settings["gcfs_config"] = {"enabled": True}  # image streaming: Artifact Registry images only
        if args.secondary_boot_disk is not None:
            image_settings["secondary_boot_disks"] = [
                {"disk_image": args.secondary_boot_disk, "mode": "CONTAINER_IMAGE_CACHE"}
            ]

        self.node_pool = gcp.container.NodePool(
            name,
            project=args.project,
            cluster=args.cluster_id,
            location=args.location,
            node_locations=args.zones,
            initial_node_count=initial_nodes_per_zone(args.min_nodes, self.zone_count(args)),
            autoscaling={
                "total_min_node_count": args.min_nodes,
                "total_max_node_count": args.max_nodes,
                # ANY fills whichever zone has capacity: fewer stockouts and spot preemptions.
                "location_policy": "ANY" if args.spot else "BALANCED",
            },
            # The autoscaler owns the node count; Pulumi must neither fight nor replace over it.
            ignore_node_count_changes=True,
            management={"auto_repair": True, "auto_upgrade": True},
            # Surge upgrades would need a spare GPU (and quota for it); replace nodes one at a time.
            upgrade_settings={"strategy": "SURGE", "max_surge": 0, "max_unavailable": 1},
            node_config={
                "machine_type": args.machine_type,
                "image_type": "COS_CONTAINERD",
                "disk_size_gb": args.disk_size_gb,
                "spot": args.spot,
                "guest_accelerators": [
                    {
                        "type": args.accelerator_type,
                        "count": args.accelerator_count,
                        "gpu_driver_installation_config": {"gpu_driver_version": args.driver_version},
                        **(
                            {
                                "gpu_sharing_config": {
                                    "gpu_sharing_strategy": args.sharing["strategy"],
                                    "max_shared_clients_per_gpu": args.sharing["clients_per_gpu"],
                                }
                            }
                            if args.sharing
                            else {}
                        ),
                    }
                ],
                "taints": [GPU_TAINT],
                "labels": {NODE_ROLE_LABEL: "gpu"},
                "service_account": self.service_account.email,
                "oauth_scopes": OAUTH_SCOPES,
                "workload_metadata_config": workload_metadata(),
                "shielded_instance_config": shielded_instance(),
                **image_settings,
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.service_account_role, *self.image_bindings, *args.depends_on],
                ignore_changes=["initialNodeCount"],
                custom_timeouts=NODE_POOL_TIMEOUTS,
            ),
        )

        self.name = self.node_pool.name
        self.service_account_email = self.service_account.email
        self.register_outputs({"name": self.name, "serviceAccountEmail": self.service_account_email})
