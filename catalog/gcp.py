"""Facts about Google Cloud that the stack config is checked against: regions, machine types,
and which NVIDIA accelerators attach to which machine, in what counts.

This is the one place these facts live. Sources:

- Accelerator-optimized families (G2, G4, A2, A3, A4, A4X) have their GPUs built in: the machine type
  fixes the accelerator model and count ("Each accelerator-optimized machine type has a specific model
  of NVIDIA GPUs attached", Compute Engine "GPU machine types"). GoogleCloudPlatform/cluster-toolkit
  `pkg/config/machine_mappings.json` lists the same pairs.
- N1 takes attachable T4, P4, P100 and V100 GPUs in counts of 1, 2, 4 (8 for V100), with a vCPU ceiling
  per GPU count (Compute Engine "GPU machine types", N1 general-purpose section). K80 is end-of-life.
- vCPU and memory per machine type: Compute Engine machine family pages (N1, E2, G2, A2, A3, A4, A4X, G4) and the
  "General-purpose machine family" page for the CPU machines a system pool may use: E2 (standard 2-32 vCPUs at 4 GB
  per vCPU, highmem 2-16 at 8 GB, highcpu 2-32 at 1 GB; shared-core e2-micro, e2-small, e2-medium with 2 vCPUs and 1,
  2 and 4 GB), N2 (standard and highmem 2-128 vCPUs at 4 and 8 GB, highcpu 2-96 at 1 GB), N2D (standard and highcpu
  2-224 at 4 and 1 GB, highmem 2-96 at 8 GB) and N4 (standard, highmem and highcpu 2-80 at 4, 8 and 2 GB).
- Regions and their zones, and the zones that offer each accelerator: `catalog/gcp_locations.py` (with its
  source and caveats). REGIONS is derived from it; it used to be a hand-kept set from `gcloud compute regions
  list`, and the derived set has every region that one had, plus asia-southeast3.
- Compute capability per GPU: NVIDIA "CUDA GPU Compute Capability" (developer.nvidia.com/cuda-gpus) and its
  "Legacy" page (developer.nvidia.com/cuda-legacy-gpus) for V100 (7.0), P100 (6.0), P4 (6.1).
- GPU memory: the Compute Engine "GPU machine types" tables; for A100/H100/H200/B200/GB200/RTX PRO 6000 also
  NVIDIA's MIG user guide "Supported GPUs" table (B200 180 GB, GB200 186 GB, RTX PRO 6000 Blackwell 96 GB).
- Replica sizing: see "Node capacity, allocatable, and the share of one GPU" below.

See `../shared/notes/gke.md` §2 for the research notes behind this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog.gcp_locations import ACCELERATOR_ZONES, REGION_ZONES

REGIONS: frozenset[str] = frozenset(REGION_ZONES)

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


def zones_of(region: str) -> tuple[str, ...]:
    """The zones of a region (empty for an unknown region), e.g. us-central1 -> us-central1-a, -b, -c, -f."""
    return tuple(f"{region}-{letter}" for letter in REGION_ZONES.get(region, ""))


def is_known_zone(zone: str) -> bool:
    """Whether `zone` is one of the zones in `gcp_locations.REGION_ZONES` (not just shaped like a zone)."""
    match = _ZONE.match(zone)
    return bool(match) and match["letter"] in REGION_ZONES.get(match["region"], "")


def zones_offering(accelerator: str, region: str) -> tuple[str, ...] | None:
    """The zones of `region` that offer `accelerator` (GKE name), or None when the catalog has no zone data
    for that accelerator (nvidia-rtx-pro-6000, nvidia-gb200, nvidia-tesla-k80): unknown, not "none".

    An empty tuple means the catalog knows the accelerator and lists no zone of it in this region. The data
    is a dated snapshot (see `catalog/gcp_locations.py`): a refusal built on it should say how to check
    (`gcloud compute accelerator-types list --filter="zone~^REGION"`).
    """
    regions = ACCELERATOR_ZONES.get(accelerator)
    if regions is None:
        return None
    return tuple(f"{region}-{letter}" for letter in regions.get(region, ""))


@dataclass(frozen=True)
class Accelerator:
    type: str
    display: str
    eol: bool = False
    compute_capability: tuple[int, int] | None = None
    """CUDA compute capability (major, minor): what a Triton image's minimum ("7.5 and later") is checked against."""
    memory_gb: int | None = None
    """GPU memory per GPU, GB as NVIDIA and Compute Engine publish it."""

    @property
    def compute_capability_text(self) -> str:
        return "unknown" if self.compute_capability is None else "{}.{}".format(*self.compute_capability)


