"""Shared test set-up: run the program (or one component) under Pulumi's mocks, one run per test.

The mock harness itself lives in `kserve_triton/offline.py`, which `python -m kserve_triton render`
uses too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kserve_triton.offline import ROOT, OfflineRun, is_secret, stack_config, unwrap_secret

__all__ = ["ROOT", "STACK_FILES", "is_secret", "shared_dir", "stack_config", "unwrap_secret"]

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))


def shared_dir() -> Path | None:
    """`../shared` beside the checkout, or $KSERVE_TRITON_SHARED; None when neither exists."""
    candidate = Path(os.environ.get("KSERVE_TRITON_SHARED", ROOT.parent / "shared"))
    return candidate if candidate.is_dir() else None


@pytest.fixture
def pulumi_mocks() -> OfflineRun:
    return OfflineRun()


@pytest.fixture
def dev_config() -> dict[str, Any]:
    return stack_config(ROOT / "Pulumi.dev.yaml")
