"""Facts about Google Cloud that the stack config is checked against: regions, machine types,
and which NVIDIA accelerators attach to which machine, in what counts.

This is the one place these facts live. Sources:

- Accelerator-optimized families (G2, G4, A2, A3, A4, A4X) have their GPUs built in: the machine type
  fixes the accelerator model and count ("Each accelerator-optimized machine type has a specific model
  of NVIDIA GPUs attached", Compute Engine "GPU machine types"). GoogleCloudPlatform/cluster-toolkit
  `pkg/config/machine_mappings.json` lists the same pairs.
- N1 takes attachable T4, P4, P100 and V100 GPUs in counts of 1, 2, 4 (8 for V100), with a vCPU ceiling
  per GPU count (Compute Engine "GPU machine types", N1 general-purpose section). K80 is end-of-life.
- vCPU and memory per machine type: Compute Engine machine family pages (N1, E2, G2, A2, A3, A4, A4X, G4).
- Regions: `gcloud compute regions list` (2026-11). Add a region here when Google opens a new one.

See `../shared/notes/gke.md` §2 for the research notes behind this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REGIONS: frozenset[str] = frozenset(
    {
        "africa-south1",
        "asia-east1", "asia-east2",
        "asia-northeast1", "asia-northeast2", "asia-northeast3",
        "asia-south1", "asia-south2",
        "asia-southeast1", "asia-southeast2",
        "australia-southeast1", "australia-southeast2",
        "europe-central2",
        "europe-north1", "europe-north2",
        "europe-southwest1",
        "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
        "europe-west8", "europe-west9", "europe-west10", "europe-west12",
        "me-central1", "me-central2", "me-west1",
        "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
        "southamerica-east1", "southamerica-west1",
        "us-central1",
        "us-east1", "us-east4", "us-east5",
        "us-south1",
        "us-west1", "us-west2", "us-west3", "us-west4",
    }
)  # fmt: skip

_ZONE = re.compile(r"^(?P<region>[a-z]+-[a-z]+[0-9]+)-(?P<letter>[a-z])$")


def region_of(location: str) -> str | None:
    """The region a GCP location belongs to (itself for a region), or None if it is neither."""
    if location in REGIONS:
        return location
    match = _ZONE.match(location)
    if match and match["region"] in REGIONS:
        return match["region"]
    return None


def is_zone(location: str) -> bool:
    return location not in REGIONS and region_of(location) is not None


@dataclass(frozen=True)
class Accelerator:
    type: str
    display: str
    eol: bool = False


ACCELERATORS: dict[str, Accelerator] = {
    a.type: a
    for a in [
        Accelerator("nvidia-tesla-t4", "T4 16GB"),
        Accelerator("nvidia-tesla-p4", "P4 8GB"),
        Accelerator("nvidia-tesla-p100", "P100 16GB"),
        Accelerator("nvidia-tesla-v100", "V100 16GB"),
        Accelerator("nvidia-tesla-k80", "K80", eol=True),
        Accelerator("nvidia-l4", "L4 24GB"),
        Accelerator("nvidia-tesla-a100", "A100 40GB"),
        Accelerator("nvidia-a100-80gb", "A100 80GB"),
        Accelerator("nvidia-h100-80gb", "H100 80GB"),
        Accelerator("nvidia-h100-mega-80gb", "H100 Mega 80GB"),
        Accelerator("nvidia-h200-141gb", "H200 141GB"),
        Accelerator("nvidia-b200", "B200"),
        Accelerator("nvidia-gb200", "GB200"),
        Accelerator("nvidia-rtx-pro-6000", "RTX PRO 6000"),
    ]
}

# N1 attachable GPUs: GPU count -> the largest N1 machine (vCPUs) that takes that many.
N1_ATTACHABLE: dict[str, dict[int, int]] = {
    "nvidia-tesla-t4": {1: 48, 2: 48, 4: 96},
    "nvidia-tesla-p4": {1: 24, 2: 48, 4: 96},
    "nvidia-tesla-p100": {1: 16, 2: 32, 4: 64},
    "nvidia-tesla-v100": {1: 12, 2: 24, 4: 48, 8: 96},
}


@dataclass(frozen=True)
class MachineType:
    name: str
    vcpus: int
    memory_gib: float
    # Accelerator-optimized machines come with a fixed GPU model and count.
    builtin_accelerator: str | None = None
    builtin_count: int = 0

    @property
    def family(self) -> str:
        return self.name.split("-", 1)[0]


def _machines() -> dict[str, MachineType]:
    machines: list[MachineType] = []
    for vcpus in (1, 2, 4, 8, 16, 32, 64, 96):
        machines.append(MachineType(f"n1-standard-{vcpus}", vcpus, vcpus * 3.75))
    for vcpus in (2, 4, 8, 16, 32, 64, 96):
        machines.append(MachineType(f"n1-highmem-{vcpus}", vcpus, vcpus * 6.5))
        machines.append(MachineType(f"n1-highcpu-{vcpus}", vcpus, vcpus * 0.9))
    for vcpus in (2, 4, 8, 16, 32):
        machines.append(MachineType(f"e2-standard-{vcpus}", vcpus, vcpus * 4))
    g2 = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}
    for vcpus, gpus in g2.items():
        machines.append(MachineType(f"g2-standard-{vcpus}", vcpus, vcpus * 4, "nvidia-l4", gpus))
    for gpus, vcpus, mem in ((1, 12, 85), (2, 24, 170), (4, 48, 340), (8, 96, 680)):
        machines.append(MachineType(f"a2-highgpu-{gpus}g", vcpus, mem, "nvidia-tesla-a100", gpus))
    machines.append(MachineType("a2-megagpu-16g", 96, 1360, "nvidia-tesla-a100", 16))
    for gpus, vcpus, mem in ((1, 12, 170), (2, 24, 340), (4, 48, 680), (8, 96, 1360)):
        machines.append(MachineType(f"a2-ultragpu-{gpus}g", vcpus, mem, "nvidia-a100-80gb", gpus))
    for gpus, vcpus, mem in ((1, 26, 234), (2, 52, 468), (4, 104, 936), (8, 208, 1872)):
        machines.append(MachineType(f"a3-highgpu-{gpus}g", vcpus, mem, "nvidia-h100-80gb", gpus))
    machines += [
        MachineType("a3-megagpu-8g", 208, 1872, "nvidia-h100-mega-80gb", 8),
        MachineType("a3-ultragpu-8g", 224, 2952, "nvidia-h200-141gb", 8),
        MachineType("a4-highgpu-8g", 224, 3968, "nvidia-b200", 8),
        MachineType("a4x-highgpu-4g", 140, 884, "nvidia-gb200", 4),
    ]
    for vcpus, gpus in ((48, 1), (96, 2), (192, 4), (384, 8)):
        machines.append(MachineType(f"g4-standard-{vcpus}", vcpus, vcpus * 3.75, "nvidia-rtx-pro-6000", gpus))
    return {m.name: m for m in machines}


MACHINE_TYPES: dict[str, MachineType] = _machines()

# Families a GPU pool can use, for error messages.
GPU_FAMILIES = ("n1", "g2", "g4", "a2", "a3", "a4", "a4x")


def machines_for(accelerator: str) -> list[str]:
    """Machine types that take the given accelerator (for error messages)."""
    if accelerator in N1_ATTACHABLE:
        return ["n1-standard-*", "n1-highmem-*", "n1-highcpu-*"]
    return sorted(m.name for m in MACHINE_TYPES.values() if m.builtin_accelerator == accelerator)


def allowed_gpu_counts(machine: MachineType, accelerator: str) -> list[int]:
    """GPU counts per node that `machine` takes of `accelerator`; empty if it takes none."""
    if machine.builtin_accelerator is not None:
        return [machine.builtin_count] if machine.builtin_accelerator == accelerator else []
    if machine.family == "n1" and accelerator in N1_ATTACHABLE:
        return [n for n, max_vcpus in N1_ATTACHABLE[accelerator].items() if machine.vcpus <= max_vcpus]
    return []


# GKE reserves part of every node for the kubelet and the OS; what is left is "allocatable".
# Source: GKE docs, "Standard cluster architecture" > "Node allocatable resources".
_MEMORY_RESERVE_TIERS_GIB = ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02))
_CPU_RESERVE_TIERS = ((1, 0.06), (1, 0.01), (2, 0.005), (float("inf"), 0.0025))
_EVICTION_THRESHOLD_GIB = 100 / 1024


def _tiered(total: float, tiers: tuple[tuple[float, float], ...]) -> float:
    reserved, remaining = 0.0, total
    for size, fraction in tiers:
        portion = min(remaining, size)
        reserved += portion * fraction
        remaining -= portion
        if remaining <= 0:
            break
    return reserved


def allocatable(machine: MachineType) -> tuple[float, float]:
    """(vCPUs, GiB) that pods can request on one node of this machine type."""
    cpu = machine.vcpus - _tiered(machine.vcpus, _CPU_RESERVE_TIERS)
    memory = machine.memory_gib - _tiered(machine.memory_gib, _MEMORY_RESERVE_TIERS_GIB) - _EVICTION_THRESHOLD_GIB
    return cpu, memory


# What GKE's own DaemonSets request on every GPU node (logging, metrics, metadata server, networking,
# NVIDIA device plugin, DCGM exporter), with some headroom.
_DAEMONSET_CPU = 0.6
_DAEMONSET_MEMORY_GIB = 1.5


@dataclass(frozen=True)
class GpuShare:
    """The CPU and memory that go with one GPU of a node, once GKE and its DaemonSets have theirs."""

    cpu_millis: int
    memory_mib: int

    def times(self, gpus: int) -> GpuShare:
        return GpuShare(self.cpu_millis * gpus, self.memory_mib * gpus)


def gpu_share(machine_type: str, gpus_per_node: int) -> GpuShare:
    """Per-GPU CPU (rounded down to 100m) and memory (rounded down to 256Mi) of a GPU machine."""
    cpu, memory = allocatable(MACHINE_TYPES[machine_type])
    cpu_each = (cpu - _DAEMONSET_CPU) / gpus_per_node
    memory_each = (memory - _DAEMONSET_MEMORY_GIB) / gpus_per_node
    return GpuShare(int(cpu_each * 10) * 100, int(memory_each * 4) * 256)
