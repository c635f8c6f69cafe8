"""Facts about Google Cloud (catalog/gcp.py): zones, GPUs, and what a replica may request on a GPU node."""

from __future__ import annotations

import csv

import pytest

from catalog import gcp as catalog
from catalog.gcp_locations import ACCELERATOR_ZONES, REGION_ZONES
from tests.support.stacks import shared_dir

SHARED = shared_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared (or $KSERVE_TRITON_SHARED) is not present")


def _rows(name: str) -> list[dict[str, str]]:
    assert SHARED is not None
    with open(SHARED / "gcp" / name, newline="") as file:
        return list(csv.DictReader(file))


# --- zones ----------------------------------------------------------------------------------------------------


@needs_shared
def test_every_accelerator_zone_of_the_shared_csv_is_in_the_catalog_and_nothing_else():
    rows = _rows("accelerator-zones.csv")
    assert len(rows) == 230
    expected = {(row["accelerator"], row["zone"]) for row in rows}
    ours = {
        (a, zone) for a, regions in ACCELERATOR_ZONES.items() for r in regions for zone in catalog.zones_offering(a, r)
    }
    assert ours == expected
    for row in rows:
        assert row["zone"] in catalog.zones_offering(row["accelerator"], row["region"])


@needs_shared
def test_every_zone_of_the_shared_csv_is_known_and_regions_are_derived_from_it():
    rows = _rows("regions-zones.csv")
    assert {(row["region"], row["zone"]) for row in rows} == {
        (region, zone) for region in REGION_ZONES for zone in catalog.zones_of(region)
    }
    assert all(catalog.is_known_zone(row["zone"]) for row in rows)
    assert {row["region"] for row in rows} == catalog.REGIONS


def test_regions_keep_every_region_of_the_former_hand_kept_list():
    former = {
        "africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
        "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "australia-southeast1",
        "australia-southeast2", "europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
        "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8",
        "europe-west9", "europe-west10", "europe-west12", "me-central1", "me-central2", "me-west1",
        "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1", "southamerica-east1",
        "southamerica-west1", "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1",
        "us-west2", "us-west3", "us-west4",
    }  # fmt: skip
    assert former <= catalog.REGIONS
    assert catalog.REGIONS - former == {"asia-southeast3"}


def test_zones_offering_a_gpu_in_a_region():
    assert catalog.zones_offering("nvidia-l4", "us-central1") == ("us-central1-a", "us-central1-b", "us-central1-c")
    assert "us-central1-f" in catalog.zones_offering("nvidia-tesla-t4", "us-central1")
    assert catalog.zones_offering("nvidia-h200-141gb", "us-central1") == ("us-central1-b",)
    # Known GPU, no zone in that region: empty. GPU without zone data: None (unknown, not "nowhere").
    assert catalog.zones_offering("nvidia-b200", "africa-south1") == ()
    assert catalog.zones_offering("nvidia-rtx-pro-6000", "us-central1") is None
    assert catalog.zones_offering("nvidia-gb200", "us-central1") is None


def test_known_zones():
    assert catalog.is_known_zone("us-central1-f")
    assert not catalog.is_known_zone("us-central1-d")  # shaped like a zone, but not one
    assert not catalog.is_known_zone("us-central1")
    assert not catalog.is_known_zone("mars-north1-a")
    assert catalog.zones_of("asia-southeast3") == ("asia-southeast3-a", "asia-southeast3-b", "asia-southeast3-c")
    assert catalog.zones_of("nowhere1") == ()


def test_every_accelerator_with_zone_data_is_in_the_catalog():
    assert set(ACCELERATOR_ZONES) <= set(catalog.ACCELERATORS)
    assert set(catalog.ACCELERATORS) - set(ACCELERATOR_ZONES) == {
        "nvidia-rtx-pro-6000",
        "nvidia-gb200",
        "nvidia-tesla-k80",
    }


# --- GPUs -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accelerator", "capability", "memory_gb"),
    [
        ("nvidia-tesla-t4", (7, 5), 16),
        ("nvidia-l4", (8, 9), 24),
        ("nvidia-tesla-p4", (6, 1), 8),
        ("nvidia-tesla-p100", (6, 0), 16),
        ("nvidia-tesla-v100", (7, 0), 16),
        ("nvidia-tesla-a100", (8, 0), 40),
        ("nvidia-a100-80gb", (8, 0), 80),
        ("nvidia-h100-80gb", (9, 0), 80),
        ("nvidia-h100-mega-80gb", (9, 0), 80),
        ("nvidia-h200-141gb", (9, 0), 141),
        ("nvidia-b200", (10, 0), 180),
        ("nvidia-gb200", (10, 0), 186),
        ("nvidia-rtx-pro-6000", (12, 0), 96),
    ],
)
def test_compute_capability_and_memory_per_gpu(accelerator, capability, memory_gb):
    gpu = catalog.ACCELERATORS[accelerator]
    assert (gpu.compute_capability, gpu.memory_gb) == (capability, memory_gb)