ACCELERATORS: dict[str, Accelerator] = {
    a.type: a
    for a in [
        Accelerator("nvidia-tesla-t4", "T4 16GB", compute_capability=(7, 5), memory_gb=16),
        Accelerator("nvidia-tesla-p4", "P4 8GB", compute_capability=(6, 1), memory_gb=8),
        Accelerator("nvidia-tesla-p100", "P100 16GB", compute_capability=(6, 0), memory_gb=16),
        Accelerator("nvidia-tesla-v100", "V100 16GB", compute_capability=(7, 0), memory_gb=16),
        Accelerator("nvidia-tesla-k80", "K80", eol=True, compute_capability=(3, 7), memory_gb=12),
        Accelerator("nvidia-l4", "L4 24GB", compute_capability=(8, 9), memory_gb=24),
        Accelerator("nvidia-tesla-a100", "A100 40GB", compute_capability=(8, 0), memory_gb=40),
        Accelerator("nvidia-a100-80gb", "A100 80GB", compute_capability=(8, 0), memory_gb=80),
        Accelerator("nvidia-h100-80gb", "H100 80GB", compute_capability=(9, 0), memory_gb=80),
        Accelerator("nvidia-h100-mega-80gb", "H100 Mega 80GB", compute_capability=(9, 0), memory_gb=80),
        Accelerator("nvidia-h200-141gb", "H200 141GB", compute_capability=(9, 0), memory_gb=141),
        Accelerator("nvidia-b200", "B200", compute_capability=(10, 0), memory_gb=180),
        Accelerator("nvidia-gb200", "GB200", compute_capability=(10, 0), memory_gb=186),
        Accelerator("nvidia-rtx-pro-6000", "RTX PRO 6000", compute_capability=(12, 0), memory_gb=96),
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
        machines.append(MachineType(f"e2-highcpu-{vcpus}", vcpus, vcpus * 1))
    for vcpus in (2, 4, 8, 16):
        machines.append(MachineType(f"e2-highmem-{vcpus}", vcpus, vcpus * 8))
    machines += [MachineType("e2-micro", 2, 1), MachineType("e2-small", 2, 2), MachineType("e2-medium", 2, 4)]
    n2 = (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)
    for family, standard, highmem, highcpu, highcpu_gb in (
        ("n2", n2, n2, n2[:-1], 1),
        ("n2d", (*n2, 224), n2[:-1], (*n2, 224), 1),
        ("n4", n2[:8], n2[:8], n2[:8], 2),
    ):
        machines += [MachineType(f"{family}-standard-{v}", v, v * 4) for v in standard]
        machines += [MachineType(f"{family}-highmem-{v}", v, v * 8) for v in highmem]
        machines += [MachineType(f"{family}-highcpu-{v}", v, v * highcpu_gb) for v in highcpu]
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


def cpu_machine_types() -> list[str]:
    """Machine types without built-in GPUs (what a system pool may use), sorted."""
    return sorted(name for name, machine in MACHINE_TYPES.items() if machine.builtin_accelerator is None)


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


# --- Node capacity, allocatable, and the share of one GPU ------------------------------------------------------
#
# What a Triton replica may request on a GPU node, estimated per machine type (every step is in `NodeBudget`):
#
# 1. Capacity (what the kubelet reports) is below the nominal memory: the kernel keeps some. Estimate it with
#    cluster-autoscaler's model for GCE nodes, `CalculateKernelReserved` in kubernetes/autoscaler
#    `cluster-autoscaler/cloudprovider/gce/gce_reserved.go` (@55c37cd): memory/64 + 16 MiB, + 64 MiB (swiotlb)
#    above 3 GiB, + 8 MiB at 8 GiB or less, + min(0.175% of memory, 248 MiB) on COS; x0.9971 on Arm.
#    Checked against real GKE nodes (2i2c-org/infrastructure#2121 and its `node-capacity-info.json`; a GKE
#    Autopilot node manifest): the estimate is within 20 MiB of n1-highmem-4 (26 GiB), n2-highmem-4 (32 GiB) and
#    a 16 GiB node, and 115-235 MiB *below* the real capacity of 128-512 GiB nodes.
# 2. Allocatable = capacity - GKE's reservation - the 100 MiB hard-eviction threshold (GKE "Plan node sizes":
#    25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above 128 GiB; CPU 6% of
#    the first core, 1% of the next, 0.5% of the next 2, 0.25% above 4). The reservation is computed here on the
#    nominal memory, which reserves a little more than GKE does (it matches the measured n2-highmem-4 exactly when
#    computed on capacity): over the four measured nodes the estimated allocatable is 20-390 MiB *below* the real
#    one, never above.
# 3. Image streaming (gcfs, on whenever the image cache is) reserves more memory: 10% of the first 4 GiB, 8% of the
#    next 4, 4% of the next 8, 2.4% of the next 112, 0.8% above 128 GiB (GKE "Use Image streaming", memory
#    reservation section, as implemented by hatemosphere/gke-node-allocatable-memory-calculator; the GKE page
#    itself was not reachable here).
# 4. Minus what GKE's DaemonSets request on a GPU node of this project's clusters (Dataplane V2, system and
#    workload logging, managed Prometheus with DCGM, Workload Identity, GKE-installed driver): SYSTEM_PODS below,
#    each with its source; where no source gave a memory request the value is an explicit assumption, chosen so
#    that the non-GPU part (761 MiB, 487m) exceeds 2i2c's measured DaemonSet overhead on GKE nodes (566-596 MiB,
#    426-443m).
# 5. Minus explicit headroom per node (HEADROOM_*): for DaemonSets GKE adds or grows in later versions, and for
#    the estimate's error.
# 6. Divided by the GPUs per node, rounded down to 100m and 256Mi.

_MEMORY_RESERVE_TIERS_GIB = ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02))
_IMAGE_STREAMING_TIERS_GIB = ((4, 0.10), (4, 0.08), (8, 0.04), (112, 0.024), (float("inf"), 0.008))
_CPU_RESERVE_TIERS = ((1, 0.06), (1, 0.01), (2, 0.005), (float("inf"), 0.0025))
EVICTION_THRESHOLD_MIB = 100

