"""Image references pulled through registry mirrors, e.g. Artifact Registry remote repositories.

A mirror map goes from an upstream registry host to the prefix its images are pulled through:
`{"docker.io": "us-central1-docker.pkg.dev/<project>/dockerhub-remote"}` turns `kserve/agent:v0.20.0` into
`us-central1-docker.pkg.dev/<project>/dockerhub-remote/kserve/agent:v0.20.0`.

References are normalized as the container runtime does (github.com/distribution/reference): a first path
component that has a `.` or `:`, is `localhost` or has upper-case letters is the registry host, anything else is
on Docker Hub (`docker.io`); Docker Hub's aliases `index.docker.io` and `registry-1.docker.io` are `docker.io`,
and its one-component names are official images under `library/` (`busybox` is `docker.io/library/busybox`),
which is also the path an Artifact Registry Docker Hub remote repository serves them under.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$")
_PREFIX = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")


def _names_a_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def split_reference(image: str) -> tuple[str, str]:
    """`image` as (registry host, path with tag or digest), Docker Hub's implicit host and `library/` made explicit."""
    first, slash, rest = image.partition("/")
    if slash and (_names_a_host(first) or first != first.lower()):
        host, path = first, rest
    else:
        host, path = DOCKER_HUB, image
    if host in _DOCKER_HUB_ALIASES:
        host = DOCKER_HUB
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return host, path


def mirrored(image: str, mirrors: Mapping[str, str] | None) -> str:
    """`image` pulled through the mirror of its registry; unchanged when its registry has none."""
    host, path = split_reference(image)
    prefix = (mirrors or {}).get(host)
    return f"{prefix}/{path}" if prefix else image


def mirror_errors(mirrors: Mapping[str, str]) -> list[str]:
    """What is wrong with a mirror map: keys must be canonical registry hosts, values registry path prefixes."""
    errors = []
    for host, prefix in mirrors.items():
        if host in _DOCKER_HUB_ALIASES:
            errors.append(f"{host!r}: write Docker Hub as {DOCKER_HUB!r}")
        elif not _HOST.match(host) or not _names_a_host(host):
            errors.append(f"{host!r}: not a registry host such as docker.io or quay.io")
        if not _PREFIX.match(prefix) or not _names_a_host(prefix.split("/", 1)[0]):
            errors.append(
                f"{host!r}: mirror {prefix!r} is not a registry path such as "
                "us-central1-docker.pkg.dev/<project>/<repository> (no scheme, no trailing slash)"
            )
    return errors
