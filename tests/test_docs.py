"""The user-facing descriptions of the configuration agree with the schema that enforces it."""

from __future__ import annotations

import yaml

from components import config
from conftest import ROOT


def test_readme_configuration_table_is_the_schema():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- config-table:start -->") + len("<!-- config-table:start -->")
    end = readme.index("<!-- config-table:end -->")
    assert readme[start:end].strip() == config.reference_table(), (
        "README configuration table is stale: regenerate it with `venv/bin/python -m components.config --update-readme`"
    )


def test_pulumi_yaml_declares_every_project_setting():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == config.PROJECT
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": "venv"}
    declared = project["config"]
    assert set(declared) == set(config.PROJECT_KEYS)
    for key, setting in declared.items():
        assert setting["description"], f"{key} has no description in Pulumi.yaml"
        fields = [row[0].split(".", 1)[1] for row in config.reference() if row[0].startswith(f"{key}.")]
        for field in {f.split(".")[0].split("[")[0] for f in fields}:
            assert field in setting["description"], f"Pulumi.yaml's {key} description omits {field}"


def test_readme_policy_table_lists_every_policy_at_its_level():
    from kserve_triton_policies import POLICIES

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("<!-- policy-table:start -->") : readme.index("<!-- policy-table:end -->")]
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip() for line in table.splitlines()[3:]}
    assert rows == {p.name: p.enforcement_level.value for p in POLICIES}