# Kernel reservation constants, cluster-autoscaler gce_reserved.go.
_KERNEL_RESERVED_RATIO = 64
_KERNEL_RESERVED_MIB = 16
_SWIOTLB_MIB, _SWIOTLB_THRESHOLD_GIB = 64, 3
_LOW_MEMORY_OFFSET_MIB, _LOW_MEMORY_THRESHOLD_GIB = 8, 8
_CORRECTION_RATIO, _MAX_CORRECTION_MIB = 0.00175, 248
_ARM64_RATIO = 0.9971
_ARM64_FAMILIES = ("a4x",)  # Grace CPUs

HEADROOM_CPU_MILLIS = 100
HEADROOM_MEMORY_MIB = 512


def _tiered(total: float, tiers: tuple[tuple[float, float], ...]) -> float:
    reserved, remaining = 0.0, total
    for size, fraction in tiers:
        portion = min(remaining, size)
        reserved += portion * fraction
        remaining -= portion
        if remaining <= 0:
            break
    return reserved


def kernel_reserved_mib(memory_gib: float, *, arm64: bool = False) -> float:
    """Memory the kernel keeps out of a COS node's capacity (cluster-autoscaler's GCE estimate), MiB."""
    memory_mib = memory_gib * 1024
    reserved = memory_mib / _KERNEL_RESERVED_RATIO + _KERNEL_RESERVED_MIB
    if memory_gib > _SWIOTLB_THRESHOLD_GIB:
        reserved += _SWIOTLB_MIB
    if memory_gib <= _LOW_MEMORY_THRESHOLD_GIB:
        reserved += _LOW_MEMORY_OFFSET_MIB
    reserved += min(_CORRECTION_RATIO * memory_mib, _MAX_CORRECTION_MIB)
    return reserved * _ARM64_RATIO if arm64 else reserved


def gke_reserved_memory_mib(memory_gib: float) -> float:
    """GKE's kube-reserved memory for a node of `memory_gib` (without the eviction threshold), MiB."""
    return _tiered(memory_gib, _MEMORY_RESERVE_TIERS_GIB) * 1024


def image_streaming_reserved_mib(memory_gib: float) -> float:
    """The extra memory GKE reserves on nodes with image streaming, MiB."""
    return _tiered(memory_gib, _IMAGE_STREAMING_TIERS_GIB) * 1024


def gke_reserved_cpu_millis(vcpus: int) -> float:
    return _tiered(vcpus, _CPU_RESERVE_TIERS) * 1000


