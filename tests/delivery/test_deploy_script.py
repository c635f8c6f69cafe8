"""scripts/deploy: validates the stack, then `pulumi up` with the policy pack, on a local file backend with a
passphrase unless told otherwise.

It runs in a copy of the project's scripts and stack files, against a stand-in `pulumi` and stand-in
virtualenv interpreters that record how they were called (there is no Pulumi CLI here, and the real
validation is tested in test_validate.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.stacks import ROOT

RECORDER = """#!/usr/bin/env bash
echo "{name}|$PULUMI_BACKEND_URL|$*" >> "$CALLS"
{extra}
"""


def stub(path: Path, name: str, extra: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RECORDER.format(name=name, extra=extra))
    path.chmod(0o755)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's deploy script and stack files, with recording stand-ins for pulumi and both venvs."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "deploy", root / "scripts" / "deploy")
    for name in ["requirements.txt", "policy/requirements.txt", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    stub(root / "venv" / "bin" / "python", "venv")
    stub(root / "policy" / "venv" / "bin" / "python", "policy-venv")
    stub(tmp_path / "bin" / "pulumi", "pulumi", 'if [[ "$1" == version ]]; then echo "${FAKE_VERSION:-v3.210.0}"; fi')
    return root


def deploy(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    environment.update(PATH=f"{project.parent / 'bin'}:{os.environ['PATH']}", CALLS=str(project.parent / "calls"))
    environment.update(env)
    return subprocess.run(
        [str(project / "scripts" / "deploy"), *args],
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )


def calls(project: Path, who: str | None = None) -> list[str]:
    path = project.parent / "calls"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split("|", 1)[1] for line in lines if who is None or line.startswith(f"{who}|")]


def test_validates_then_runs_up_with_the_policy_pack_on_a_local_backend(project):
    result = deploy(project, "dev", "--yes", PULUMI_CONFIG_PASSPHRASE="s3cret")
    assert result.returncode == 0, result.stderr
    recorded = (project.parent / "calls").read_text().splitlines()
    assert [line.split("|")[0] for line in recorded] == ["pulumi", "venv", "venv", "policy-venv", "pulumi", "pulumi"]
    assert calls(project, "venv")[1] == "file://~|-m kserve_triton validate --deployable --stack dev"
    assert calls(project, "pulumi")[1:] == [
        "file://~|stack select --create --secrets-provider passphrase dev",
        "file://~|up --stack dev --policy-pack policy --yes",
    ]


def test_the_virtualenvs_are_only_reinstalled_when_their_requirements_change(project):
    deploy(project, "dev", PULUMI_CONFIG_PASSPHRASE="x")
    (project.parent / "calls").unlink()
    deploy(project, "dev", PULUMI_CONFIG_PASSPHRASE="x")
    assert calls(project, "venv") == ["file://~|-m kserve_triton validate --deployable --stack dev"]
    assert calls(project, "policy-venv") == []


def test_no_policy_skips_the_policy_pack(project):
    assert deploy(project, "dev", "--no-policy", "--yes", PULUMI_CONFIG_PASSPHRASE="x").returncode == 0
    assert calls(project, "pulumi")[-1] == "file://~|up --stack dev --yes"
    assert calls(project, "policy-venv") == []


def test_an_invalid_stack_stops_before_pulumi_runs(project):
    stub(project / "venv" / "bin" / "python", "venv", 'if [[ "$2" == kserve_triton ]]; then exit 1; fi')
    result = deploy(project, "dev", PULUMI_CONFIG_PASSPHRASE="x")
    assert result.returncode == 1
    assert calls(project, "pulumi") == ["|version"], "only the version check ran"


def test_a_team_backend_and_secrets_provider_are_used_when_set(project):
    kms = "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/pulumi"
    result = deploy(project, "prod", PULUMI_BACKEND_URL="gs://team-pulumi-state", PULUMI_SECRETS_PROVIDER=kms)
    assert result.returncode == 0, result.stderr
    assert calls(project, "pulumi")[1:] == [
        f"gs://team-pulumi-state|stack select --create --secrets-provider {kms} prod",
        "gs://team-pulumi-state|up --stack prod --policy-pack policy",
    ]


def test_refuses_a_pulumi_cli_too_old_for_structured_settings(project):
    result = deploy(project, "dev", PULUMI_CONFIG_PASSPHRASE="x", FAKE_VERSION="v3.186.9")
    assert result.returncode == 2
    assert "Pulumi CLI 3.186.9 is too old: this project's structured settings need 3.187.0 or newer" in result.stderr
    assert calls(project, "venv") == []


def test_refuses_an_unknown_stack_and_names_the_known_ones(project):
    result = deploy(project, "staging", PULUMI_CONFIG_PASSPHRASE="x")
    assert result.returncode == 2
    assert "stacks here: dev embedded local prod shared-gpu" in result.stderr
    assert calls(project) == []


def test_refuses_to_run_without_a_passphrase_when_nobody_can_type_one(project):
    result = deploy(project, "dev")
    assert result.returncode == 2
    assert "PULUMI_CONFIG_PASSPHRASE" in result.stderr
    assert calls(project, "venv") == []
