"""A stack file is read as the Pulumi CLI reads it (kserve_triton/stack_file.py): yaml.v3's scalars, its duplicate-key
and alias rules, the CLI's namespacing and key rules, and the text each value reaches the program as."""

from __future__ import annotations

import math

import pytest

from kserve_triton.__main__ import main
from kserve_triton.stack_file import (
    Secret,
    StackFileError,
    config_text,
    go_float,
    parse_timestamp,
    read_stack_file,
    resolve,
)

PROJECT = "kserve-triton"


def read(tmp_path, text: str, name: str = "Pulumi.t.yaml"):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return read_stack_file(path, PROJECT)


def refused(tmp_path, text: str) -> list[str]:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    with pytest.raises(StackFileError) as error:
        read_stack_file(path, PROJECT)
    return [problem.replace(str(path), "F") for problem in error.value.problems]


# --- yaml.v3's scalars (resolve.go) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # YAML 1.1's booleans are text in yaml.v3; only true/false in three spellings are booleans.
        ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("Yes", "Yes"),
        ("true", True), ("True", True), ("TRUE", True), ("false", False), ("tRue", "tRue"),
        ("~", None), ("null", None), ("", None), ("NULL", None),
        # Integers as Go's ParseInt(s, 0, 64) reads them once '_' is removed; 0777 is octal, 08 a float.
        ("42", 42), ("+42", 42), ("-7", -7), ("0x1F", 31), ("0o17", 15), ("0b101", 5), ("0777", 511), ("1_000", 1000),
        ("08", 8.0), ("9223372036854775807", 2**63 - 1), ("18446744073709551615", 2**64 - 1),
        ("18446744073709551616", 1.8446744073709552e19),  # beyond 64 bits: a float
        ("1.5", 1.5), (".5", 0.5), ("1e3", 1000.0), ("2.0", 2.0),
        ("1e400", "1e400"),  # outside float64: ParseFloat fails, the scalar stays text
        ("2024-01-31", "2024-01-31 00:00:00 +0000 UTC"),  # a timestamp, as Go's time.Time.String() prints it
        ("2024-13-01", "2024-13-01"), ("12:30", "12:30"), ("0x", "0x"),
    ],
)  # fmt: skip
def test_plain_scalars_resolve_as_yaml_v3_does(text, value):
    assert resolve("", text)[1] == value


@pytest.mark.parametrize(("text", "sign"), [(".nan", 0), (".NaN", 0), (".inf", 1), ("+.Inf", 1), ("-.INF", -1)])
def test_non_finite_floats_resolve_as_floats(text, sign):
    resolved = resolve("", text)[1]
    assert math.isnan(resolved) if sign == 0 else resolved == sign * math.inf


def test_explicit_tags_convert_or_are_refused_as_yaml_v3_does(tmp_path):
    stack = read(tmp_path, "config:\n  a:b: !!str 3\n  a:c: !!float 3\n  a:d: !!int '7'\n  a:e: !custom text\n")
    assert stack.config == {"a:b": "3", "a:c": 3.0, "a:d": 7, "a:e": "text"}
    assert refused(tmp_path, "config:\n  a:b: !!int abc\n") == [
        "F:2:8: YAML error: cannot decode !!str `abc` as a !!int"
    ]


def test_a_timestamp_with_a_zone_keeps_it():
    assert parse_timestamp("2001-12-14t21:59:43.10-05:00") == "2001-12-14 21:59:43.1 -0500 -0500"
    assert parse_timestamp("2001-12-14 21:59:43.10") == "2001-12-14 21:59:43.1 +0000 UTC"


# --- what the CLI refuses, with the line and column -----------------------------------------------------------------


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    text = "config:\n  kserve-triton:gpuNodePool:\n    maxNodes: 1\n    spot: true\n    maxNodes: 2\n"
    assert refused(tmp_path, text) == [
        'F:5: YAML error: mapping key "maxNodes" already defined at line 3 (the Pulumi CLI refuses a key given twice)'
    ]