def test_compute_capability_text():
    assert catalog.ACCELERATORS["nvidia-l4"].compute_capability_text == "8.9"
    assert catalog.Accelerator("x", "X").compute_capability_text == "unknown"


# --- sizing: the model ------------------------------------------------------------------------------------------


def test_kernel_reservation_is_cluster_autoscalers_model():
    # gce_reserved_test.go: 4 GiB COS -> 64 MiB + 16 + 64 (swiotlb) + 8 (low memory) + 0.175% correction
    assert catalog.kernel_reserved_mib(4) == pytest.approx(64 + 16 + 64 + 8 + 0.00175 * 4096)
    # above 8 GiB no low-memory offset; the correction is capped at 248 MiB
    assert catalog.kernel_reserved_mib(512) == pytest.approx(512 * 1024 / 64 + 16 + 64 + 248)
    assert catalog.kernel_reserved_mib(4, arm64=True) == pytest.approx(catalog.kernel_reserved_mib(4) * 0.9971)


def test_gke_reservation_tiers():
    assert catalog.gke_reserved_memory_mib(32) == pytest.approx((1 + 0.8 + 0.8 + 0.96) * 1024)
    assert catalog.gke_reserved_memory_mib(256) == pytest.approx((1 + 0.8 + 0.8 + 6.72 + 2.56) * 1024)
    assert catalog.image_streaming_reserved_mib(32) == pytest.approx((0.4 + 0.32 + 0.32 + 0.384) * 1024)
    assert catalog.gke_reserved_cpu_millis(8) == pytest.approx(90)
    assert catalog.gke_reserved_cpu_millis(4) == pytest.approx(80)


# Real GKE nodes: (nominal GiB, kubelet capacity bytes, allocatable bytes). 2i2c-org/infrastructure
# deployer/commands/generate/resource_allocation/node-capacity-info.json and issue #2121 (GKE 1.25, COS).
MEASURED = {
    "n1-highmem-4": (26, 27328200704, 23829102592),
    "n2-highmem-4": (32, 33669926912, 29783904256),
    "n2-highmem-16": (128, 131919220 * 1024, 122210676 * 1024),
    "n2-highmem-32": (256, 270473359360, 257783492608),
}


@pytest.mark.parametrize("machine", sorted(MEASURED))
def test_the_estimate_never_exceeds_what_real_gke_nodes_offer(machine):
    nominal_gib, capacity, allocatable = MEASURED[machine]
    capacity_mib, allocatable_mib = capacity / 2**20, allocatable / 2**20
    estimated_capacity = nominal_gib * 1024 - catalog.kernel_reserved_mib(nominal_gib)
    estimated_allocatable = (
        estimated_capacity - catalog.gke_reserved_memory_mib(nominal_gib) - catalog.EVICTION_THRESHOLD_MIB
    )
    # The capacity estimate is within 25 MiB when it is above the real one (small nodes), and may be lower.
    assert estimated_capacity - capacity_mib < 25
    # Allocatable: always at or below the real node, by at most 400 MiB.
    assert 0 <= allocatable_mib - estimated_allocatable < 400


def test_system_pods_cover_2i2cs_measured_overhead_of_non_gpu_daemonsets():
    gpu_only = {"kube-system/nvidia-gpu-device-plugin", "gke-managed-system/dcgm-exporter"}
    gpu_only |= {"kube-system/nvidia-driver-installer"}
    rest = [pod for pod in catalog.SYSTEM_PODS if pod.name not in gpu_only]
    # 2i2c measured 426-443m and 566-596 MiB of DaemonSet requests on GKE n1/n2 nodes.
    assert sum(pod.cpu_millis for pod in rest) >= 443
    assert sum(pod.memory_mib for pod in rest) >= 596
    assert all(pod.source for pod in catalog.SYSTEM_PODS)


# --- sizing: per supported GPU machine type ---------------------------------------------------------------------


# Shapes with no room at all are refused by the config (tests/settings/test_config.py) and listed in
# test_shapes_without_room.
SHAPES_WITH_ROOM = [
    (machine, accelerator, gpus, streaming)
    for machine, accelerator, gpus in catalog.gpu_machine_shapes()
    for streaming in (True, False)
    if catalog.node_budget(machine, gpus, image_streaming=streaming).has_room
]


