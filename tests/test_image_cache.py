"""The nvcr.io pull-through cache: an Artifact Registry remote repository for GKE image streaming."""

from __future__ import annotations

import pytest

from components.image_cache import ImageCache, ImageCacheArgs, cached_image

PREFIX = "us-central1-docker.pkg.dev/my-project/nvcr-remote"


@pytest.fixture
def cache(pulumi_mocks):
    pulumi_mocks.run(
        lambda: ImageCache(
            "images", ImageCacheArgs(project="my-project", region="us-central1", repository_id="nvcr-remote")
        )
    )
    return pulumi_mocks.monitor


def test_a_regional_remote_docker_repository_proxies_nvcr(cache):
    repository = cache.one("gcp:artifactregistry/repository:Repository").inputs
    assert repository["location"] == "us-central1"
    assert repository["repositoryId"] == "nvcr-remote"
    assert (repository["format"], repository["mode"]) == ("DOCKER", "REMOTE_REPOSITORY")
    assert repository["remoteRepositoryConfig"]["dockerRepository"] == {"customRepository": {"uri": "https://nvcr.io"}}


def test_the_apis_image_streaming_needs_are_enabled_and_never_disabled(cache):
    services = cache.of_type("gcp:projects/service:Service")
    assert sorted(s.inputs["service"] for s in services) == [
        "artifactregistry.googleapis.com",
        "containerfilesystem.googleapis.com",
    ]
    assert all(s.inputs["disableOnDestroy"] is False for s in services)
    repository = cache.one("gcp:artifactregistry/repository:Repository")
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
