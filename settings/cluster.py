"""The cluster: a GKE cluster this program creates (Standard with node pools, or Autopilot), or an existing
cluster it only reads — a GKE cluster by project, location and name, or any cluster by kubeconfig context —
optionally with GPU nodes it describes rather than creates."""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from catalog import gcp as gcp_catalog
from settings.base import MISSING, Count, Flag, Problem, Settings, Text, raise_if
from settings.capacity import Tier, capacity_problems, capacity_zones
from settings.gcp import ProjectId

if TYPE_CHECKING:
    from settings.stack import StackSettings

GKE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"

# GPU types and counts per Pod that Autopilot accepts (GKE docs, "Deploy GPU workloads in Autopilot", 2026-04).
AUTOPILOT_GPU_COUNTS: dict[str, tuple[int, ...]] = {
    "nvidia-tesla-t4": (1, 2, 4),
    "nvidia-l4": (1, 2, 4, 8),
    "nvidia-rtx-pro-6000": (1, 2, 4, 8),
    "nvidia-tesla-a100": (1, 2, 4, 8, 16),
    "nvidia-a100-80gb": (1, 2, 4, 8),
    "nvidia-h100-80gb": (1, 2, 4, 8),
    "nvidia-h100-mega-80gb": (8,),
    "nvidia-h200-141gb": (8,),
    "nvidia-b200": (8,),
}


def _gke_name(name: str | None) -> str | None:
    if name is not None and not GKE_NAME.match(name):
        raise ValueError(
            "must be 1-40 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen"
        )
    return name


def _gcp_location(location: str | None) -> str | None:
    if location is not None and gcp_catalog.region_of(location) is None:
        raise ValueError(
            "must be a GCP region (e.g. us-central1) or zone (e.g. us-central1-a); "
            f"known regions: {', '.join(sorted(gcp_catalog.REGIONS))}"
        )
    return location