@pytest.mark.parametrize(("machine", "accelerator", "gpus", "image_streaming"), SHAPES_WITH_ROOM)
def test_replicas_daemonsets_and_headroom_fit_in_the_estimated_capacity(machine, accelerator, gpus, image_streaming):
    budget = catalog.node_budget(machine, gpus, image_streaming=image_streaming)
    share = budget.per_gpu
    cpu = share.cpu_millis * gpus + budget.system_pods_cpu_millis + budget.headroom_cpu_millis
    memory = share.memory_mib * gpus + budget.system_pods_memory_mib + budget.headroom_memory_mib
    assert cpu <= budget.allocatable_cpu_millis <= budget.vcpus * 1000
    assert memory <= budget.allocatable_memory_mib < budget.capacity_memory_mib < budget.nominal_memory_mib


@pytest.mark.parametrize(
    ("machine", "gpus", "streaming", "no_streaming"),
    [
        ("g2-standard-8", 1, (6900, 25344), (6900, 26624)),
        ("g2-standard-4", 1, (2900, 10496), (2900, 11520)),
        ("n1-standard-8", 1, (6900, 23296), (6900, 24832)),
        ("n1-standard-4", 1, (2900, 9728), (2900, 10752)),
        ("a2-highgpu-1g", 1, (10900, 73984), (10900, 76800)),
        ("g2-standard-24", 2, (11400, 41984), (11400, 43520)),
        ("a3-highgpu-8g", 8, (25800, 227584), (25800, 229888)),
    ],
)
def test_per_gpu_share(machine, gpus, streaming, no_streaming):
    assert catalog.gpu_share(machine, gpus) == catalog.GpuShare(*streaming)
    assert catalog.gpu_share(machine, gpus, image_streaming=False) == catalog.GpuShare(*no_streaming)


def test_shapes_without_room():
    """The catalog lets these N1 shapes take a T4, but GKE's share leaves a replica no CPU or no memory."""
    no_room = {
        (machine, gpus)
        for machine, _, gpus in catalog.gpu_machine_shapes()
        for streaming in (True, False)
        if not catalog.node_budget(machine, gpus, image_streaming=streaming).has_room
    }
    assert no_room == {
        ("n1-standard-1", 1),
        ("n1-standard-1", 2),
        ("n1-standard-1", 4),
        ("n1-highcpu-2", 1),
        ("n1-highcpu-2", 2),
        ("n1-highcpu-2", 4),
        ("n1-highcpu-4", 4),
    }


def test_g2_standard_8_arithmetic():
    """The issue's node: 7300m / 27392Mi left nothing for DaemonSets on a real g2-standard-8."""
    rows = {step: (cpu, memory) for step, cpu, memory in catalog.node_budget("g2-standard-8", 1).arithmetic()}
    assert rows["nominal size"] == ("8,000m", "32,768Mi")
    assert rows["- kernel (capacity estimate)"] == ("", "649Mi")
    assert rows["= capacity"] == ("8,000m", "32,119Mi")
    assert rows["- GKE reservation"] == ("90m", "3,645Mi")
    assert rows["- eviction threshold"] == ("", "100Mi")
    assert rows["- image streaming"] == ("", "1,458Mi")
    assert rows["= allocatable"] == ("7,910m", "26,915Mi")
    assert rows["- GKE DaemonSets"] == ("887m", "1,041Mi")
    assert rows["- headroom"] == ("100m", "512Mi")
    assert rows["= for replicas"] == ("6,923m", "25,362Mi")
    assert rows["per GPU (/1, rounded down)"] == ("6900m", "25344Mi")
    assert "- image streaming" not in dict(
        (r[0], r) for r in catalog.node_budget("g2-standard-8", 1, image_streaming=False).arithmetic()
    )


def test_the_former_g2_standard_8_share_does_not_fit():
    budget = catalog.node_budget("g2-standard-8", 1)
    assert 27392 + budget.system_pods_memory_mib > budget.allocatable_memory_mib


def test_allocatable_keeps_its_signature():
    cpu, memory_gib = catalog.allocatable(catalog.MACHINE_TYPES["g2-standard-8"])
    assert cpu == pytest.approx(7.91)
    assert memory_gib == pytest.approx(28373.2 / 1024, abs=0.01)


def test_sizing_table_has_a_row_per_shape():
    rows = catalog.sizing_table([("g2-standard-8", 1), ("a3-highgpu-8g", 8)])
    assert rows[0][0] == "machine"
    assert rows[1] == (
        "g2-standard-8",
        "1",
        "8000m / 32,119Mi",
        "7,910m / 26,915Mi",
        "987m / 1553Mi",
        "6900m / 25344Mi",
    )
    assert len(catalog.sizing_table()) == len(catalog.gpu_machine_shapes()) + 1


def test_a_node_needs_a_gpu():
    with pytest.raises(ValueError, match="at least 1"):
        catalog.node_budget("g2-standard-8", 0)
