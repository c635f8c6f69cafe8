"""Artifact Registry remote repositories, in the cluster's region, that every image on the cold-start path is
pulled through: NVIDIA's nvcr.io (Triton), Docker Hub (KServe's controller and the storage initializer that
runs in every predictor pod), quay.io (cert-manager, kube-rbac-proxy) and ghcr.io (KEDA).

- GKE image streaming streams only from Artifact Registry, so the multi-GB Triton image is pulled through the
  nvcr.io proxy: the first pull fills the regional cache, later nodes stream from it.
- Docker Hub rate-limits anonymous pulls (per source address), and every new GPU node pulls the storage
  initializer: through the proxy, Google's side pulls once and the nodes read the regional copy.
- Nodes read the repositories with their own service accounts: the GPU pool grants its own, `readers` are
  granted here (the system pool's, which runs cert-manager and the KServe controller).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp

if TYPE_CHECKING:
    from settings import StackSettings

UPSTREAM_REGISTRY = "nvcr.io"
# Enabled, never disabled on destroy: other workloads in the project may use them.
REQUIRED_APIS = ("artifactregistry.googleapis.com", "containerfilesystem.googleapis.com")
READER_ROLE = "roles/artifactregistry.reader"


@dataclass(frozen=True)
class Upstream:
    host: str
    repository_id: str
    remote: dict[str, Any]
    """`remote_repository_config.docker_repository` for this upstream."""


# The nvcr.io repository's ID comes from settings (imageCache.repository); the others are fixed.
UPSTREAMS = (
    Upstream("docker.io", "dockerhub-remote", {"public_repository": "DOCKER_HUB"}),
    Upstream("quay.io", "quay-remote", {"custom_repository": {"uri": "https://quay.io"}}),
    Upstream("ghcr.io", "ghcr-remote", {"custom_repository": {"uri": "https://ghcr.io"}}),
)


@dataclass(frozen=True)
class ImageCacheArgs:
    project: str
    region: str
    repository_id: str
    """The nvcr.io proxy's repository ID."""
    readers: list[pulumi.Input[str]] = field(default_factory=list)
    """IAM members (node service accounts) that pull from every repository here."""

    @classmethod
    def from_settings(cls, stack: StackSettings, cluster: Any) -> ImageCacheArgs:
        """`cluster`'s system nodes (if it has this program's) pull cert-manager's, KServe's and KEDA's images."""
        account = getattr(cluster, "node_service_account", None)
        return cls(
            project=stack.project,
            region=stack.cluster.region,
            repository_id=stack.image_cache.repository,
            readers=[account.member] if account is not None else [],
        )


def registry_prefix(project: str, region: str, repository_id: str) -> str:
    return f"{region}-docker.pkg.dev/{project}/{repository_id}"


def cached_image(image: str, prefix: str) -> str:
    """`nvcr.io/<path>[:tag][@digest]` -> `<prefix>/<path>[:tag][@digest]`; other registries unchanged."""
    host, _, path = image.partition("/")
    return f"{prefix}/{path}" if host == UPSTREAM_REGISTRY and path else image


class ImageCache(pulumi.ComponentResource):
    """The pull-through repositories and the APIs image streaming needs."""

    repository: gcp.artifactregistry.Repository
    """The nvcr.io proxy (Triton)."""
    repositories: list[gcp.artifactregistry.Repository]
    """Every proxy: nvcr.io, Docker Hub, quay.io."""
    prefix: str
    """Image references under this prefix are pulled through the proxy, e.g. <prefix>/nvidia/tritonserver:25.01-py3."""
    mirrors: dict[str, str]
    """Upstream registry host -> the prefix its images are pulled through (for the Helm charts' images)."""
    apis: list[gcp.projects.Service]
    reader_bindings: list[gcp.artifactregistry.RepositoryIamMember]

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
        nvcr = Upstream(
            UPSTREAM_REGISTRY, args.repository_id, {"custom_repository": {"uri": f"https://{UPSTREAM_REGISTRY}"}}
        )
        self.repository = self._repository(
            f"{name}-nvcr",
            args,
            nvcr,
            f"Pull-through cache of {UPSTREAM_REGISTRY} (NVIDIA Triton images) for GKE image streaming",
        )
        self.repositories = [self.repository]
        self.mirrors = {UPSTREAM_REGISTRY: registry_prefix(args.project, args.region, args.repository_id)}
        for upstream in UPSTREAMS:
            self.repositories.append(
                self._repository(
                    f"{name}-{upstream.repository_id}",
                    args,
                    upstream,
                    f"Pull-through cache of {upstream.host}: KServe, cert-manager and KEDA images",
                )
            )
            self.mirrors[upstream.host] = registry_prefix(args.project, args.region, upstream.repository_id)
        self.prefix = self.mirrors[UPSTREAM_REGISTRY]
        self.reader_bindings = [
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-{upstream.split('.')[0]}-reader-{index}",
                project=args.project,
                location=repository.location,
                repository=repository.name,
                role=READER_ROLE,
                member=reader,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for upstream, repository in zip(self.mirrors, self.repositories, strict=True)
            for index, reader in enumerate(args.readers)
        ]
        self.register_outputs({"prefix": self.prefix, "mirrors": self.mirrors})

    @property
    def chart_mirrors(self) -> dict[str, str]:
        """The mirrors for the Helm charts' images (Triton's is rewritten into the runtime instead)."""
        return {host: prefix for host, prefix in self.mirrors.items() if host != UPSTREAM_REGISTRY}

    @property
    def pull_prerequisites(self) -> list[pulumi.Resource]:
        """What a pod pulling through the proxies needs first: the repositories, and its node's read access."""
        return [*self.repositories, *self.reader_bindings]

    def _repository(
        self, resource_name: str, args: ImageCacheArgs, upstream: Upstream, description: str
    ) -> gcp.artifactregistry.Repository:
        return gcp.artifactregistry.Repository(
            resource_name,
            project=args.project,
            location=args.region,
            repository_id=upstream.repository_id,
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            description=description,
            remote_repository_config={"description": upstream.host, "docker_repository": upstream.remote},
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.apis),
        )