class SystemNodePoolSettings(Settings):
    """The small CPU pool for cluster services; GPU nodes are tainted so these never land there."""

    machine_type: Text = "e2-standard-4"
    """Machine type of the small CPU pool that runs cluster services (cert-manager, KServe controller): a Compute
    Engine machine without GPUs (E2, N1, N2, N2D, N4)."""
    min_nodes: Count = Field(1, ge=1)
    """Fewest system nodes (across all zones of the pool); at least 3 in production."""
    max_nodes: Count = Field(3, ge=1)
    """Most system nodes (across all zones of the pool)."""

    @field_validator("machine_type")
    @classmethod
    def _cpu_machine(cls, machine_type: str) -> str:
        machine = gcp_catalog.MACHINE_TYPES.get(machine_type)
        if machine is not None and machine.builtin_accelerator is not None:
            raise ValueError(
                f"comes with {machine.builtin_count} {machine.builtin_accelerator} built in, which the system pool "
                "would leave idle: use a machine without GPUs, e.g. e2-standard-4"
            )
        if machine is None:
            known = gcp_catalog.cpu_machine_types()
            close = difflib.get_close_matches(machine_type, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            families = sorted({name.rsplit("-", 1)[0] for name in known})
            raise ValueError(
                f"is not a Compute Engine machine type the catalog knows; {hint}e.g. {', '.join(families)}-N"
            )
        return machine_type

    @model_validator(mode="after")
    def _min_not_above_max(self) -> SystemNodePoolSettings:
        if self.min_nodes > self.max_nodes:
            raise_if([Problem("minNodes", self.min_nodes, f"must be at most maxNodes ({self.max_nodes})")])
        return self


class ExistingGpuNodesSettings(Settings):
    """GPU nodes an existing cluster already has: replicas are sized for, selected onto and tolerated on them."""

    accelerator_type: Text
    """The value of the nodes' accelerator label, e.g. nvidia-l4 on GKE."""
    accelerator_label: Text = ACCELERATOR_LABEL
    """The node label that says which GPU a node has (GKE: cloud.google.com/gke-accelerator)."""
    gpus_per_node: Count = Field(1, ge=1)
    """GPUs on each of those nodes."""
    machine_type: Text | None = None
    """GCE machine type of those nodes, to size replicas from (else set triton.cpu and triton.memory)."""
    tainted: Flag = True
    """Whether the nodes carry the nvidia.com/gpu taint GKE GPU nodes have (replicas then tolerate it)."""

    @field_validator("accelerator_label")
    @classmethod
    def _label_key(cls, key: str) -> str:
        if not LABEL_KEY.match(key):
            raise ValueError("must be a Kubernetes label key, e.g. cloud.google.com/gke-accelerator")
        return key


class ExistingClusterSettings(Settings):
    """A cluster this program does not create, only reads: never replaced, never deleted."""

    context: Text | None = None
    """kubeconfig context of any cluster to install into ($KUBECONFIG or ~/.kube/config), e.g. kind-kserve; no
    GCP resources. Or, for an existing GKE cluster, name and location instead."""
    name: Text | None = None
    """Name of an existing GKE cluster (with location): read through the GKE API, Kubernetes reached with
    gke-gcloud-auth-plugin; this program's GPU pool, identities and proxies may be added to it."""
    location: Text | None = None
    """Region or zone of that existing GKE cluster."""
    project: ProjectId | None = None
    """Project of that existing GKE cluster; default gcp:project."""
    gpu_nodes: ExistingGpuNodesSettings | None = None
    """GPU nodes the cluster already has, to serve on without creating any."""

    _name = field_validator("name")(_gke_name)
    _location = field_validator("location")(_gcp_location)

    @field_validator("context")
    @classmethod
    def _named(cls, context: str | None) -> str | None:
        if context is not None and not context.strip():
            raise ValueError(
                "must name a kubeconfig context (`kubectl config get-contexts`): an empty context means "
                "whichever context is current, which can put KServe into the wrong cluster"
            )
        return context

    @model_validator(mode="after")
    def _context_or_gke(self) -> ExistingClusterSettings:
        gke = {"name": self.name, "location": self.location}
        if self.context is not None:
            raise_if(
                [
                    Problem(field, value, "names an existing GKE cluster; a kubeconfig context is the other kind")
                    for field, value in (*gke.items(), ("project", self.project))
                    if value is not None
                ]
            )
        elif any(v is None for v in gke.values()):
            raise_if(
                [
                    Problem(field, MISSING, "is required for an existing GKE cluster (or give context instead)")
                    for field, value in gke.items()
                    if value is None
                ]
            )
        return self

    @property
    def is_gke(self) -> bool:
        return self.context is None


class AutopilotSettings(Settings):
    """What an Autopilot cluster runs replicas on: GKE provisions the nodes per Pod."""

    accelerator_type: Text | None = None
    """The GPU replicas get (cloud.google.com/gke-accelerator), e.g. nvidia-l4; unset: Triton on the CPU."""
    spot: Flag = False
    """Spot capacity for the replicas (cloud.google.com/gke-spot), preemptible with 30 s notice."""
    capacity: list[Tier] | None = None
    """Ways to get a GPU node, tried in order (a ComputeClass): {reservation: {name, project, zone}}, onDemand,
    spot, flexStart; unset: spot or on-demand."""

    @field_validator("accelerator_type")
    @classmethod
    def _autopilot_gpu(cls, accelerator: str | None) -> str | None:
        if accelerator is not None and accelerator not in AUTOPILOT_GPU_COUNTS:
            raise ValueError(f"Autopilot offers: {', '.join(AUTOPILOT_GPU_COUNTS)}")
        return accelerator


class ClusterSettings(Settings):
    """The GKE cluster this program creates, or `existing` to install into a cluster you already have."""

    mode: Literal["standard", "autopilot"] = "standard"
    """standard: this program's node pools (system and GPU); autopilot: GKE provisions nodes per Pod
    (regional only; GPUs from `autopilot`)."""
    name: Text | None = None
    """GKE cluster name: lowercase letters, digits and hyphens, at most 40 characters. Required unless existing."""
    location: Text | None = None
    """A GCP region (regional cluster) or zone (zonal cluster). Required unless existing; a region in production."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    """GKE release channel; GKE upgrades the control plane and nodes within it. STABLE in production."""
    deletion_protection: Flag = True
    """GKE's own deletion protection: while true, GKE refuses to delete the cluster."""
    protect: Flag = True
    """Pulumi `protect` on the cluster: `pulumi up`/`destroy` refuse to delete or replace it."""
    private_nodes: Flag | None = None
    """Nodes without public IP addresses (Cloud NAT only if something is pulled from outside Google). Default:
    on in production stacks, off otherwise."""
    master_authorized_networks: list[Text] | None = None
    """CIDR ranges allowed to reach the control plane's public endpoint, e.g. [203.0.113.0/24]; unset: any
    address (every request is still authenticated by IAM)."""
    system_node_pool: SystemNodePoolSettings = SystemNodePoolSettings()
    """The CPU pool for cluster services; GPU nodes are tainted so these never land there."""
    autopilot: AutopilotSettings | None = None
    """mode autopilot: the GPU replicas get."""
    existing: ExistingClusterSettings | None = None
    """Use an existing cluster instead of creating one: a GKE cluster (name, location) or any kubeconfig context."""

    _name = field_validator("name")(_gke_name)
    _location = field_validator("location")(_gcp_location)

    @field_validator("master_authorized_networks")
    @classmethod
    def _cidrs(cls, networks: list[str] | None) -> list[str] | None:
        for network in networks or []:
            try:
                ipaddress.ip_network(network, strict=True)
            except ValueError:
                raise ValueError(f"{network!r} is not a CIDR range such as 203.0.113.0/24") from None
        return networks

    @model_validator(mode="after")
    def _gke_or_existing(self) -> ClusterSettings:
        problems = []
        if self.existing is not None:
            for field in sorted(self.model_fields_set - {"existing"}):
                alias = type(self).model_fields[field].alias or field
                problems.append(Problem(alias, getattr(self, field), "is a GKE setting; remove it, or remove existing"))
        else:
            problems += [
                Problem(field, MISSING, "is required (or set existing to use an existing cluster)")
                for field in ("name", "location")
                if getattr(self, field) is None
            ]
        if self.mode == "autopilot":
            if self.location is not None and gcp_catalog.is_zone(self.location):
                problems.append(Problem("location", self.location, "an Autopilot cluster is regional: give a region"))
            if "system_node_pool" in self.model_fields_set:
                problems.append(
                    Problem("systemNodePool", self.system_node_pool, "Autopilot manages the nodes: remove it")
                )
        elif self.autopilot is not None:
            problems.append(Problem("autopilot", self.autopilot, "is for mode: autopilot; remove it, or set the mode"))
        raise_if(problems)
        return self

    @property
    def gke_location(self) -> str:
        location = self.existing.location if self.existing is not None else self.location
        assert location is not None  # required on GKE
        return location

    @property
    def gke_name(self) -> str:
        name = self.existing.name if self.existing is not None else self.name
        assert name is not None  # required on GKE
        return name

    @property
    def region(self) -> str:
        region = gcp_catalog.region_of(self.gke_location)
        assert region is not None  # checked by the validators
        return region

    @property
    def is_regional(self) -> bool:
        return not gcp_catalog.is_zone(self.gke_location)

    @property
    def is_autopilot(self) -> bool:
        return self.existing is None and self.mode == "autopilot"


PRODUCTION_SYSTEM_NODES = 3
"""A production system pool keeps cert-manager's, KServe's and KEDA's replicas apart: one node per zone of a region."""
PRODUCTION_CHANNEL = "STABLE"
"""Production takes GKE versions last, after RAPID and REGULAR have run them."""


def production_problems(stack: StackSettings) -> list[Problem]:
    """What production promises beyond protection (README, "Stacks"): a regional control plane, the STABLE channel and
    at least three system nodes."""
    cluster, problems = stack.cluster, []
    if cluster.location is not None and gcp_catalog.is_zone(cluster.location):
        region = gcp_catalog.region_of(cluster.location)
        problems.append(
            Problem(
                "cluster.location",
                cluster.location,
                f"a production cluster is regional (its control plane survives a zone's outage): give a region, e.g. "
                f"{region}",
            )
        )
    if cluster.release_channel != PRODUCTION_CHANNEL:
        problems.append(
            Problem(
                "cluster.releaseChannel",
                cluster.release_channel,
                "a production cluster is on STABLE, which gets a GKE version after RAPID and REGULAR have run it",
            )
        )
    if not cluster.is_autopilot and cluster.system_node_pool.min_nodes < PRODUCTION_SYSTEM_NODES:
        problems.append(
            Problem(
                "cluster.systemNodePool.minNodes",
                cluster.system_node_pool.min_nodes,
                f"a production system pool has at least {PRODUCTION_SYSTEM_NODES} nodes (cert-manager's, KServe's and "
                "KEDA's replicas on separate nodes and zones)",
            )
        )
    return problems


def stack_problems(stack: StackSettings) -> list[Problem]:
    problems = []
    if stack.production and not stack.manages_cluster:
        return [Problem("production", True, "a production stack must run on a GKE cluster this program manages")]
    if stack.production:
        problems += [
            Problem(setting, value, "must be true in a production stack")
            for setting, value in (
                ("cluster.deletionProtection", stack.cluster.deletion_protection),
                ("cluster.protect", stack.cluster.protect),
                ("cluster.privateNodes", stack.private_nodes),
            )
            if not value
        ]
        problems += production_problems(stack)
    autopilot = stack.cluster.autopilot
    if stack.cluster.is_autopilot and autopilot is not None and autopilot.capacity is not None:
        if autopilot.accelerator_type is None:
            problems.append(
                Problem(
                    "cluster.autopilot.capacity", "...", "is for GPU replicas: set cluster.autopilot.acceleratorType"
                )
            )
        else:
            if autopilot.spot:
                problems.append(
                    Problem("cluster.autopilot.spot", True, "with capacity, spot is a tier of the list: remove spot")
                )
            problems += capacity_problems(
                stack,
                autopilot.capacity,
                "cluster.autopilot.capacity",
                autopilot.accelerator_type,
                capacity_zones(stack),
            )
    existing = stack.cluster.existing
    if existing is not None and existing.gpu_nodes is not None:
        if stack.gpu_node_pool is not None:
            problems.append(
                Problem(
                    "cluster.existing.gpuNodes",
                    existing.gpu_nodes,
                    "describes GPU nodes the cluster has; gpuNodePool creates one: keep one of the two",
                )
            )
        if existing.gpu_nodes.machine_type is not None:
            if existing.gpu_nodes.machine_type not in gcp_catalog.MACHINE_TYPES:
                problems.append(
                    Problem(
                        "cluster.existing.gpuNodes.machineType",
                        existing.gpu_nodes.machine_type,
                        "is not a GCE machine type the catalog knows: leave it out, and set triton.cpu and "
                        "triton.memory",
                    )
                )
        elif stack.triton.cpu is None or stack.triton.memory is None:
            problems.append(
                Problem(
                    "cluster.existing.gpuNodes.machineType",
                    MISSING,
                    "is required to size replicas for those nodes, unless triton.cpu and triton.memory are set",
                )
            )
    return problems
