"""Google Cloud provider settings: `gcp:project` and `gcp:region`, read from the `gcp:` namespace as
pulumi-gcp reads them. A GKE stack needs the project; a stack on an existing cluster (kubeconfig context)
ignores both, whatever it inherits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, field_validator

from catalog import gcp as gcp_catalog
from settings.base import MISSING, Problem, Settings, Text

if TYPE_CHECKING:
    from settings.stack import StackSettings

PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def _project_id(project: str) -> str:
    if not PROJECT_ID.match(project):
        raise ValueError("must be a GCP project ID: 6-30 lowercase letters, digits or hyphens")
    return project


ProjectId = Annotated[Text, AfterValidator(_project_id)]
"""A GCP project ID, as `gcp:project` or an existing cluster's project."""

SET_PROJECT_HINT = "run `pulumi config set gcp:project <your-project-id>`"


class GcpSettings(Settings):
    """The GCP provider's settings (`gcp:project`, `gcp:region`)."""

    project: ProjectId | None = None
    """The GCP project ID (`gcp:project`). Required for a GKE cluster: `pulumi config set gcp:project <id>`."""
    region: Text | None = None
    """The provider's default region (`gcp:region`); when set, the cluster's location must be in it."""

    @field_validator("region")
    @classmethod
    def _region(cls, region: str | None) -> str | None:
        if region is not None and region not in gcp_catalog.REGIONS:
            raise ValueError(f"must be a GCP region; known: {', '.join(sorted(gcp_catalog.REGIONS))}")
        return region


def stack_problems(stack: StackSettings) -> list[Problem]:
    if not stack.on_gke:
        return []
    problems = []
    existing = stack.cluster.existing
    if stack.gcp.project is None and (existing is None or existing.project is None):
        problems.append(Problem("gcp:project", MISSING, f"is required for a GKE cluster: {SET_PROJECT_HINT}"))
    setting = "cluster.existing.location" if existing is not None else "cluster.location"
    location = existing.location if existing is not None else stack.cluster.location
    if stack.gcp.region is not None and location is not None and stack.cluster.region != stack.gcp.region:
        problems.append(Problem(setting, location, f"must be gcp:region ({stack.gcp.region}) or one of its zones"))
    return problems
