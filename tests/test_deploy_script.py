"""scripts/deploy: selects or creates the stack on a local file backend with a passphrase, then `pulumi up`.

It runs against a stand-in `pulumi` on PATH that records how it was called (there is no Pulumi CLI here)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

FAKE_PULUMI = """#!/usr/bin/env bash
echo "$PULUMI_BACKEND_URL|$*" >> "$PULUMI_CALLS"
"""


@pytest.fixture
def fake_path(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(PATH=f"{bin_dir}:{os.environ['PATH']}", PULUMI_CALLS=str(tmp_path / "calls"))
    return env


def deploy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "deploy"), *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )


def calls(env: dict[str, str]) -> list[str]:
    return Path(env["PULUMI_CALLS"]).read_text().splitlines()


def test_creates_or_selects_the_stack_with_a_passphrase_on_a_local_backend(fake_path):
    result = deploy({**fake_path, "PULUMI_CONFIG_PASSPHRASE": "s3cret"}, "dev", "--yes")
    assert result.returncode == 0, result.stderr
    assert calls(fake_path) == [
        "file://~|stack select --create --secrets-provider passphrase dev",
        "file://~|up --stack dev --yes",
    ]


def test_a_team_backend_and_secrets_provider_are_used_when_set(fake_path):
    env = {
        **fake_path,
        "PULUMI_BACKEND_URL": "gs://team-pulumi-state",
        "PULUMI_SECRETS_PROVIDER": "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/pulumi",
    }
    assert deploy(env, "prod").returncode == 0
    assert calls(fake_path) == [
        "gs://team-pulumi-state|stack select --create --secrets-provider "
        "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/pulumi prod",
        "gs://team-pulumi-state|up --stack prod",
    ]


def test_refuses_an_unknown_stack_and_names_the_known_ones(fake_path):
    result = deploy({**fake_path, "PULUMI_CONFIG_PASSPHRASE": "x"}, "staging")
    assert result.returncode == 2
    assert "dev" in result.stderr and "prod" in result.stderr and "local" in result.stderr
    assert not Path(fake_path["PULUMI_CALLS"]).exists()


def test_refuses_to_run_without_a_passphrase_when_nobody_can_type_one(fake_path):
    result = deploy(fake_path, "dev")
    assert result.returncode == 2
    assert "PULUMI_CONFIG_PASSPHRASE" in result.stderr
    assert not Path(fake_path["PULUMI_CALLS"]).exists()