def test_keys_are_compared_as_written_as_yaml_v3_compares_them(tmp_path):
    """'1' and 1 are the same key text: yaml.v3 refuses them together."""
    assert len(refused(tmp_path, "config:\n  a:b: {'1': x, 1: y}\n")) == 1


@pytest.mark.parametrize(
    ("value", "shown"), [(".nan", "NaN"), (".inf", "+Inf"), ("-.Inf", "-Inf")], ids=["nan", "inf", "-inf"]
)
def test_a_non_finite_number_in_a_config_value_is_refused(tmp_path, value, shown):
    text = f"config:\n  kserve-triton:inferenceServices:\n    - autoscaling: {{target: {value}}}\n"
    assert refused(tmp_path, text) == [
        f"F:3:29: {value}: not a number the Pulumi CLI can store in a stack's config (json: unsupported value: "
        f"{shown}); write a finite number"
    ]


def test_a_non_finite_number_outside_config_is_left_as_the_cli_leaves_it(tmp_path):
    assert read(tmp_path, "encryptionsalt: .nan\nconfig: {}\n").config == {}


def test_a_mapping_with_a_key_that_is_not_text_is_refused(tmp_path):
    assert refused(tmp_path, "config:\n  kserve-triton:triton: {1: a}\n") == [
        "F:2:25: YAML error: a mapping with a key that is not text; the Pulumi CLI reads only text keys (expected "
        "only string keys): quote the key"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config:\n  a:b: *nowhere\n", "F:2:8: YAML error: unknown anchor 'nowhere' referenced"),
        ("config:\n  a:b: &a [*a]\n", "F:2:12: YAML error: anchor 'a' value contains itself"),
        ("config:\n  a:b: {<<: [1, 2]}\n", "F:2:13: YAML error: map merge requires map or sequence of maps as the "
         "value"),
        ("config:\n  a:b: [1,\n", "F:3:1: YAML syntax error: expected the node content, but found '<stream end>'"),
        ("config:\n\ta:b: 1\n", "F:2:1: YAML syntax error: found character '\\t' that cannot start any token"),
        ("- a\n- b\n", "F: not a Pulumi stack file: its top level must be a mapping with a `config:` mapping"),
        ("config: [a, b]\n", "F:1:1: config: must be a mapping of `namespace:name: value` settings"),
        ("config:\n  a:b:c: 1\n", "F:2:3: a:b:c: not a configuration key, which the Pulumi CLI refuses: write "
         "namespace:name (one colon), e.g. kserve-triton:<setting>"),
        ("confg:\n  kserve-triton:production: true\n", "F:1:1: confg: not a stack file setting, so the Pulumi CLI "
         "would ignore it and everything under it; did you mean config?"),
        ("config:\n  cluster: {name: a}\n  kserve-triton:cluster: {name: b}\n", "F:3:3: kserve-triton:cluster: names "
         "kserve-triton:cluster, as cluster (line 2) does; the Pulumi CLI would keep one of the two at random: "
         "keep one"),
    ],
    ids=["unknown anchor", "recursive anchor", "bad merge", "syntax", "tab", "a list", "config a list", "bad key",
         "misspelt config", "namespaced twice"],
)  # fmt: skip
def test_what_the_cli_refuses_is_one_line_with_the_place(tmp_path, text, message):
    assert refused(tmp_path, text) == [message]


def test_bytes_that_are_not_yaml_text_are_one_line(tmp_path):
    assert refused(tmp_path, b"config:\n  a:b: \xff\n") == ["F:2: not UTF-8 text (byte 15): YAML files are UTF-8"]
    assert refused(tmp_path, "config:\n  a:b: \x07\n") == [
        "F: YAML syntax error: the character '\\x07' is not allowed in YAML text"
    ]


def test_an_alias_bomb_is_refused_as_yaml_v3_refuses_it(tmp_path):
    rows = ["a: &a [x,x,x,x,x,x,x,x,x,x]"] + [
        f"{b}: &{b} [{','.join([f'*{a}'] * 10)}]" for a, b in zip("abcde", "bcdef", strict=True)
    ]
    assert refused(tmp_path, "\n".join(rows) + "\nconfig: {}\n")[0].endswith("document contains excessive aliasing")


