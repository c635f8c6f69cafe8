"""`--config KEY=VALUE` stores a setting as `pulumi config set --path KEY VALUE` would store it
(kserve_triton/config_path.py)."""

from __future__ import annotations

import re

import pytest

from kserve_triton.__main__ import main
from kserve_triton.check import parse_overrides
from kserve_triton.config_path import ConfigPathError, coerce, parse_config_key, parse_property_path, set_path
from tests.support.stacks import ROOT

PROJECT = "kserve-triton"


@pytest.mark.parametrize(
    ("path", "elements"),
    [
        ("root", ["root"]),
        ("root.nested", ["root", "nested"]),
        ('root["nested"]', ["root", "nested"]),
        ("root.array[0].nested", ["root", "array", 0, "nested"]),
        ('root["key with a ."][1]', ["root", "key with a .", 1]),
        ('["root key \\"quoted\\""].x', ['root key "quoted"', "x"]),
        ("root.array[*]", ["root", "array", "*"]),
        ("foo-bar", ["foo-bar"]),
    ],
)
def test_property_paths_parse_as_pulumis(path, elements):
    assert parse_property_path(path) == elements


@pytest.mark.parametrize("path", [".a", "a.", "a.[0]", "a[0", 'a["b', 'a["b"x', "a[x]"])
def test_malformed_property_paths_are_refused(path):
    with pytest.raises(ConfigPathError):
        parse_property_path(path)


@pytest.mark.parametrize(
    ("key", "setting", "path"),
    [
        ("gcp:project", "gcp:project", []),
        ("kserve-triton:gpuNodePool.maxNodes", "kserve-triton:gpuNodePool", ["maxNodes"]),
        ("gpuNodePool.maxNodes", "kserve-triton:gpuNodePool", ["maxNodes"]),  # the project's namespace by default
        ("kserve-triton:inferenceServices[0].minReplicas", "kserve-triton:inferenceServices", [0, "minReplicas"]),
    ],
)
def test_config_keys_split_into_the_setting_and_a_path(key, setting, path):
    assert parse_config_key(key, PROJECT) == (setting, path)


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("false", False), ("3", 3), ("-3", -3), ("0", 0), ("007", "007"), ("1.5", "1.5"), ("yes", "yes")],
)
def test_nested_values_are_coerced_as_the_cli_coerces_them(text, value):
    assert coerce(text) == value


def test_a_top_level_value_is_always_text():
    config = {}
    set_path(config, "kserve-triton:production", "true", PROJECT)
    assert config == {"kserve-triton:production": "true"}


def test_paths_create_maps_and_lists_and_append_one_past_the_end():
    config = {"kserve-triton:inferenceServices": [{"name": "a"}]}
    set_path(config, "kserve-triton:gpuNodePool.maxNodes", "3", PROJECT)
    set_path(config, "kserve-triton:inferenceServices[1].name", "b", PROJECT)
    set_path(config, "kserve-triton:inferenceServices[0].gpus", "2", PROJECT)
    set_path(config, "kserve-triton:cluster.zones[1]", "x", PROJECT)  # a new list has index+1 items
    assert config == {
        "kserve-triton:gpuNodePool": {"maxNodes": 3},
        "kserve-triton:inferenceServices": [{"name": "a", "gpus": 2}, {"name": "b"}],
        "kserve-triton:cluster": {"zones": [None, "x"]},
    }


def test_a_scalar_at_the_top_is_replaced_by_the_container_deeper_it_is_an_error():
    config = {"kserve-triton:triton": "text", "kserve-triton:kserve": {"version": "v0.20.0"}}
    set_path(config, "kserve-triton:triton.cpu", "2", PROJECT)
    assert config["kserve-triton:triton"] == {"cpu": 2}
    with pytest.raises(ConfigPathError, match=r'kserve-triton:kserve.version holds "v0.20.0", not a map'):
        set_path(config, "kserve-triton:kserve.version.x", "1", PROJECT)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("kserve-triton:inferenceServices[5].name", "has 1 item(s): index 5 is out of range"),
        ("kserve-triton:inferenceServices.name", "is a list: index it with [0], [1], ..."),
        ("kserve-triton:gpuNodePool[0]", "is a map: name its key"),
        ("kserve-triton:x.secure", 'a map whose only key is "secure" is how Pulumi stores a secret'),
    ],
)
def test_paths_the_cli_refuses_are_refused(key, message):
    config = {"kserve-triton:inferenceServices": [{}], "kserve-triton:gpuNodePool": {"maxNodes": 1}}
    with pytest.raises(ConfigPathError, match=re.escape(message)):
        set_path(config, key, "v", PROJECT)


def test_pairs_are_key_equals_value_and_a_quoted_key_may_hold_an_equals_sign():
    assert parse_overrides(["gcp:project=p", "'kserve-triton:a=b'=c", "kserve-triton:x=a=b"]) == [
        ("gcp:project", "p"),
        ("kserve-triton:a=b", "c"),
        ("kserve-triton:x", "a=b"),
    ]
    with pytest.raises(ValueError, match="write KEY=VALUE"):
        parse_overrides(["gcp:project"])


def test_validate_applies_paths_on_top_of_the_file(capsys):
    assert main(["validate", "--stack", "dev", "--config", "gcp:project=my-project",
                 "--config", "kserve-triton:inferenceServices[0].maxReplicas=2"]) == 0  # fmt: skip
    assert main(["validate", "--stack", "dev", "--config", "kserve-triton:gpuNodePool.zones[0]=europe-west4-a"]) == 1
    err = capsys.readouterr().err
    assert "  - gpuNodePool.zones[0]: 'europe-west4-a' is not allowed: must be a zone of the cluster's region" in err


def test_a_path_the_file_cannot_take_is_one_line(capsys):
    assert main(["validate", "--stack", "dev", "--config", "kserve-triton:gpuNodePool.spot.x=1"]) == 1
    assert capsys.readouterr().err == (
        f"{ROOT / 'Pulumi.dev.yaml'}: --config kserve-triton:gpuNodePool.spot.x=1: "
        "kserve-triton:gpuNodePool.spot holds true, not a map\n"
    )