@dataclass(frozen=True)
class SystemPod:
    """A DaemonSet pod GKE runs on every GPU node of this project's clusters, and what it requests."""

    name: str
    cpu_millis: int
    memory_mib: int
    source: str
    memory_verified: bool = True
    """False: no source gave its memory request; the value is an assumption (see `source`)."""


# Per GPU node. Sources: cryptnono/cryptnono#34 = `kubectl describe node` of a GKE 1.29 node (2024);
# notes-audit = ../shared/notes/gpu-capacity-models.md §5 (CPU requests from one GKE cluster with Dataplane V2,
# GMP and DCGM, version unknown: indicative).
SYSTEM_PODS: tuple[SystemPod, ...] = (
    SystemPod("kube-system/fluentbit-gke", 105, 230, "cryptnono/cryptnono#34 (limit 530Mi)"),
    SystemPod("kube-system/gke-metadata-server", 100, 100, "cryptnono/cryptnono#34 (Workload Identity)"),
    SystemPod("kube-system/ip-masq-agent", 10, 16, "cryptnono/cryptnono#34 (may be absent with Dataplane V2)"),
    SystemPod("kube-system/anetd", 205, 200, "CPU: notes-audit (Dataplane V2); memory assumed", False),
    SystemPod("kube-system/netd", 8, 50, "CPU: notes-audit; memory assumed", False),
    SystemPod("kube-system/gke-metrics-agent", 19, 60, "CPU: notes-audit; memory assumed", False),
    SystemPod("kube-system/pdcsi-node", 10, 20, "CPU: notes-audit; memory assumed", False),
    SystemPod("kube-system/container-watcher", 25, 50, "CPU: notes-audit; memory assumed", False),
    SystemPod(
        "gmp-system/collector",
        5,
        35,
        "GoogleCloudPlatform/prometheus-engine manifests/operator.yaml: prometheus 4m/32M + config-reloader 1m/4M",
    ),
    SystemPod(
        "kube-system/nvidia-gpu-device-plugin",
        150,
        80,
        "largest seen: 150m/80Mi (notes: a GKE `-small-cos` variant); container-engine-accelerators"
        " cmd/nvidia_gpu/device-plugin.yaml has 50m/20Mi but says it is not GKE's source of truth",
    ),
    SystemPod(
        "gke-managed-system/dcgm-exporter",
        100,
        200,
        "CPU: notes-audit; memory assumed (zalando-incubator/kubernetes-on-aws#7562 observed ~200Mi in use)",
        False,
    ),
    SystemPod(
        "kube-system/nvidia-driver-installer",
        150,
        0,
        "init containers request cpu 0.15 (container-engine-accelerators nvidia-driver-installer/cos/"
        "daemonset-preloaded.yaml); a pod's init requests count for its whole life in scheduling",
    ),
)


@dataclass(frozen=True)
class GpuShare:
    """The CPU and memory that go with one GPU of a node, once GKE and its DaemonSets have theirs."""

    cpu_millis: int
    memory_mib: int

    def times(self, gpus: int) -> GpuShare:
        return GpuShare(self.cpu_millis * gpus, self.memory_mib * gpus)


