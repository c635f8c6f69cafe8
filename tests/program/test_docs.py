"""The user-facing descriptions of the configuration agree with the schema that enforces it."""

from __future__ import annotations

import re

import yaml

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
