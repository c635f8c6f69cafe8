"""GPU capacity that falls back: an ordered list of ways to get a GPU node (a named reservation, on-demand, spot,
DWS flex-start), which GKE tries in order through a custom ComputeClass, creating node pools as needed (node pool
auto-creation). Facts and sources: `catalog/capacity.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Discriminator, Tag, field_validator

from catalog import gcp as gcp_catalog
from settings.base import Problem, Settings, Text
from settings.gcp import ProjectId

if TYPE_CHECKING:
    from settings.stack import StackSettings

COMPUTE_CLASS_NAME = "kserve-triton-gpu"
"""The ComputeClass this program declares for its GPU replicas (names starting with gke or autopilot are GKE's)."""


class ReservationSettings(Settings):
    """A Compute Engine reservation of GPU VMs: specific, so only this program's replicas consume it."""

    name: Text | None = None
    """The reservation's name."""
    project: ProjectId | None = None
    """The project that owns the reservation (a shared reservation may be in another project)."""
    zone: Text | None = None
    """The zone of the reservation (a reservation is zonal); one of the GPU zones."""

    @field_validator("zone")
    @classmethod
    def _zone(cls, zone: str | None) -> str | None:
        if zone is not None and not gcp_catalog.is_zone(zone):
            raise ValueError("must be a zone, e.g. us-central1-a (a reservation is zonal)")
        return zone


class ReservationTier(Settings):
    """The first tier of a fallback list, usually: capacity held for you."""

    reservation: ReservationSettings
    """The reservation: name, project and zone, all three required."""


TIER_TAGS = ("word", "object")
"""The union's two members, by what a tier is written as; they are not settings, so refusals leave them out of the
setting's name (settings/stack.py)."""
Tier = Annotated[
    Annotated[Literal["onDemand", "spot", "flexStart"], Tag("word")] | Annotated[ReservationTier, Tag("object")],
    Discriminator(lambda value: "object" if isinstance(value, dict | ReservationTier) else "word"),
]


def tier_name(tier: Tier) -> str:
    return "reservation" if isinstance(tier, ReservationTier) else tier


def capacity_problems(
    stack: StackSettings, tiers: list[Tier], where: str, accelerator: str, zones: list[str] | None
) -> list[Problem]:
    """The fallback list's own rules and whether its tiers can supply `accelerator` in `zones` (the GPU zones)."""
    problems = []
    if not tiers:
        problems.append(Problem(where, [], "must list at least one tier: reservation, onDemand, spot, flexStart"))
    names = [tier_name(tier) for tier in tiers]
    for name in sorted({n for n in names if names.count(n) > 1 and n != "reservation"}):
        problems.append(Problem(where, name, "is listed twice: each tier once, in the order GKE should try them"))
    for index, tier in enumerate(tiers):
        setting = f"{where}[{index}]"
        if stack.production and tier == "spot":
            problems.append(Problem(setting, "spot", "production GPUs must not be spot (preempted with 30 s notice)"))
        if not isinstance(tier, ReservationTier):
            continue
        reservation = tier.reservation
        missing = [field for field in ("name", "project", "zone") if getattr(reservation, field) is None]
        for field in missing:
            problems.append(
                Problem(
                    f"{setting}.reservation.{field}",
                    reservation.model_dump(exclude_none=True),
                    "is required: a reservation is named by its project, zone and name (a specific reservation "
                    "is looked up in its project and zone)",
                )
            )
        if reservation.zone is None:
            continue
        if zones is not None and reservation.zone not in zones:
            problems.append(
                Problem(
                    f"{setting}.reservation.zone",
                    reservation.zone,
                    f"the GPU replicas run in {', '.join(zones)} (the zones of the pool that offer {accelerator}): "
                    "a reservation elsewhere can never supply them",
                )
            )
    return problems


def capacity_zones(stack: StackSettings) -> list[str] | None:
    """Where the fallback's nodes may go: the GPU pool's zones (explicit, or those of a regional cluster that offer
    the GPU), the zonal cluster's zone, or for Autopilot the region's zones that offer the GPU."""
    from settings.gpu_pool import pool_zones

    if stack.gpu_node_pool is not None:
        zones = pool_zones(stack)
        return zones if zones is not None else [stack.cluster.gke_location]
    autopilot = stack.cluster.autopilot
    if stack.cluster.is_autopilot and autopilot is not None and autopilot.accelerator_type is not None:
        offered = gcp_catalog.zones_offering(autopilot.accelerator_type, stack.cluster.region)
        return list(offered) if offered else None
    return None
