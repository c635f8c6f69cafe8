"""Image references (catalog/container_images.py), as distribution/reference parses them."""

from __future__ import annotations

import pytest

from catalog.container_images import ImageReference, ImageReferenceError, parse_image_reference


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        (
            "nvcr.io/nvidia/tritonserver:25.01-py3",
            ImageReference("nvcr.io", "nvidia/tritonserver", "25.01-py3", None, True),
        ),
        ("tritonserver:25.01-py3", ImageReference("docker.io", "library/tritonserver", "25.01-py3", None, False)),
        ("nvidia/tritonserver:25.01-py3", ImageReference("docker.io", "nvidia/tritonserver", "25.01-py3", None, False)),
        ("localhost:5000/ml/triton:1", ImageReference("localhost:5000", "ml/triton", "1", None, True)),
        ("localhost/ml/triton:1", ImageReference("localhost", "ml/triton", "1", None, True)),
        (
            "us-central1-docker.pkg.dev/p/nvcr-remote/nvidia/tritonserver:25.01-py3",
            ImageReference("us-central1-docker.pkg.dev", "p/nvcr-remote/nvidia/tritonserver", "25.01-py3", None, True),
        ),
        (
            "nvcr.io/nvidia/tritonserver:25.01-py3@sha256:" + "a" * 64,
            ImageReference("nvcr.io", "nvidia/tritonserver", "25.01-py3", "sha256:" + "a" * 64, True),
        ),
        ("my_org/my__image-x:v1", ImageReference("docker.io", "my_org/my__image-x", "v1", None, False)),
    ],
)
def test_references_split_into_registry_repository_tag_and_digest(text, reference):
    assert parse_image_reference(text) == reference


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nvcr.io/NVIDIA/tritonserver:1", "repository names are lowercase"),
        ("nvcr.io/nvidia/tritonserver:25.01 py3", "is not a tag"),
        ("nvcr.io/nvidia/tritonserver:" + "a" * 129, "is not a tag"),
        ("nvcr.io/nvidia/tritonserver@sha256:abc", "is not a digest"),
        ("nvcr.io/-x/y:1", "is not a repository name component"),
        ("bad_host.io/x:1", "is not a registry host"),
        (" nvcr.io/x:1", "spaces"),
        (":1", "has no name"),
    ],
)
def test_references_a_runtime_cannot_pull_are_refused_with_the_reason(text, message):
    with pytest.raises(ImageReferenceError, match=message):
        parse_image_reference(text)
