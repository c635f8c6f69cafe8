"""An Artifact Registry remote repository that proxies nvcr.io in the cluster's region.

GKE image streaming only streams images from Artifact Registry, so the multi-GB Triton image is pulled
through this proxy: the first pull fills the regional cache, later nodes stream from it. Nodes read it
with their own service account (granted by the GPU pool component).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

if TYPE_CHECKING:
    from settings import StackSettings

UPSTREAM_REGISTRY = "nvcr.io"
# Enabled, never disabled on destroy: other workloads in the project may use them.
REQUIRED_APIS = ("artifactregistry.googleapis.com", "containerfilesystem.googleapis.com")


@dataclass(frozen=True)
class ImageCacheArgs:
    project: str
    region: str
    repository_id: str

    @classmethod
    def from_settings(cls, stack: StackSettings) -> ImageCacheArgs:
        return cls(project=stack.project, region=stack.cluster.region, repository_id=stack.image_cache.repository)


def registry_prefix(project: str, region: str, repository_id: str) -> str:
    return f"{region}-docker.pkg.dev/{project}/{repository_id}"


def cached_image(image: str, prefix: str) -> str:
    """`nvcr.io/<path>[:tag][@digest]` -> `<prefix>/<path>[:tag][@digest]`; other registries unchanged."""
    host, _, path = image.partition("/")
    return f"{prefix}/{path}" if host == UPSTREAM_REGISTRY and path else image


class ImageCache(pulumi.ComponentResource):
    """The nvcr.io proxy repository and the APIs image streaming needs."""

    repository: gcp.artifactregistry.Repository
    prefix: str
    """Image references under this prefix are pulled through the proxy, e.g. <prefix>/nvidia/tritonserver:25.01-py3."""
    apis: list[gcp.projects.Service]

    def __init__(self, name: str, args: ImageCacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:gcp:ImageCache", name, None, opts)
        self.apis = [
            gcp.projects.Service(
                f"{name}-{api.split('.')[0]}",
                project=args.project,
                service=api,
                disable_on_destroy=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in REQUIRED_APIS
        ]
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-nvcr",
            project=args.project,
            location=args.region,
            repository_id=args.repository_id,
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            description=f"Pull-through cache of {UPSTREAM_REGISTRY} (NVIDIA Triton images) for GKE image streaming",
            remote_repository_config={
                "description": UPSTREAM_REGISTRY,
                "docker_repository": {"custom_repository": {"uri": f"https://{UPSTREAM_REGISTRY}"}},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.apis),
        )
        self.prefix = registry_prefix(args.project, args.region, args.repository_id)
        self.register_outputs({"prefix": self.prefix, "repository": self.repository.name})
