"""Shared test set-up: run the program (or one component) under Pulumi's mocks, one run per test.

The mock harness itself lives in `kserve_triton/offline.py`, which `python -m kserve_triton render`
uses too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kserve_triton.offline import ROOT, OfflineRun, is_secret, stack_config, unwrap_secret
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


@pytest.fixture(scope="session")
def triton_runtime_container():
    """The kserve-container of the kserve-tritonserver runtime, as the program declares it."""
    from components.gcp_catalog import GpuShare
    from components.triton_runtime import TritonRuntimeArgs, runtime_spec

    spec = runtime_spec(
        TritonRuntimeArgs(
            image="nvcr.io/nvidia/tritonserver:25.01-py3",
            per_gpu=GpuShare(1000, 2048),
            accelerator=None,
            shm_size="1Gi",
            startup_timeout_seconds=900,
            kserve_controller=None,
        )
    )
    (container,) = spec.containers
    return container


@pytest.fixture(scope="session")
def triton_server(triton_runtime_container, tmp_path_factory):
    """A real tritonserver running the runtime's container args (see tests/triton_server.py)."""
    pytest.importorskip("pytriton", reason="nvidia-pytriton is installed in venv-triton (scripts/test)")
    from triton_server import TritonServer

    server = TritonServer(triton_runtime_container, tmp_path_factory.mktemp("triton"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pulumi_mocks() -> OfflineRun:
    return OfflineRun()


@pytest.fixture
def dev_config() -> dict[str, Any]:
    return deployable_config(ROOT / "Pulumi.dev.yaml")
