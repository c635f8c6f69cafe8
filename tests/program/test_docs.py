"""The user-facing descriptions of the configuration agree with the schema that enforces it."""

from __future__ import annotations

import re

import pytest
import yaml

from kserve_triton.offline import OfflineRun
from settings import reference
from settings.stack import PROJECT_KEYS
from tests.support.stacks import ROOT

UPDATE = "regenerate it with `venv/bin/python -m settings --update-docs`"


def test_readme_configuration_table_is_the_schema():
    readme = (ROOT / "README.md").read_text()
    start = readme.index(reference.TABLE_START) + len(reference.TABLE_START)
    end = readme.index(reference.TABLE_END)
    assert readme[start:end].strip() == reference.reference_table(), f"README configuration table is stale: {UPDATE}"


def test_readme_sizing_tables_are_the_catalogs_arithmetic():
    readme = (ROOT / "README.md").read_text()
    start = readme.index(reference.SIZING_START) + len(reference.SIZING_START)
    end = readme.index(reference.SIZING_END)
    assert readme[start:end].strip() == reference.sizing_markdown(), f"README sizing tables are stale: {UPDATE}"


def test_pulumi_yaml_config_block_is_the_schema():
    text = (ROOT / "Pulumi.yaml").read_text()
    assert text.endswith(reference.pulumi_config_text()), f"Pulumi.yaml's config block is stale: {UPDATE}"
    project = yaml.safe_load(text)
    assert project["name"] == "kserve-triton"
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": "venv"}
    assert list(project["config"]) == list(PROJECT_KEYS)
    assert project["config"]["production"]["type"] == "boolean"
    assert project["config"]["inferenceServices"]["type"] == "array"
    # Every setting of every object is named in its description, nested ones too.
    for setting, _, _ in reference.reference():
        key, _, rest = setting.partition(".")
        if key in project["config"] and rest:
            for part in rest.replace("[]", "").split("."):
                assert part in project["config"][key]["description"], f"Pulumi.yaml's {key} omits {part}"


def test_readme_policy_table_lists_every_policy_at_its_level():
    from kserve_triton_policies import POLICIES

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("<!-- policy-table:start -->") : readme.index("<!-- policy-table:end -->")]
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip() for line in table.splitlines()[3:]}
    assert rows == {p.name: p.enforcement_level.value for p in POLICIES}


REPO_DIRS = ("catalog", "settings", "components", "kserve_triton", "embedded", "policy", "tests", "scripts",
             "bootstrap", ".github", ".ci")  # fmt: skip
CREATED_WHEN_RUN = {"policy/venv"}  # the policy pack's virtualenv, made by the Pulumi CLI on first use


def test_every_project_path_the_readme_names_exists():
    readme = (ROOT / "README.md").read_text()
    named = {path for path in re.findall(r"`([A-Za-z_.][\w.-]*/[\w./-]*)`", readme) if path.split("/")[0] in REPO_DIRS}
    assert named, "the README names no project path"
    assert sorted(path for path in named if not (ROOT / path).exists() and path not in CREATED_WHEN_RUN) == []


# --- the README's promises are what the code does -----------------------------------------------------------------


def _readme_table(start: str, end: str) -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index(start) + len(start) : readme.index(end)].strip().splitlines()
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in table[2:]]


PROMISES = _readme_table("<!-- production-promises:start -->", "<!-- production-promises:end -->")


def test_the_production_table_lists_what_the_settings_refuse():
    """Every production refusal of the settings has a row, and every row a refusal (checked below)."""
    assert [row[1].strip("`") for row in PROMISES] == [
        "cluster.location",
        "cluster.releaseChannel",
        "cluster.systemNodePool.minNodes",
        "cluster.privateNodes",
        "cluster.deletionProtection",
        "cluster.protect",
        "kserve.protectCrds",
        "gpuNodePool.spot",
        "inferenceServices[0].minReplicas",
    ]


