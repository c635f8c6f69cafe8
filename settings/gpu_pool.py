"""The GPU node pool: machine and accelerator (checked against the GCP catalog), driver, spot, size, zones
and the disk the Triton image is preloaded on."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from catalog import gcp as gcp_catalog
from catalog import gpu_placement as gpu_placement_module
from catalog.gpu_placement import GpuPlacement
from settings.base import MISSING, Count, Flag, Problem, Settings, Text, raise_if
from settings.capacity import COMPUTE_CLASS_NAME, Tier, capacity_problems, capacity_zones

AUTOPILOT_CAPACITY = 1_000_000
"""Autopilot provisions a node per pending GPU Pod: a rollout may always start the new replica first."""

if TYPE_CHECKING:
    from settings.stack import StackSettings

DISK_IMAGE = re.compile(r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/)?global/images/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


class GpuSharingSettings(Settings):
    """GPU time-sharing: each GPU serves several replicas, one `nvidia.com/gpu` slot each, its memory unisolated."""

    strategy: Literal["TIME_SHARING", "MPS"] = "TIME_SHARING"
    """TIME_SHARING (GKE >= 1.23.7-gke.1400). MPS is refused: it needs hostIPC on the Pod, which Pod Security
    'restricted' (the model namespaces' profile) forbids."""
    clients_per_gpu: Count = Field(ge=2, le=48)
    """Replicas that share one GPU (2-48): each gets this share of the GPU's node CPU and memory."""

    @field_validator("strategy")
    @classmethod
    def _no_mps(cls, strategy: str) -> str:
        if strategy == "MPS":
            raise ValueError(
                "MPS is not supported here: GKE's MPS clients share the GPU's MPS daemon through IPC (hostIPC on "
                "the Pod), which Pod Security 'restricted' forbids on the model namespaces; use TIME_SHARING"
            )
        return strategy


class GpuNodePoolSettings(Settings):
    """GPU nodes whose NVIDIA driver GKE installs, tainted so that only GPU workloads land on them."""

    machine_type: Text
    """Machine type of the GPU nodes; it must take the accelerator (e.g. g2-standard-8 for nvidia-l4)."""
    accelerator_type: Text
    """GKE accelerator name, e.g. nvidia-l4, nvidia-tesla-t4, nvidia-tesla-a100."""
    accelerator_count: Count | None = Field(None, ge=1)
    """GPUs per node. Defaults to the count built into the machine type (1 for N1)."""
    driver_version: Literal["DEFAULT", "LATEST"] = "DEFAULT"
    """NVIDIA driver GKE installs: DEFAULT or LATEST for the node's GKE version (COS nodes)."""
    spot: Flag = False
    """Spot VMs: 60-90% cheaper, preemptible at any time with 30 s notice."""
    min_nodes: Count = Field(0, ge=0)
    """Fewest GPU nodes in the whole pool (0 lets the pool scale to zero)."""
    max_nodes: Count = Field(ge=1)
    """Most GPU nodes in the whole pool; bounds cost and GPU quota (maxNodes x acceleratorCount)."""
    zones: list[Text] | None = None
    """Zones for the GPU nodes (must offer the GPU). Default: the cluster's zone(s)."""
    disk_size_gb: Count = Field(200, ge=50, le=65536)
    """Boot disk size per GPU node in GB; the Triton image alone is about 15 GB unpacked."""
    secondary_boot_disk: Text | None = None
    """Disk image with the Triton image preloaded (global/images/NAME or projects/P/global/images/NAME),
    attached in container-image-cache mode; needs imageCache."""
    sharing: GpuSharingSettings | None = None
    """Share each GPU between several replicas (time-sharing): for small models that leave most of a GPU idle."""
    capacity: list[Tier] | None = None
    """Ways to get a GPU node, tried in order: {reservation: {name, project, zone}}, onDemand, spot, flexStart. GKE
    creates the node pools (node auto-provisioning, a ComputeClass); unset: one pool, spot or on-demand."""

    @field_validator("secondary_boot_disk")
    @classmethod
    def _disk_image(cls, image: str | None) -> str | None:
        if image is not None and not DISK_IMAGE.match(image):
            raise ValueError(
                "must be a Compute Engine disk image: global/images/NAME or projects/PROJECT/global/images/NAME "
                "(NAME: lowercase letters, digits and hyphens, at most 63)"
            )
        return image

    @property
    def gpus_per_node(self) -> int:
        if self.accelerator_count is not None:
            return self.accelerator_count
        machine = gcp_catalog.MACHINE_TYPES.get(self.machine_type)
        return machine.builtin_count if machine and machine.builtin_accelerator else 1

    @property
    def clients_per_gpu(self) -> int:
        return self.sharing.clients_per_gpu if self.sharing else 1

    @property
    def gpu_capacity(self) -> int:
        """GPU slots (`nvidia.com/gpu`) the pool holds at its largest: GPUs x shared clients."""
        return self.max_nodes * self.gpus_per_node * self.clients_per_gpu

    @model_validator(mode="after")
    def _pairing(self) -> GpuNodePoolSettings:
        problems = pairing_problems(self)
        if self.min_nodes > self.max_nodes:
            problems.append(Problem("minNodes", self.min_nodes, f"must be at most maxNodes ({self.max_nodes})"))
        raise_if(problems)
        return self


def pairing_problems(pool: GpuNodePoolSettings) -> list[Problem]:
    """Whether the machine type takes the accelerator, in that count (catalog/gcp.py)."""
    accelerator = gcp_catalog.ACCELERATORS.get(pool.accelerator_type)
    if accelerator is None:
        known = ", ".join(t for t, a in gcp_catalog.ACCELERATORS.items() if not a.eol)
        return [Problem("acceleratorType", pool.accelerator_type, f"known accelerators: {known}")]
    if accelerator.eol:
        return [
            Problem(
                "acceleratorType",
                pool.accelerator_type,
                f"{accelerator.display} is end-of-life on Compute Engine; use nvidia-tesla-t4 or nvidia-l4",
            )
        ]
    machine = gcp_catalog.MACHINE_TYPES.get(pool.machine_type)
    if machine is None or machine.family not in gcp_catalog.GPU_FAMILIES:
        return [
            Problem(
                "machineType",
                pool.machine_type,
                f"{pool.accelerator_type} attaches to: {', '.join(gcp_catalog.machines_for(pool.accelerator_type))}",
            )
        ]
    counts = gcp_catalog.allowed_gpu_counts(machine, pool.accelerator_type)
    if not counts:
        builtin = (
            f"; {machine.name} comes with {machine.builtin_count} {machine.builtin_accelerator}"
            if machine.builtin_accelerator
            else ""
        )
        return [
            Problem(
                "acceleratorType",
                pool.accelerator_type,
                f"{pool.accelerator_type} cannot attach to {machine.name} ({machine.family} family); "
                f"it attaches to: {', '.join(gcp_catalog.machines_for(pool.accelerator_type))}{builtin}",
            )
        ]
    if pool.gpus_per_node not in counts:
        if machine.builtin_accelerator:
            allowed = f"{machine.name} comes with exactly {machine.builtin_count} {pool.accelerator_type}"
        else:
            allowed = f"{machine.name} takes {' or '.join(map(str, counts))} {pool.accelerator_type}"
        return [Problem("acceleratorCount", pool.gpus_per_node, allowed)]
    return []


def sharing_labels(pool: GpuNodePoolSettings) -> dict[str, str]:
    """The labels GKE puts on time-shared GPU nodes, which a replica must select (GKE docs, "About GPU sharing
    strategies": both labels, on user-created pools `time-sharing` and the client count)."""
    if pool.sharing is None:
        return {}
    return {
        gpu_placement_module.SHARING_STRATEGY_LABEL: pool.sharing.strategy.lower().replace("_", "-"),
        gpu_placement_module.SHARED_CLIENTS_LABEL: str(pool.sharing.clients_per_gpu),
    }


def gpu_placement(stack: StackSettings) -> GpuPlacement | None:
    """Where this stack's GPU replicas run (None: no GPUs, Triton on the CPU)."""
    pool, existing, autopilot = stack.gpu_node_pool, stack.cluster.existing, stack.cluster.autopilot
    if pool is not None and pool.capacity is not None and stack.manages_cluster:
        return GpuPlacement.gke_compute_class(pool.accelerator_type, COMPUTE_CLASS_NAME)
    if pool is not None:
        return GpuPlacement.gke_pool(pool.accelerator_type, sharing_labels(pool))
    if existing is not None and existing.gpu_nodes is not None:
        nodes = existing.gpu_nodes
        return GpuPlacement.existing_nodes(nodes.accelerator_label, nodes.accelerator_type, nodes.tainted)
    if stack.cluster.is_autopilot and autopilot is not None and autopilot.accelerator_type is not None:
        compute_class = COMPUTE_CLASS_NAME if autopilot.capacity is not None else None
        return GpuPlacement.autopilot(autopilot.accelerator_type, autopilot.spot, compute_class)
    return None


def gpu_capacity(stack: StackSettings) -> int:
    """GPU slots the replicas can have at most: the pool's; unbounded (0 means "unknown": no surge) elsewhere."""
    if stack.gpu_node_pool is not None:
        return stack.gpu_node_pool.gpu_capacity
    if stack.cluster.is_autopilot:
        return AUTOPILOT_CAPACITY
    return 0


GCLOUD_ZONES_HINT = "check with `gcloud compute accelerator-types list --filter=zone~^{region}`"


def offering(stack: StackSettings, pool: GpuNodePoolSettings) -> tuple[str, ...] | None:
    """The zones of the cluster's region that offer the pool's GPU (None: the catalog has no data for it)."""
    return gcp_catalog.zones_offering(pool.accelerator_type, stack.cluster.region)


def pool_zones(stack: StackSettings) -> list[str] | None:
    """Where the GPU nodes go: the configured zones; on a regional cluster, its region's zones that offer the
    GPU; on a zonal cluster, the cluster's zone (None)."""
    pool = stack.gpu_node_pool
    assert pool is not None
    if pool.zones:
        return list(pool.zones)
    if not stack.cluster.is_regional:
        return None
    zones = offering(stack, pool)
    return list(zones) if zones is not None else None


def zone_problems(stack: StackSettings, pool: GpuNodePoolSettings) -> list[Problem]:
    """Zones that exist, in the cluster's region, offering the GPU (gcp_catalog's zone data, with its source)."""
    region, problems = stack.cluster.region, []
    zones = offering(stack, pool)
    hint = GCLOUD_ZONES_HINT.format(region=region)
    has = f"the zones of {region} that offer {pool.accelerator_type} are {', '.join(zones)}" if zones else ""
    for index, zone in enumerate(pool.zones or []):
        setting = f"gpuNodePool.zones[{index}]"
        if not gcp_catalog.is_zone(zone) or gcp_catalog.region_of(zone) != region:
            problems.append(
                Problem(setting, zone, f"must be a zone of the cluster's region {region} (e.g. {region}-a)")
            )
        elif not gcp_catalog.is_known_zone(zone):
            problems.append(
                Problem(
                    setting, zone, f"is not a zone of {region}; its zones: {', '.join(gcp_catalog.zones_of(region))}"
                )
            )
        elif zones is not None and zone not in zones:
            offered = has or f"no zone of {region} offers {pool.accelerator_type}"
            problems.append(Problem(setting, zone, f"does not offer {pool.accelerator_type}: {offered} ({hint})"))
    if pool.zones or zones is None or pairing_problems(pool):
        return problems
    if not zones:
        problems.append(
            Problem(
                "gpuNodePool.acceleratorType",
                pool.accelerator_type,
                f"no zone of {region} offers it ({hint}); choose another GPU or region",
            )
        )
    elif not stack.cluster.is_regional and stack.cluster.gke_location not in zones:
        setting = "cluster.existing.location" if stack.cluster.existing else "cluster.location"
        problems.append(
            Problem(
                setting,
                stack.cluster.gke_location,
                f"this zonal cluster's GPU nodes would be in {stack.cluster.gke_location}, which does not offer "
                f"{pool.accelerator_type}: {has} (or set gpuNodePool.zones)",
            )
        )
    return problems


def stack_problems(stack: StackSettings) -> list[Problem]:
    pool = stack.gpu_node_pool
    if pool is not None and not stack.on_gke:
        return [
            Problem(
                "gpuNodePool",
                pool,
                "a cluster reached by kubeconfig context gets no GKE node pool (an existing cluster: no GKE node pool "
                "from this program); describe the GPU nodes it has in cluster.existing.gpuNodes, or give the "
                "existing GKE cluster's name and location",
            )
        ]
    if pool is not None and stack.cluster.is_autopilot:
        return [
            Problem(
                "gpuNodePool",
                pool,
                "Autopilot provisions the nodes itself: remove it, and give the GPU in "
                "cluster.autopilot.acceleratorType",
            )
        ]
    if pool is None:
        if stack.manages_cluster and not stack.cluster.is_autopilot:
            return [Problem("gpuNodePool", MISSING, "is required for a GKE Standard cluster this program creates")]
        return []
    problems = zone_problems(stack, pool)
    budget = gcp_catalog.node_budget(pool.machine_type, pool.gpus_per_node, image_streaming=stack.image_cache_on)
    if not pairing_problems(pool) and not budget.has_room:
        problems.append(
            Problem(
                "gpuNodePool.machineType",
                pool.machine_type,
                f"with {pool.gpus_per_node} GPU(s), a {pool.machine_type} node has no CPU or memory left for a "
                "Triton replica after the kernel, GKE's reservations and its DaemonSets "
                f"({budget.for_replicas_cpu_millis:.0f}m, {budget.for_replicas_memory_mib:.0f}Mi left): "
                "use a larger machine",
            )
        )
    if pool.secondary_boot_disk and not stack.image_cache_on:
        problems.append(
            Problem(
                "gpuNodePool.secondaryBootDisk",
                pool.secondary_boot_disk,
                "needs image streaming, which comes with imageCache: turn imageCache.enabled on",
            )
        )
    if pool.sharing is not None:
        # DCGM-Exporter labels a GPU's series with the pods that hold it (NVIDIA/dcgm-exporter,
        # pkg/dcgmexporter/kubernetes.go, PodMapper.Process): with --kubernetes-virtual-gpus it copies the GPU's
        # one value onto every sharing pod, so the signal's sum counts the GPU once per replica; without it, the
        # device-to-pod map keeps one of the sharing pods and the others read no GPU at all.
        for index, isvc in enumerate(stack.inference_services):
            if isvc.scaling is not None and isvc.scaling.signal == "gpuUtilization":
                problems.append(
                    Problem(
                        f"inferenceServices[{index}].autoscaling.signal",
                        "gpuUtilization",
                        "GPU metrics are per physical GPU, not per time-shared replica: scale on queueTime or "
                        "requestRate",
                    )
                )
    if stack.production and pool.spot:
        problems.append(Problem("gpuNodePool.spot", True, "production GPUs must be on-demand (spot is preempted)"))
    if pool.capacity is not None:
        problems += fallback_problems(stack, pool)
    return problems


def fallback_problems(stack: StackSettings, pool: GpuNodePoolSettings) -> list[Problem]:
    """A fallback list: only where this program creates the cluster (node pool auto-creation is a cluster setting),
    not next to spot or time-sharing (a tier says spot; GKE's auto-created pools are not time-shared), and tiers
    that can supply the GPU in the pool's zones."""
    assert pool.capacity is not None
    problems = []
    if not stack.manages_cluster:
        problems.append(
            Problem(
                "gpuNodePool.capacity",
                [t if isinstance(t, str) else t.model_dump(exclude_none=True) for t in pool.capacity],
                "needs node pool auto-creation, a setting of the cluster, which this program does not change on an "
                "existing cluster: leave capacity out (one pool), or enable auto-provisioning on the cluster and "
                "create the ComputeClass yourself",
            )
        )
    if pool.spot:
        problems.append(
            Problem("gpuNodePool.spot", True, "with capacity, spot is a tier of the list: remove spot, list spot")
        )
    if pool.sharing is not None:
        problems.append(
            Problem(
                "gpuNodePool.sharing",
                pool.sharing,
                "auto-created node pools are not time-shared: remove sharing, or capacity",
            )
        )
    if pool.min_nodes:
        problems.append(
            Problem(
                "gpuNodePool.minNodes",
                pool.min_nodes,
                "node pools GKE creates for a ComputeClass scale to zero and have no minimum: keep minReplicas "
                "replicas running instead, or remove capacity for a pool with warm nodes",
            )
        )
    if stack.manages_cluster:
        problems += capacity_problems(
            stack, pool.capacity, "gpuNodePool.capacity", pool.accelerator_type, capacity_zones(stack)
        )
    return problems
