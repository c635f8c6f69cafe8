"""Image references rewritten to registry mirrors, with Docker Hub's implicit host and library/ namespace."""

from __future__ import annotations

import pytest

from components.image_mirrors import mirror_errors, mirrored, split_reference

HUB = "us-central1-docker.pkg.dev/my-project/dockerhub-remote"
QUAY = "us-central1-docker.pkg.dev/my-project/quay-remote"
MIRRORS = {"docker.io": HUB, "quay.io": QUAY}
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("image", "host", "path"),
    [
        ("kserve/agent:v0.20.0", "docker.io", "kserve/agent:v0.20.0"),
        ("kserve/art-explainer", "docker.io", "kserve/art-explainer"),
        ("busybox", "docker.io", "library/busybox"),
        ("busybox:1.37", "docker.io", "library/busybox:1.37"),
        (f"busybox@{DIGEST}", "docker.io", f"library/busybox@{DIGEST}"),
        ("docker.io/busybox", "docker.io", "library/busybox"),
        ("docker.io/kserve/agent", "docker.io", "kserve/agent"),
        ("index.docker.io/kserve/agent", "docker.io", "kserve/agent"),
        ("registry-1.docker.io/library/busybox", "docker.io", "library/busybox"),
        ("quay.io/brancz/kube-rbac-proxy:v0.18.0", "quay.io", "brancz/kube-rbac-proxy:v0.18.0"),
        ("localhost/app:1", "localhost", "app:1"),
        ("localhost:5000/app", "localhost:5000", "app"),
        ("Registry/app", "Registry", "app"),
        ("nvcr.io/nvidia/tritonserver:25.01-py3", "nvcr.io", "nvidia/tritonserver:25.01-py3"),
    ],
)
def test_references_split_as_the_container_runtime_reads_them(image, host, path):
    assert split_reference(image) == (host, path)


@pytest.mark.parametrize(
    ("image", "pulled"),
    [
        ("kserve/storage-initializer:v0.20.0", f"{HUB}/kserve/storage-initializer:v0.20.0"),
        ("kserve/kserve-controller", f"{HUB}/kserve/kserve-controller"),
        ("busybox", f"{HUB}/library/busybox"),
        ("docker.io/library/busybox:1.37", f"{HUB}/library/busybox:1.37"),
        ("index.docker.io/kserve/router:v0.20.0", f"{HUB}/kserve/router:v0.20.0"),
        ("quay.io/jetstack/cert-manager-webhook", f"{QUAY}/jetstack/cert-manager-webhook"),
        (f"quay.io/jetstack/cert-manager-controller@{DIGEST}", f"{QUAY}/jetstack/cert-manager-controller@{DIGEST}"),
        ("nvcr.io/nvidia/tritonserver:25.01-py3", "nvcr.io/nvidia/tritonserver:25.01-py3"),
        (f"{HUB}/kserve/agent:v0.20.0", f"{HUB}/kserve/agent:v0.20.0"),
    ],
)
def test_images_of_a_mirrored_registry_are_pulled_through_its_mirror(image, pulled):
    assert mirrored(image, MIRRORS) == pulled


@pytest.mark.parametrize("mirrors", [None, {}])
def test_no_mirrors_leave_every_image_upstream(mirrors):
    assert mirrored("kserve/agent:v0.20.0", mirrors) == "kserve/agent:v0.20.0"


def test_a_good_mirror_map_has_no_errors():
    assert mirror_errors(MIRRORS | {"localhost:5000": "localhost:5000/cache", "ghcr.io": "mirror.example.com"}) == []


@pytest.mark.parametrize(
    ("mirrors", "error"),
    [
        ({"index.docker.io": HUB}, "write Docker Hub as 'docker.io'"),
        ({"dockerhub": HUB}, "not a registry host"),
        ({"https://quay.io": QUAY}, "not a registry host"),
        ({"quay.io": f"https://{QUAY}"}, "is not a registry path"),
        ({"quay.io": f"{QUAY}/"}, "is not a registry path"),
        ({"quay.io": ""}, "is not a registry path"),
        ({"quay.io": "my-project/quay-remote"}, "is not a registry path"),
    ],
)
def test_mirror_map_mistakes_are_named(mirrors, error):
    (message,) = mirror_errors(mirrors)
    assert error in message