@dataclass(frozen=True)
class NodeBudget:
    """The arithmetic from a machine type's nominal size to what one GPU's replica may request."""

    machine_type: str
    gpus: int
    image_streaming: bool
    vcpus: int
    nominal_memory_mib: float
    kernel_reserved_mib: float
    gke_reserved_memory_mib: float
    eviction_mib: float
    image_streaming_mib: float
    gke_reserved_cpu_millis: float
    system_pods: tuple[SystemPod, ...] = field(default=SYSTEM_PODS, repr=False)
    headroom_cpu_millis: int = HEADROOM_CPU_MILLIS
    headroom_memory_mib: int = HEADROOM_MEMORY_MIB

    @property
    def capacity_memory_mib(self) -> float:
        return self.nominal_memory_mib - self.kernel_reserved_mib

    @property
    def allocatable_memory_mib(self) -> float:
        return self.capacity_memory_mib - self.gke_reserved_memory_mib - self.eviction_mib - self.image_streaming_mib

    @property
    def allocatable_cpu_millis(self) -> float:
        return self.vcpus * 1000 - self.gke_reserved_cpu_millis

    @property
    def system_pods_cpu_millis(self) -> int:
        return sum(pod.cpu_millis for pod in self.system_pods)

    @property
    def system_pods_memory_mib(self) -> int:
        return sum(pod.memory_mib for pod in self.system_pods)

    @property
    def for_replicas_cpu_millis(self) -> float:
        return self.allocatable_cpu_millis - self.system_pods_cpu_millis - self.headroom_cpu_millis

    @property
    def for_replicas_memory_mib(self) -> float:
        return self.allocatable_memory_mib - self.system_pods_memory_mib - self.headroom_memory_mib

    @property
    def per_gpu(self) -> GpuShare:
        """Rounded down to 100m and 256Mi, so `gpus` replicas always fit in `for_replicas_*`."""
        cpu = int(self.for_replicas_cpu_millis / self.gpus // 100) * 100
        memory = int(self.for_replicas_memory_mib / self.gpus // 256) * 256
        return GpuShare(max(cpu, 0), max(memory, 0))

    @property
    def has_room(self) -> bool:
        """False when the node leaves no CPU or no memory for a replica once GKE has its share (n1-standard-1,
        n1-highcpu-2, n1-highcpu-4 with 4 GPUs): a pool of these can never run Triton."""
        share = self.per_gpu
        return share.cpu_millis > 0 and share.memory_mib > 0

    def arithmetic(self) -> list[tuple[str, str, str]]:
        """(step, CPU, memory) rows, nominal size down to one GPU's share: for the README and error messages."""

        def mib(value: float) -> str:
            return f"{value:,.0f}Mi"

        def millis(value: float) -> str:
            return f"{value:,.0f}m"

        share = self.per_gpu
        rows = [
            ("nominal size", millis(self.vcpus * 1000), mib(self.nominal_memory_mib)),
            ("- kernel (capacity estimate)", "", mib(self.kernel_reserved_mib)),
            ("= capacity", millis(self.vcpus * 1000), mib(self.capacity_memory_mib)),
            ("- GKE reservation", millis(self.gke_reserved_cpu_millis), mib(self.gke_reserved_memory_mib)),
            ("- eviction threshold", "", mib(self.eviction_mib)),
        ]
        if self.image_streaming:
            rows.append(("- image streaming", "", mib(self.image_streaming_mib)))
        rows += [
            ("= allocatable", millis(self.allocatable_cpu_millis), mib(self.allocatable_memory_mib)),
            ("- GKE DaemonSets", millis(self.system_pods_cpu_millis), mib(self.system_pods_memory_mib)),
            ("- headroom", millis(self.headroom_cpu_millis), mib(self.headroom_memory_mib)),
            ("= for replicas", millis(self.for_replicas_cpu_millis), mib(self.for_replicas_memory_mib)),
            (f"per GPU (/{self.gpus}, rounded down)", f"{share.cpu_millis}m", f"{share.memory_mib}Mi"),
        ]
        return rows


def node_budget(machine_type: str, gpus_per_node: int, *, image_streaming: bool = True) -> NodeBudget:
    """The sizing arithmetic of one GPU node of `machine_type` carrying `gpus_per_node` GPUs."""
    machine = MACHINE_TYPES[machine_type]
    if gpus_per_node < 1:
        raise ValueError(f"gpus_per_node must be at least 1, not {gpus_per_node}")
    return NodeBudget(
        machine_type=machine_type,
        gpus=gpus_per_node,
        image_streaming=image_streaming,
        vcpus=machine.vcpus,
        nominal_memory_mib=machine.memory_gib * 1024,
        kernel_reserved_mib=kernel_reserved_mib(machine.memory_gib, arm64=machine.family in _ARM64_FAMILIES),
        gke_reserved_memory_mib=gke_reserved_memory_mib(machine.memory_gib),
        eviction_mib=EVICTION_THRESHOLD_MIB,
        image_streaming_mib=image_streaming_reserved_mib(machine.memory_gib) if image_streaming else 0.0,
        gke_reserved_cpu_millis=gke_reserved_cpu_millis(machine.vcpus),
    )


def allocatable(machine: MachineType, *, image_streaming: bool = False) -> tuple[float, float]:
    """(vCPUs, GiB) that pods can request on one node of this machine type (estimate: see `NodeBudget`)."""
    budget = node_budget(machine.name, max(machine.builtin_count, 1), image_streaming=image_streaming)
    return budget.allocatable_cpu_millis / 1000, budget.allocatable_memory_mib / 1024


def gpu_share(machine_type: str, gpus_per_node: int, *, image_streaming: bool = True) -> GpuShare:
    """Per-GPU CPU (rounded down to 100m) and memory (rounded down to 256Mi) a replica may request on a GPU
    machine, after the kernel, GKE's reservations, its DaemonSets and explicit headroom (see `NodeBudget`).

    `image_streaming` should be whether the GPU pool streams images (on with the image cache); True is the
    smaller, safe answer when unknown.
    """
    return node_budget(machine_type, gpus_per_node, image_streaming=image_streaming).per_gpu


def gpu_machine_shapes() -> list[tuple[str, str, int]]:
    """(machine type, accelerator, GPUs per node) for every GPU pool shape the catalog allows; N1 with T4 only
    (P4, P100 and V100 take the same N1 machines)."""
    shapes = [(m.name, m.builtin_accelerator, m.builtin_count) for m in MACHINE_TYPES.values() if m.builtin_accelerator]
    for machine in MACHINE_TYPES.values():
        if machine.family == "n1":
            shapes += [(machine.name, "nvidia-tesla-t4", n) for n in allowed_gpu_counts(machine, "nvidia-tesla-t4")]
    return shapes


def sizing_table(shapes: list[tuple[str, int]] | None = None, *, image_streaming: bool = True) -> list[tuple[str, ...]]:
    """README rows: machine, GPUs, allocatable (CPU / memory), DaemonSets + headroom, and the per-GPU share."""
    header = ("machine", "GPUs", "capacity (est.)", "allocatable (est.)", "DaemonSets + headroom", "per GPU")
    rows: list[tuple[str, ...]] = [header]
    for machine_type, gpus in shapes or [(name, count) for name, _, count in gpu_machine_shapes()]:
        b = node_budget(machine_type, gpus, image_streaming=image_streaming)
        rows.append(
            (
                machine_type,
                str(gpus),
                f"{b.vcpus * 1000}m / {b.capacity_memory_mib:,.0f}Mi",
                f"{b.allocatable_cpu_millis:,.0f}m / {b.allocatable_memory_mib:,.0f}Mi",
                f"{b.system_pods_cpu_millis + b.headroom_cpu_millis}m / "
                f"{b.system_pods_memory_mib + b.headroom_memory_mib}Mi",
                f"{b.per_gpu.cpu_millis}m / {b.per_gpu.memory_mib}Mi",
            )
        )
    return rows


# GKE Autopilot runs each GPU Pod on a node it provisions from these GCE shapes (GKE docs, "Deploy GPU workloads in
# Autopilot"; the per-GPU CPU and memory table of "Autopilot resource requests" could not be read here, so the
# bounds are derived from the shapes, as estimates): the default size of a one-GPU replica is what the smallest
# usual shape leaves for it (as on a Standard pool), the most is what the largest one-GPU shape leaves. One real
# Autopilot refusal seen for A100 40GB x1 (11 CPU, 74Gi, argoproj/argo-workflows#13073) fits a2-highgpu-1g.
AUTOPILOT_NODE_SHAPES: dict[str, tuple[str, int, str]] = {
    # accelerator: (default shape, its GPUs, largest shape with as many GPUs)
    "nvidia-tesla-t4": ("n1-standard-8", 1, "n1-standard-32"),
    "nvidia-l4": ("g2-standard-8", 1, "g2-standard-32"),
    "nvidia-rtx-pro-6000": ("g4-standard-48", 1, "g4-standard-48"),
    "nvidia-tesla-a100": ("a2-highgpu-1g", 1, "a2-highgpu-1g"),
    "nvidia-a100-80gb": ("a2-ultragpu-1g", 1, "a2-ultragpu-1g"),
    "nvidia-h100-80gb": ("a3-highgpu-1g", 1, "a3-highgpu-1g"),
    "nvidia-h100-mega-80gb": ("a3-megagpu-8g", 8, "a3-megagpu-8g"),
    "nvidia-h200-141gb": ("a3-ultragpu-8g", 8, "a3-ultragpu-8g"),
    "nvidia-b200": ("a4-highgpu-8g", 8, "a4-highgpu-8g"),
}


def autopilot_share(accelerator: str) -> tuple[GpuShare, GpuShare]:
    """(default, most) CPU and memory per GPU of an Autopilot GPU replica (estimates: see AUTOPILOT_NODE_SHAPES)."""
    default_shape, gpus, largest = AUTOPILOT_NODE_SHAPES[accelerator]
    return gpu_share(default_shape, gpus), gpu_share(largest, gpus)
