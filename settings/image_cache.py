"""The nvcr.io pull-through cache: an Artifact Registry remote repository GKE nodes stream images from."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import field_validator

from settings.base import Flag, Problem, Settings, Text

if TYPE_CHECKING:
    from settings.stack import StackSettings

REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


class ImageCacheSettings(Settings):
    """Pull nvcr.io images through an Artifact Registry proxy in the cluster's region, streamed to GPU nodes."""

    enabled: Flag | None = None
    """Pull nvcr.io images through an Artifact Registry proxy in the cluster's region, streamed to GPU nodes.
    Default: on for GKE stacks; unavailable on an existing cluster."""
    repository: Text = "nvcr-remote"
    """Artifact Registry repository ID of the nvcr.io proxy."""

    @field_validator("repository")
    @classmethod
    def _repository_id(cls, repository: str) -> str:
        if not REPOSITORY_ID.match(repository):
            raise ValueError("must be an Artifact Registry repository ID: lowercase letters, digits and hyphens")
        return repository


def stack_problems(stack: StackSettings) -> list[Problem]:
    if not stack.on_gke and stack.image_cache.enabled:
        return [Problem("imageCache.enabled", True, "the image cache is an Artifact Registry proxy for GKE nodes")]
    existing = stack.cluster.existing
    if stack.image_cache.enabled and existing is not None and existing.gpu_nodes is not None:
        return [
            Problem(
                "imageCache.enabled",
                True,
                "the cluster's own GPU nodes run as accounts this program does not grant read access to the proxy: "
                "leave it off (or give those accounts roles/artifactregistry.reader yourself and pull through it)",
            )
        ]
    return []
