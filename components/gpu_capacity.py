"""GPU capacity that falls back: a ComputeClass whose priorities are the stack's fallback list (a named reservation,
on-demand, spot, DWS flex-start), tried in order by GKE's autoscaler, which creates a node pool per tier as needed;
and, for Hyperdisk ML volumes, the ComputeClass the Volume Populator's transfer Job runs on.

Facts and sources: `catalog/capacity.py`, `catalog/model_loading.py`. The schema: `components/gke_types.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from catalog import capacity as capacity_catalog
from catalog import model_loading as loading
from components.gke_types import (
    ActiveMigration,
    ComputeClass,
    ComputeClassSpec,
    Enabled,
    FlexStart,
    GpuRule,
    Location,
    NodePoolConfig,
    Priority,
    PriorityDefaults,
    Reservations,
    SpecificReservation,
)
from components.naming import NODE_ROLE_LABEL

if TYPE_CHECKING:
    from components.gpu_node_pool import GpuNodePool
    from settings import StackSettings

POPULATOR_MACHINE_FAMILIES = ("c3", "c3d")
"""The transfer Job's machines, as in GKE's Volume Populator guide (it requests 24 vCPUs by default)."""


@dataclass(frozen=True)
class GpuCapacityArgs:
    tiers: list[Any]
    """The fallback list, as settings: "onDemand", "spot", "flexStart" or {"reservation": {name, project, zone}}."""
    accelerator: str
    machine_type: str | None
    """None on Autopilot, which picks the node shape from the pod's requests."""
    gpus_per_node: int | None
    driver_version: str
    zones: list[str] | None
    service_account_email: pulumi.Input[str] | None
    """The GPU nodes' own account (Standard); Autopilot's nodes run as the cluster's default account."""
    image_streaming: bool
    populator: bool = False
    """Also declare gcs-to-hdml-compute-class for the Volume Populator (Hyperdisk ML volumes)."""

    @classmethod
    def from_settings(cls, stack: StackSettings, gpu_pool: GpuNodePool | None) -> GpuCapacityArgs:
        from settings.capacity import capacity_zones
        from settings.model_loading import uses

        pool, autopilot = stack.gpu_node_pool, stack.cluster.autopilot
        if pool is not None:
            assert pool.capacity is not None and gpu_pool is not None
            return cls(
                tiers=[t if isinstance(t, str) else t.model_dump() for t in pool.capacity],
                accelerator=pool.accelerator_type,
                machine_type=pool.machine_type,
                gpus_per_node=pool.gpus_per_node,
                driver_version=pool.driver_version,
                zones=capacity_zones(stack),
                service_account_email=gpu_pool.service_account_email,
                image_streaming=stack.image_cache_on,
                populator=uses(stack, "hyperdiskMl"),
            )
        assert autopilot is not None and autopilot.capacity is not None and autopilot.accelerator_type is not None
        return cls(
            tiers=[t if isinstance(t, str) else t.model_dump() for t in autopilot.capacity],
            accelerator=autopilot.accelerator_type,
            machine_type=None,
            gpus_per_node=None,
            driver_version="DEFAULT",
            zones=None,
            service_account_email=None,
            image_streaming=False,
            populator=uses(stack, "hyperdiskMl"),
        )


def priority(args: GpuCapacityArgs, tier: Any) -> Priority:
    """One tier as a ComputeClass priority: the same machine and GPU, obtained one way."""
    gpu = GpuRule(
        type=args.accelerator,
        count=args.gpus_per_node,
        driver_version=capacity_catalog.DRIVER_VERSIONS[args.driver_version] if args.machine_type else None,
    )
    common: dict[str, Any] = {"machine_type": args.machine_type, "gpu": gpu}
    if isinstance(tier, dict):
        reservation = tier["reservation"]
        specific = SpecificReservation(
            name=reservation["name"], project=reservation["project"], zones=[reservation["zone"]]
        )
        return Priority(**common, reservations=Reservations(affinity="Specific", specific=[specific]))
    if tier == "spot":
        return Priority(**common, spot=True)
    if tier == "flexStart":
        return Priority(**common, flex_start=FlexStart(enabled=True))
    return Priority(**common, spot=False)


def gpu_class_spec(args: GpuCapacityArgs) -> ComputeClassSpec:
    standard = args.machine_type is not None
    return ComputeClassSpec(
        description="kserve-triton GPU replicas: "
        + ", then ".join(t if isinstance(t, str) else "reservation " + t["reservation"]["name"] for t in args.tiers),
        priorities=[priority(args, tier) for tier in args.tiers],
        # Nothing else can run the replicas: past the last tier, wait rather than create a node without the GPU.
        when_unsatisfiable="DoNotScaleUp",
        node_pool_auto_creation=Enabled(enabled=True),
        node_pool_config=NodePoolConfig(
            service_account=args.service_account_email,
            image_type="cos_containerd",
            image_streaming=Enabled(enabled=True) if args.image_streaming else None,
            node_labels={NODE_ROLE_LABEL: "gpu"},
        )
        if standard
        else None,
        priority_defaults=PriorityDefaults(location=Location(zones=args.zones)) if args.zones else None,
        # Moving a serving replica to a cheaper tier later is a cold start; replicas stay where they started.
        active_migration=ActiveMigration(optimize_rule_priority=False),
    )


def populator_class_spec() -> ComputeClassSpec:
    """`gcs-to-hdml-compute-class`, as GKE's Volume Populator guide declares it with node pool auto-creation."""
    return ComputeClassSpec(
        priorities=[Priority(machine_family=family) for family in POPULATOR_MACHINE_FAMILIES],
        when_unsatisfiable="DoNotScaleUp",
        node_pool_auto_creation=Enabled(enabled=True),
    )


class GpuCapacity(pulumi.ComponentResource):
    """The ComputeClass of the GPU replicas (and the Volume Populator's). Pass the cluster provider in opts."""

    compute_class: ComputeClass
    populator_class: ComputeClass | None

    def __init__(self, name: str, args: GpuCapacityArgs, opts: pulumi.ResourceOptions | None = None):
        from settings.capacity import COMPUTE_CLASS_NAME

        super().__init__("kserve-triton:gke:GpuCapacity", name, None, opts)
        self.compute_class = ComputeClass(
            f"{name}-class",
            name=COMPUTE_CLASS_NAME,
            spec=gpu_class_spec(args),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.populator_class = (
            ComputeClass(
                f"{name}-populator-class",
                name=loading.POPULATOR_COMPUTE_CLASS,
                spec=populator_class_spec(),
                opts=pulumi.ResourceOptions(parent=self),
            )
            if args.populator
            else None
        )
        self.register_outputs({"computeClass": COMPUTE_CLASS_NAME})
