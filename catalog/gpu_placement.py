"""Where GPU replicas run, and how a replica asks for that: the one description the runtime and the
InferenceServices are built from, whichever cluster the GPUs are in.

- A GKE Standard pool of this program: the pool's accelerator label (plus GPU-sharing labels when the pool is
  time-shared), and the `nvidia.com/gpu` taint tolerated (the pool sets it).
- GPU nodes an existing cluster already has: the label and value the user describes, the taint when they say so.
- GKE Autopilot: `cloud.google.com/gke-accelerator` and `cloud.google.com/gke-accelerator-count` on each
  replica (the count is per InferenceService, so the selectors go on the InferenceService, not the runtime);
  Autopilot adds the GPU taint's toleration itself and rejects an explicit one on Pods without GPUs; requests
  equal limits, since Autopilot chooses the node shape from them (GKE docs, "Deploy GPU workloads in Autopilot").
"""

from __future__ import annotations

from dataclasses import dataclass

ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
ACCELERATOR_COUNT_LABEL = "cloud.google.com/gke-accelerator-count"
SPOT_LABEL = "cloud.google.com/gke-spot"
SHARING_STRATEGY_LABEL = "cloud.google.com/gke-gpu-sharing-strategy"
SHARED_CLIENTS_LABEL = "cloud.google.com/gke-max-shared-clients-per-gpu"
COMPUTE_CLASS_LABEL = "cloud.google.com/compute-class"
"""A custom ComputeClass (catalog/capacity.py): GKE labels and taints (NoSchedule) the nodes it creates for it."""


@dataclass(frozen=True)
class GpuPlacement:
    node_selector: dict[str, str]
    """Selects the GPU nodes."""
    tolerate_taint: bool
    """Tolerate `nvidia.com/gpu:NoSchedule` (GKE GPU pools carry it)."""
    count_label: str | None = None
    """Autopilot: the node label a replica selects with its GPU count; the selectors then go on each
    InferenceService instead of the runtime."""
    cpu_limit: bool = False
    """Limit CPU at its request (Autopilot sizes and bills nodes by requests); elsewhere CPU is not limited."""
    compute_class: str | None = None
    """The ComputeClass whose fallback list supplies the GPU nodes: selected, and its taint tolerated."""

    @property
    def per_replica(self) -> bool:
        return self.count_label is not None

    @classmethod
    def gke_pool(cls, accelerator: str, sharing: dict[str, str] | None = None) -> GpuPlacement:
        return cls(node_selector={ACCELERATOR_LABEL: accelerator, **(sharing or {})}, tolerate_taint=True)

    @classmethod
    def gke_compute_class(cls, accelerator: str, compute_class: str) -> GpuPlacement:
        """GKE Standard with node pool auto-creation: GKE creates the pools the ComputeClass describes, labels them
        with the class and the accelerator, and taints them with the class and nvidia.com/gpu."""
        return cls(
            node_selector={ACCELERATOR_LABEL: accelerator, COMPUTE_CLASS_LABEL: compute_class},
            tolerate_taint=True,
            compute_class=compute_class,
        )

    @classmethod
    def existing_nodes(cls, label: str, value: str, tainted: bool) -> GpuPlacement:
        return cls(node_selector={label: value}, tolerate_taint=tainted)

    @classmethod
    def autopilot(cls, accelerator: str, spot: bool, compute_class: str | None = None) -> GpuPlacement:
        """With a ComputeClass the class says spot or not, and Autopilot tolerates its taint itself."""
        if compute_class is not None:
            chosen = {COMPUTE_CLASS_LABEL: compute_class}
        else:
            chosen = {SPOT_LABEL: "true"} if spot else {}
        return cls(
            node_selector={ACCELERATOR_LABEL: accelerator, **chosen},
            tolerate_taint=False,
            count_label=ACCELERATOR_COUNT_LABEL,
            cpu_limit=True,
        )

    def replica_selector(self, gpus: int) -> dict[str, str] | None:
        """The nodeSelector an InferenceService with `gpus` GPUs per replica carries itself (Autopilot)."""
        if not self.per_replica or not gpus:
            return None
        assert self.count_label is not None
        return {**self.node_selector, self.count_label: str(gpus)}
