"""The code's floors: facts about the world at the bottom (catalog/), settings above them, components on top of
both, and tools (the program, kserve_triton, embedded, the policy pack) above everything; no import goes up or
sideways between floors, so the packages form no cycle."""

from __future__ import annotations

import shutil

from tests.support.layering import cycles, package_graph, upward_imports
from tests.support.stacks import ROOT


def test_no_package_imports_from_its_own_floor_or_above():
    assert upward_imports(ROOT) == []


def test_the_packages_form_no_import_cycle():
    assert cycles(package_graph(ROOT)) == []


def test_the_facts_import_nothing_of_the_project():
    assert package_graph(ROOT)["catalog"] == set()


def test_a_settings_module_importing_a_component_is_caught(tmp_path):
    for package in ("catalog", "settings", "components"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "settings" / "leak.py").write_text("from components.triton_runtime import RUNTIME_NAME\n")

    assert upward_imports(tmp_path) == ["settings/leak.py (settings) imports components"]
    assert cycles(package_graph(tmp_path)) == [["components", "settings", "components"]]


def test_an_import_needed_only_for_type_checking_counts(tmp_path):
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "facts.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from settings import StackSettings\n"
    )
    assert upward_imports(tmp_path) == ["catalog/facts.py (catalog) imports settings"]


def test_a_cycle_is_reported_as_the_path_that_closes_it():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