def test_nesting_beyond_any_stack_file_is_refused_without_parsing_it_all(tmp_path):
    problem = refused(tmp_path, "config:\n  a:b: " + "[" * 5000 + "]" * 5000 + "\n")
    assert problem == ["F:2:70: YAML error: nested deeper than 64 levels, which no stack file needs"]


# --- what the CLI accepts --------------------------------------------------------------------------------------------


def test_keys_without_a_namespace_are_the_projects(tmp_path):
    stack = read(tmp_path, "config:\n  production: true\n  gcp:project: p-123456\n  kserve-triton:config:triton: {}\n")
    assert stack.config == {"kserve-triton:production": True, "gcp:project": "p-123456", "kserve-triton:triton": {}}
    assert stack.where["kserve-triton:production"] == (2, 3)


def test_merges_keep_the_keys_written_and_only_the_first_document_counts(tmp_path):
    text = "base: &base {gpus: 1, minReplicas: 1}\nconfig:\n  a:b: {<<: *base, minReplicas: 2}\n---\nconfig: [\n"
    assert read(tmp_path, text).config == {"a:b": {"gpus": 1, "minReplicas": 2}}


def test_other_top_level_keys_are_ignored_as_the_cli_ignores_them(tmp_path):
    """A place for YAML anchors is not a typo; only a key that looks like a stack file setting is."""
    assert read(tmp_path, "x-defaults: &d {gpus: 1}\nconfig:\n  a:b: *d\n").config == {"a:b": {"gpus": 1}}


def test_a_byte_order_mark_is_stripped_as_the_cli_strips_it(tmp_path):
    assert read(tmp_path, b"\xef\xbb\xbfconfig:\n  a:b: 1\n").config == {"a:b": 1}


def test_an_empty_file_is_an_empty_config(tmp_path):
    assert read(tmp_path, "# nothing yet\n").config == {}


def test_encrypted_values_are_kept_as_secrets(tmp_path):
    stack = read(tmp_path, "config:\n  a:b: {secure: v1:abc}\n  a:c: {x: {secure: v1:def}}\n")
    assert stack.config == {"a:b": Secret("v1:abc"), "a:c": {"x": Secret("v1:def")}}


# --- the text the program gets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("yes", "yes"), (True, "true"), (3, "3"), (1.5, "1.5"), (None, ""),
        ({"b": 2.0, "a": [1e16, 1e21, 1e-7, 0.5]}, '{"a":[10000000000000000,1e+21,1e-7,0.5],"b":2}'),
        ([None, "x"], '[null,"x"]'),
    ],
)  # fmt: skip
def test_values_reach_the_program_as_the_cli_writes_them(value, text):
    """Go's encoding/json: `2.0` arrives as `2` (an integer to the program), `1e16` without an exponent."""
    assert config_text(value) == text


@pytest.mark.parametrize(
    ("number", "text"),
    [(0.0, "0"), (100.0, "100"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e-7, "1.5e-7"),
     (1e-6, "0.000001"), (1e100, "1e+100"), (-2.5, "-2.5"), (123456789.125, "123456789.125")],
)  # fmt: skip
def test_floats_are_formatted_as_go_formats_them(number, text):
    assert go_float(number) == text


def test_validate_reads_yes_as_text_and_refuses_it_for_a_flag(tmp_path, capsys):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text("config:\n  kserve-triton:cluster: {existing: {context: kind}}\n  kserve-triton:production: yes\n")
    assert main(["validate", str(path)]) == 1
    assert "  - production: 'yes' is not allowed: must be true or false" in capsys.readouterr().err


def test_validate_reports_every_duplicate_key_of_a_file(tmp_path, capsys):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text("config:\n  a:b: {x: 1, x: 2}\n  a:c: {y: 1, y: 2}\n")
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f'{path}:2: YAML error: mapping key "x" already defined at line 2 (the Pulumi CLI refuses a key given twice)',
        f'{path}:3: YAML error: mapping key "y" already defined at line 3 (the Pulumi CLI refuses a key given twice)',
    ]
