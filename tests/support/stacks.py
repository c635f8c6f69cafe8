"""The stack files and configs the tests run the program with, and where the upstream reference files are."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kserve_triton.offline import ROOT, is_secret, stack_config, unwrap_secret
from kserve_triton.references import default_cache_dir

__all__ = [
    "PROJECT_OVERRIDE",
    "ROOT",
    "STACK_FILES",
    "TEST_PROJECT",
    "deployable_config",
    "is_secret",
    "shared_dir",
    "shared_missing",
    "stack_config",
    "unwrap_secret",
]

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
TEST_PROJECT = "example-project"
"""The GCP project the tests give GKE stacks, as a user does with `pulumi config set gcp:project`."""
PROJECT_OVERRIDE = {"gcp:project": TEST_PROJECT}


def deployable_config(stack_file: Path) -> dict[str, Any]:
    """A stack file's config as it is after its one required step: GKE stacks get a project."""
    config = stack_config(stack_file)
    cluster = config.get("kserve-triton:cluster") or {}
    if "existing" not in cluster and "gcp:project" not in config:
        config = {**config, **PROJECT_OVERRIDE}
    return config


def shared_dir() -> Path | None:
    """The upstream reference files (KServe CRDs, chart values, charts): $KSERVE_TRITON_SHARED when it is set
    (then only it), else `../shared` beside the checkout, else the cache `scripts/fetch-references` fills
    (`kserve_triton.references.default_cache_dir()`); None when there is none."""
    explicit = os.environ.get("KSERVE_TRITON_SHARED")
    candidates = [Path(explicit)] if explicit else [ROOT.parent / "shared", default_cache_dir()]
    return next((candidate for candidate in candidates if candidate.is_dir()), None)


def shared_missing(what: str) -> str:
    """The skip reason of a test that needs `what` from the reference files when `shared_dir()` is None."""
    explicit = os.environ.get("KSERVE_TRITON_SHARED")
    if explicit:
        return f"{what}: KSERVE_TRITON_SHARED={explicit} is not a directory (scripts/fetch-references DIR fills one)"
    return f"{what}: not in ../shared nor in {default_cache_dir()}: run scripts/fetch-references"


def runtime_container(**overrides):
    """The kserve-container of the kserve-tritonserver runtime as the program declares it for a 25.01 image on a
    CPU-only test host; `overrides` change single TritonRuntimeArgs fields."""
    from catalog.gcp import GpuShare
    from components.triton_runtime import TritonRuntimeArgs, runtime_spec

    args = dict(
        image="nvcr.io/nvidia/tritonserver:25.01-py3",
        per_gpu=GpuShare(1000, 2048),
        gpu=None,
        shm_size="1Gi",
        startup_timeout_seconds=900,
        kserve_controller=None,
    )
    (container,) = runtime_spec(TritonRuntimeArgs(**(args | overrides))).containers
    return container
