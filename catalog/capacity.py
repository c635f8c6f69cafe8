"""Ways of getting a GPU node on GKE, and how a custom ComputeClass orders them: a named reservation, on-demand,
spot and DWS flex-start.

Sources:

- GKE docs, "About accelerator consumption options for AI/ML workloads in GKE": on-demand needs quota and is not
  guaranteed; a reservation holds capacity for a set time, paid for whether used or not; flex-start provisions GPUs
  when capacity is available and runs them up to 7 days; spot VMs are discounted and preempted at any time with 30 s
  of notice. ComputeClasses orchestrate the options.
- GKE docs, "About GPU obtainability with flex-start": GPUs need GKE 1.32.2-gke.1652000 or later; flex-start VMs run
  at most seven days; billed at Dynamic Workload Scheduler prices (vCPUs and GPUs up to 53 % off); "scalable
  serving models" are named among its uses.
- The ComputeClass schema (`cloud.google.com/v1`, extracted from a live GKE cluster, as published in
  datreeio/CRDs-catalog `cloud.google.com/computeclass_v1.json`, commit 77e4983):
  `priorities[].reservations.affinity` is `Specific`, `AnyBestEffort` or `None`, `specific[]` has `name`,
  `project`, `zones`; a priority may not combine `flexStart` with `spot: true`; `whenUnsatisfiable` is
  `ScaleUpAnyway` or `DoNotScaleUp`; `gpu.driverVersion` is `default` or `latest`. Pods select a class with the node
  label `cloud.google.com/compute-class`.
- Prices: `catalog/gcp.py`'s sources (skypilot-catalog vms.csv, us-central1): L4 $0.56004/h on-demand, $0.2231/h
  spot; g2-standard-4 $0.14679/h, $0.05874/h spot (g2-standard-8 taken as twice that).
"""

from __future__ import annotations

from dataclasses import dataclass

COMPUTE_CLASS_API = "cloud.google.com/v1"
COMPUTE_CLASS_LABEL = "cloud.google.com/compute-class"
"""The node label a Pod selects a ComputeClass by; GKE puts it (and a NoSchedule taint of the same key) on the nodes
of pools it creates for the class."""
FLEX_START_GPU_SINCE = "1.32.2-gke.1652000"
FLEX_START_MAX_RUN_SECONDS = 7 * 24 * 3600
RESERVATION_AFFINITIES = ("Specific", "AnyBestEffort", "None")
DRIVER_VERSIONS = {"DEFAULT": "default", "LATEST": "latest"}
"""gpuNodePool.driverVersion as a ComputeClass writes it."""

TIERS = ("reservation", "onDemand", "spot", "flexStart")


@dataclass(frozen=True)
class Tier:
    name: str
    pays: str
    delivers: str
    replica_sees: str


TIER_FACTS = {
    "reservation": Tier(
        "reservation",
        "the reservation's price, paid whether a node uses it or not",
        "as fast as on-demand (the capacity is held); a node in 1-3 min",
        "Pending until the autoscaler's node joins; nothing if the reservation is full: the next tier is tried",
    ),
    "onDemand": Tier(
        "onDemand",
        "list price: $0.854/h for a g2-standard-8 + L4 (us-central1)",
        "1-3 min when the zone has capacity and the project quota; not guaranteed (stockouts)",
        "Pending with FailedScheduling and a TriggeredScaleUp event; on a stockout the next tier is tried",
    ),
    "spot": Tier(
        "spot",
        "spot price: $0.341/h for a g2-standard-8 + L4 (us-central1), changes up to once a day",
        "1-3 min when spare capacity exists; preempted at any time with 30 s notice",
        "Pending, then Running; after a preemption, Pending again while the node is replaced",
    ),
    "flexStart": Tier(
        "flexStart",
        "Dynamic Workload Scheduler price: vCPUs and GPUs up to 53 % below on-demand",
        "when capacity is available (minutes to hours); the node runs at most 7 days, then is replaced",
        "Pending (its pod waits without an error) until GKE obtains the node; replaced before 7 days",
    ),
}
