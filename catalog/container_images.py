"""How a container image reference is written, and what a runtime makes of one without a registry.

Source: distribution/reference (the grammar containerd, Docker and the kubelet's image pull use), `reference.go`
(the grammar below), `regexp.go` and `normalize.go` (`splitDockerDomain`), at v0.6.0:

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain '/'] remote-name          (at most 255 characters)
    domain           := host [':' port-number]
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    path-component   := /[a-z0-9]+/ [ /[_.]|__|[-]+/ /[a-z0-9]+/ ]*
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := /[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*/ ":" /[0-9a-fA-F]{32,}/

The first component is the registry only if it contains a `.` or a `:`, or is `localhost`; otherwise the image is on
Docker Hub (`docker.io`), and a single-component name is in its `library/` namespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN = re.compile(rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")
PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*$")
TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
MAX_NAME = 255


@dataclass(frozen=True)
class ImageReference:
    registry: str
    """The registry host as written; docker.io when the reference names none."""
    repository: str
    """The path in the registry, e.g. nvidia/tritonserver (library/<name> on Docker Hub for a one-part name)."""
    tag: str | None
    digest: str | None
    registry_written: bool
    """Whether the reference names its registry (else the runtime pulls from Docker Hub)."""


class ImageReferenceError(ValueError):
    """Not a reference a container runtime can pull, and why."""


def parse_image_reference(text: str) -> ImageReference:
    """The parts of an image reference; ImageReferenceError says what is wrong with one that is not valid."""
    if not text or text != text.strip():
        raise ImageReferenceError("is empty or has spaces around it")
    name, at, digest = text.partition("@")
    if at and not DIGEST.match(digest):
        raise ImageReferenceError(f"{digest!r} is not a digest (algorithm:hex, e.g. sha256:<64 hex digits>)")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not TAG.match(tag):
            raise ImageReferenceError(f"{tag!r} is not a tag (letters, digits, '_', '.', '-'; at most 128)")
    if not name or len(name) > MAX_NAME:
        raise ImageReferenceError("has no name" if not name else f"has a name longer than {MAX_NAME} characters")
    first, slash, rest = name.partition("/")
    written = bool(slash) and ("." in first or ":" in first or first == "localhost")
    if written:
        if not DOMAIN.match(first):
            raise ImageReferenceError(f"{first!r} is not a registry host[:port]")
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name if slash else f"library/{name}"
    for component in path.split("/"):
        if not PATH_COMPONENT.match(component):
            hint = " (repository names are lowercase)" if component.lower() != component else ""
            raise ImageReferenceError(f"{component!r} is not a repository name component{hint}")
    return ImageReference(registry, path, tag, digest or None, written)
