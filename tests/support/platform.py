"""The KServe platform's arguments as the tests build them: a system pool selector and registry mirrors."""

from __future__ import annotations

from components.kserve_platform import KServePlatformArgs

RELEASE = "kubernetes:helm.sh/v3:Release"
SYSTEM = {"kserve-triton/node-role": "system"}
HUB = "us-central1-docker.pkg.dev/my-project/dockerhub-remote"
QUAY = "us-central1-docker.pkg.dev/my-project/quay-remote"
MIRRORS = {"docker.io": HUB, "quay.io": QUAY}


def platform_args(**overrides) -> KServePlatformArgs:
    values = dict(
        kserve_version="v0.20.0",
        cert_manager_version="v1.21.1",
        deployment_mode="Standard",
        ingress_class=None,
        ingress_domain="example.com",
        system_node_selector=SYSTEM,
        protect_crds=True,
    )
    values.update(overrides)
    return KServePlatformArgs(**values)
