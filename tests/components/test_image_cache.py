"""The nvcr.io pull-through cache: an Artifact Registry remote repository for GKE image streaming."""

from __future__ import annotations

import pytest

from components.image_cache import ImageCache, ImageCacheArgs, cached_image

PREFIX = "us-central1-docker.pkg.dev/my-project/nvcr-remote"


READER = "serviceAccount:sys@my-project.iam.gserviceaccount.com"


@pytest.fixture
def cache(pulumi_mocks):
    pulumi_mocks.run(
        lambda: ImageCache(
            "images",
            ImageCacheArgs(project="my-project", region="us-central1", repository_id="nvcr-remote", readers=[READER]),
        )
    )
    return pulumi_mocks.monitor


def repositories(cache) -> dict[str, dict]:
    found = cache.of_type("gcp:artifactregistry/repository:Repository")
    return {r.inputs["repositoryId"]: r.inputs for r in found}


def test_regional_remote_docker_repositories_proxy_nvcr_docker_hub_quay_and_ghcr(cache):
    found = repositories(cache)
    assert set(found) == {"nvcr-remote", "dockerhub-remote", "quay-remote", "ghcr-remote"}
    for repository in found.values():
        assert repository["location"] == "us-central1"
        assert (repository["format"], repository["mode"]) == ("DOCKER", "REMOTE_REPOSITORY")
    upstream = {rid: r["remoteRepositoryConfig"]["dockerRepository"] for rid, r in found.items()}
    assert upstream == {
        "nvcr-remote": {"customRepository": {"uri": "https://nvcr.io"}},
        "dockerhub-remote": {"publicRepository": "DOCKER_HUB"},
        "quay-remote": {"customRepository": {"uri": "https://quay.io"}},
        "ghcr-remote": {"customRepository": {"uri": "https://ghcr.io"}},
    }
    # Unchanged since the nvcr.io proxy was introduced: an update would be a needless diff on every stack.
    assert found["nvcr-remote"]["description"] == (
        "Pull-through cache of nvcr.io (NVIDIA Triton images) for GKE image streaming"
    )


def test_the_readers_may_pull_from_every_repository(cache):
    grants = cache.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert sorted(g.inputs["repository"] for g in grants) == sorted(
        r.outputs["name"] for r in cache.of_type("gcp:artifactregistry/repository:Repository")
    )
    assert {(g.inputs["role"], g.inputs["member"]) for g in grants} == {("roles/artifactregistry.reader", READER)}


def test_mirrors_name_each_upstream_registry(cache):
    (component,) = cache.of_type("kserve-triton:gcp:ImageCache")
    assert component.registered_outputs["mirrors"] == {
        "nvcr.io": "us-central1-docker.pkg.dev/my-project/nvcr-remote",
        "docker.io": "us-central1-docker.pkg.dev/my-project/dockerhub-remote",
        "quay.io": "us-central1-docker.pkg.dev/my-project/quay-remote",
        "ghcr.io": "us-central1-docker.pkg.dev/my-project/ghcr-remote",
    }


def test_the_apis_image_streaming_needs_are_enabled_and_never_disabled(cache):
    services = cache.of_type("gcp:projects/service:Service")
    assert sorted(s.inputs["service"] for s in services) == [
        "artifactregistry.googleapis.com",
        "containerfilesystem.googleapis.com",
    ]
    assert all(s.inputs["disableOnDestroy"] is False for s in services)
    for repository in cache.of_type("gcp:artifactregistry/repository:Repository"):
        for service in services:
            assert service.urn in repository.dependencies


def test_component_outputs_the_registry_prefix(cache):
    assert cache.one("kserve-triton:gcp:ImageCache").registered_outputs["prefix"] == PREFIX


@pytest.mark.parametrize(
    ("image", "through_cache"),
    [
        ("nvcr.io/nvidia/tritonserver:25.01-py3", f"{PREFIX}/nvidia/tritonserver:25.01-py3"),
        ("nvcr.io/nvidia/tritonserver@sha256:" + "a" * 64, f"{PREFIX}/nvidia/tritonserver@sha256:" + "a" * 64),
        ("us-docker.pkg.dev/team/images/triton:1.0", "us-docker.pkg.dev/team/images/triton:1.0"),
        ("docker.io/library/tritonserver:1", "docker.io/library/tritonserver:1"),
    ],
)
def test_only_nvcr_images_are_rewritten_to_the_cache(image, through_cache):
    assert cached_image(image, PREFIX) == through_cache