@pytest.mark.parametrize("row", PROMISES, ids=[row[1].strip("`") for row in PROMISES])
def test_each_production_promise_of_the_readme_is_refused_when_broken(row):
    from kserve_triton.config_path import set_path
    from kserve_triton.offline import OfflineRun
    from settings import ConfigError
    from tests.support.stacks import deployable_config

    setting, value = row[1].strip("`"), row[2].strip("`")
    kept = OfflineRun()
    kept.configure(deployable_config(ROOT / "Pulumi.prod.yaml"))
    kept.run_main(reuse=True)  # the shipped production stack keeps every promise
    assert kept.monitor.nodes

    broken = deployable_config(ROOT / "Pulumi.prod.yaml")
    set_path(broken, f"kserve-triton:{setting}", value, "kserve-triton")  # as `--config` / `pulumi config set --path`
    run = OfflineRun()
    run.configure(broken)
    with pytest.raises(ConfigError) as refused:
        run.run_main()
    assert setting in [problem.setting for problem in refused.value.problems], str(refused.value)
    assert run.monitor.nodes == {}


def test_the_shipped_gke_stacks_have_no_project_as_a_fresh_clone_has_none():
    """What the quick start below is run against."""
    from tests.support.stacks import STACK_FILES, stack_config

    for path in STACK_FILES:
        assert "gcp:project" not in stack_config(path), path


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") : readme.index("## Set up")]
    commands = re.findall(r"`(venv/bin/python -m kserve_triton (?:validate|render)[^`]*)`", quick_start)
    commands += [
        line.split("#")[0].strip()
        for line in quick_start.splitlines()
        if line.startswith("venv/bin/python -m kserve_triton ")
    ]
    render = readme[readme.index("## See it before shipping it: offline renders") :]
    commands.append(
        next(line for line in render.splitlines() if line.startswith("venv/bin/python -m kserve_triton render"))
        .split("#")[0]
        .strip()
    )
    return commands


def test_the_quick_start_works_as_written_on_a_fresh_clone(tmp_path, monkeypatch, capsys):
    from kserve_triton.__main__ import main

    commands = _quick_start_commands()
    assert {c.split()[3] for c in commands} == {"validate", "render"} and len(commands) == 3, commands
    monkeypatch.chdir(tmp_path)  # render writes rendered/ where it is run
    for command in commands:
        argv = command.split()[3:]
        assert main(argv) == 0, (command, capsys.readouterr())
    out = capsys.readouterr().out
    assert "Pulumi.dev.yaml: valid; before deploying it, set its GCP project" in out
    assert (tmp_path / "rendered" / "dev" / "apply-order.txt").exists()


def test_the_layout_table_lists_every_stack_file():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("| Path | What |") :].split("\n\n")[0]
    listed = set(re.findall(r"`(Pulumi\.[\w-]+\.yaml)`", layout))
    assert listed == {path.name for path in ROOT.glob("Pulumi.*.yaml")}


def test_the_cli_requires_only_what_the_program_requires():
    """The Pulumi CLI refuses a stack that leaves out a declared key without a default ("Stack 'dev' is missing
    configuration value ..."): every setting but `cluster` declares what leaving it out means."""
    block = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert {key for key, entry in block.items() if "default" not in entry} == {"cluster"}
    assert {key: entry["default"] for key, entry in block.items() if "default" in entry} == {
        "production": False,
        "gpuNodePool": {},
        "kserve": {},
        "triton": {},
        "imageCache": {},
        "modelStorage": {},
        "inferenceServices": [],
    }


def test_the_clis_defaults_mean_what_leaving_the_settings_out_means(pulumi_mocks):
    """What the CLI gives the program for the keys a stack leaves out is read as not written."""
    block = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    local = {"kserve-triton:cluster": {"existing": {"context": "kind"}}}
    defaults = {f"kserve-triton:{key}": entry["default"] for key, entry in block.items() if "default" in entry}
    pulumi_mocks.configure({**defaults, **local})
    pulumi_mocks.run_main()
    with_defaults = sorted(n.name for n in pulumi_mocks.monitor.nodes.values())
    without = OfflineRun()
    without.configure(local)
    without.run_main()
    assert with_defaults == sorted(n.name for n in without.monitor.nodes.values())
