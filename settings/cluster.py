"""The cluster: a GKE Standard cluster this program creates (name, location, release channel, protection,
the system node pool), or an existing cluster reached through a kubeconfig context."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from components import gcp_catalog
from settings.base import MISSING, Count, Flag, Problem, Settings, Text, raise_if

if TYPE_CHECKING:
    from settings.stack import StackSettings

GKE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


class SystemNodePoolSettings(Settings):
    """The small CPU pool for cluster services; GPU nodes are tainted so these never land there."""

    machine_type: Text = "e2-standard-4"
    """Machine type of the small CPU pool that runs cluster services (cert-manager, KServe controller)."""
    min_nodes: Count = Field(1, ge=1)
    """Fewest system nodes (across all zones of the pool)."""
    max_nodes: Count = Field(3, ge=1)
    """Most system nodes (across all zones of the pool)."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> SystemNodePoolSettings:
        if self.min_nodes > self.max_nodes:
            raise_if([Problem("minNodes", self.min_nodes, f"must be at most maxNodes ({self.max_nodes})")])
        return self


class ExistingClusterSettings(Settings):
    """A cluster this program does not create, from your kubeconfig: no GCP resources and no GPUs."""

    context: Text
    """kubeconfig context of the cluster to install into ($KUBECONFIG or ~/.kube/config), e.g. kind-kserve."""

    @field_validator("context")
    @classmethod
    def _named(cls, context: str) -> str:
        if not context.strip():
            raise ValueError(
                "must name a kubeconfig context (`kubectl config get-contexts`): an empty context means "
                "whichever context is current, which can put KServe into the wrong cluster"
            )
        return context


class ClusterSettings(Settings):
    """The GKE cluster this program creates, or `existing` to install into a cluster you already have."""

    name: Text | None = None
    """GKE cluster name: lowercase letters, digits and hyphens, at most 40 characters. Required unless existing."""
    location: Text | None = None
    """A GCP region (regional cluster) or zone (zonal cluster). Required unless existing."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    """GKE release channel; GKE upgrades the control plane and nodes within it."""
    deletion_protection: Flag = True
    """GKE's own deletion protection: while true, GKE refuses to delete the cluster."""
    protect: Flag = True
    """Pulumi `protect` on the cluster: `pulumi up`/`destroy` refuse to delete or replace it."""
    system_node_pool: SystemNodePoolSettings = SystemNodePoolSettings()
    """The CPU pool for cluster services; GPU nodes are tainted so these never land there."""
    existing: ExistingClusterSettings | None = None
    """Use an existing cluster instead of creating one on GKE: no GCP resources and no GPUs."""

    @field_validator("name")
    @classmethod
    def _gke_name(cls, name: str | None) -> str | None:
        if name is not None and not GKE_NAME.match(name):
            raise ValueError(
                "must be 1-40 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen"
            )
        return name

    @field_validator("location")
    @classmethod
    def _gcp_location(cls, location: str | None) -> str | None:
        if location is not None and gcp_catalog.region_of(location) is None:
            raise ValueError(
                "must be a GCP region (e.g. us-central1) or zone (e.g. us-central1-a); "
                f"known regions: {', '.join(sorted(gcp_catalog.REGIONS))}"
            )
        return location

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
        raise_if(problems)
        return self

    @property
    def region(self) -> str:
        region = gcp_catalog.region_of(self.location or "")
        assert region is not None  # checked by the validators
        return region

    @property
    def is_regional(self) -> bool:
        return not gcp_catalog.is_zone(self.location or "")


def stack_problems(stack: StackSettings) -> list[Problem]:
    if not stack.production:
        return []
    if not stack.on_gke:
        return [Problem("production", True, "a production stack must run on a GKE cluster this program manages")]
    return [
        Problem(setting, value, "must be true in a production stack")
        for setting, value in (
            ("cluster.deletionProtection", stack.cluster.deletion_protection),
            ("cluster.protect", stack.cluster.protect),
        )
        if not value
    ]
