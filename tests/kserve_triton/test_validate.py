"""`python -m kserve_triton validate`: stack files checked exactly as `pulumi up` checks them, problems only."""

from __future__ import annotations

import subprocess
import sys

import yaml

from kserve_triton.__main__ import main
from tests.support.stacks import ROOT, TEST_PROJECT

PROJECT = f"gcp:project={TEST_PROJECT}"


def write_stack(path, config):
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def test_every_stack_of_the_project_is_valid_once_it_has_a_project(capsys):
    assert main(["validate", "--config", PROJECT]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "Pulumi.dev.yaml: valid",
        "Pulumi.embedded.yaml: valid",
        "Pulumi.local.yaml: valid",
        "Pulumi.prod.yaml: valid",
        "Pulumi.shared-gpu.yaml: valid",
    ]
    assert err == ""


def test_the_shipped_dev_stack_is_valid_and_names_its_one_step_left(capsys):
    assert main(["validate", "--stack", "dev"]) == 0
    out, err = capsys.readouterr()
    assert out == (
        "Pulumi.dev.yaml: valid; before deploying it, set its GCP project: "
        "pulumi config set gcp:project <your-project-id> --stack dev\n"
    )
    assert err == ""


def test_a_deploy_needs_the_project_the_file_lacks(capsys):
    """scripts/deploy runs `validate --deployable`: there the missing project stops it."""
    assert main(["validate", "--deployable", "--stack", "dev"]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines() == [
        "Pulumi.dev.yaml: invalid configuration (nothing would be created):",
        "  - gcp:project: is required for a GKE cluster: run `pulumi config set gcp:project <your-project-id>`",
    ]


def test_the_missing_project_is_not_the_only_thing_checked(tmp_path, capsys):
    """With another problem in the file, the project is reported next to it, and the stack is refused."""
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text((ROOT / "Pulumi.dev.yaml").read_text().replace("gs://kfserving-examples/", "gs://someone-else/"))
    assert main(["validate", str(bad)]) == 1
    _, err = capsys.readouterr()
    assert "  - gcp:project: is required for a GKE cluster" in err
    assert "  - inferenceServices[0].storageUri: 'gs://someone-else/models/torchscript' is not allowed" in err


def test_every_given_stack_is_checked_even_when_one_fails(tmp_path, capsys):
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text("config:\n  kserve-triton:cluster:\n    existing: {context: kind-kserve\n")
    refused = write_stack(
        tmp_path / "Pulumi.team.yaml",
        {"kserve-triton:cluster": {"existing": {"context": "kind"}}, "kserve-triton:triton": {"cpu": "lots"}},
    )
    good = write_stack(tmp_path / "Pulumi.ok.yaml", {"kserve-triton:cluster": {"existing": {"context": "kind"}}})

    assert main(["validate", str(broken), str(refused), str(good)]) == 1

    out, err = capsys.readouterr()
    assert out == f"{good}: valid\n"
    assert err.splitlines() == [
        f"{broken}:4:1: YAML syntax error: expected ',' or '}}', but got '<stream end>'",
        f"{refused}: invalid configuration (nothing would be created):",
        "  - triton.cpu: 'lots' is not allowed: must be a CPU quantity of at least 100m, such as 500m, 2 or 3.5 (any "
        "Kubernetes unit: 0.5, 500m, 5e-1)",
    ]


def test_an_unknown_stack_name_lists_the_stacks_there_are(capsys):
    assert main(["validate", "--stack", "staging"]) == 1
    assert (
        "Pulumi.staging.yaml: no such stack file (stacks of this project: dev, embedded, local, prod, shared-gpu)"
        in capsys.readouterr().err
    )


def test_a_file_that_is_not_a_stack_file_is_named(tmp_path, capsys):
    listing = tmp_path / "Pulumi.list.yaml"
    listing.write_text("- a\n- b\n")
    assert main(["validate", str(listing)]) == 1
    assert f"{listing}: not a Pulumi stack file" in capsys.readouterr().err


def test_the_command_prints_problems_and_no_traceback(tmp_path):
    bad = write_stack(tmp_path / "Pulumi.bad.yaml", {"kserve-triton:gpuNodePool": {"maxNodes": 0}})
    result = subprocess.run(
        [sys.executable, "-m", "kserve_triton", "validate", str(bad)],
        cwd=tmp_path,  # any directory: the file is found by its path
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "  - cluster: is required" in result.stderr
    assert "  - gpuNodePool.maxNodes: 0 is not allowed: Input should be greater than or equal to 1" in result.stderr


# --- what validate adds to the program's own checks ---------------------------------------------------------------


def test_the_policy_packs_gpu_node_cap_is_the_one_validate_reports():
    from kserve_triton_policies.common import DEFAULT_MAX_GPU_NODES

    from kserve_triton.check import POLICY_MAX_GPU_NODES

    assert POLICY_MAX_GPU_NODES == DEFAULT_MAX_GPU_NODES


def test_a_gpu_pool_above_the_policy_packs_cap_is_reported(capsys):
    config = ["--config", PROJECT, "--config", "kserve-triton:gpuNodePool.maxNodes=33"]
    assert main(["validate", "--stack", "dev", *config]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "Pulumi.dev.yaml: refused by the policy pack (scripts/deploy and CI run it):",
        "  - gpuNodePool.maxNodes: 33 is not allowed: the policy pack's gpu-pool-bounded caps a GPU pool at 32 nodes "
        "(policy config maxGpuNodes), and scripts/deploy and CI stop there: lower maxNodes, or raise maxGpuNodes in "
        "the policy pack's config",
    ]
    assert main(["validate", "--stack", "dev", "--config", PROJECT, "--config", "gpuNodePool.maxNodes=32"]) == 0


def test_an_encrypted_setting_of_this_program_cannot_be_checked_and_says_so(tmp_path, capsys):
    stack = tmp_path / "Pulumi.s.yaml"
    stack.write_text("config:\n  kserve-triton:cluster: {existing: {context: kind}}\n  kserve-triton:triton:\n"
                     "    secure: v1:AAAA\n  other:token: {secure: v1:BBBB}\n")  # fmt: skip
    assert main(["validate", str(stack)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{stack}: cannot be checked offline:",
        "  - kserve-triton:triton: holds an encrypted (secure:) value, which only the Pulumi CLI can decrypt, so it "
        "cannot be checked here; no setting of this program is a secret: write it in plain text",
    ]


def test_a_stack_file_the_cli_refuses_is_refused_with_its_place(tmp_path, capsys):
    stack = tmp_path / "Pulumi.d.yaml"
    stack.write_text("config:\n  kserve-triton:cluster:\n    existing: {context: kind}\n    existing: {context: b}\n")
    assert main(["validate", str(stack)]) == 1
    assert capsys.readouterr().err == (
        f'{stack}:4: YAML error: mapping key "existing" already defined at line 3 (the Pulumi CLI refuses a key '
        "given twice)\n"
    )


def test_settings_without_their_namespace_are_the_projects_as_pulumi_reads_them(tmp_path, capsys):
    stack = write_stack(tmp_path / "Pulumi.bare.yaml", {"cluster": {"existing": {"context": "kind"}}})
    assert main(["validate", str(stack)]) == 0
    assert capsys.readouterr().out == f"{stack}: valid\n"
