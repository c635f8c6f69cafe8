"""No input file makes `python -m kserve_triton validate FILE` show a Python exception: random bytes, random YAML,
and the shipped stack files mutated the ways people get them wrong, each checked exactly as the command checks it.

Bounded for the regular suite; `KSERVE_TRITON_FUZZ_EXAMPLES=2000 venv/bin/python -m pytest -m "not triton"
tests/kserve_triton/test_validate_fuzz.py` runs a longer campaign (the examples per test)."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kserve_triton.__main__ import main
from kserve_triton.check import check, report
from tests.support.stacks import STACK_FILES

EXAMPLES = int(os.environ.get("KSERVE_TRITON_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="KSERVE_TRITON_FUZZ_EXAMPLES" not in os.environ,  # the regular suite is repeatable
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SHIPPED = [path.read_text() for path in STACK_FILES]

# What a stack file's scalars get replaced with: YAML 1.1 booleans, non-finite and absurd numbers, other types,
# references, tags and quoting that changes the type.
SCALARS = [
    "yes", "no", "on", "off", "y", "~", "null", "", "''", '""', ".nan", ".inf", "-.inf", "1e400", "1e16", "0x1F",
    "0777", "08", "1_000", "-1", "0", "2.0", "99999999999999999999999", "2147483648", "true", "True", "2024-01-31",
    "!!int abc", "!!bool yes", "!!binary aGk=", "[]", "{}", "[a, b]", "{a: 1}", "*nowhere", "&a 1", "'1Gi'", "1Gi",
    "1.5G", "5e-1", "500m", "0.0001", "8Ei", "tritonserver:25.01-py3", "nvcr.io/nvidia/tritonserver:25.13-py3",
    "nvcr.io/nvidia/tritonserver:25.01-py3-sdk", "n2-standard-4", "a2-highgpu-1g", "europe-west4-a", "us-central1",
    "STABLE", "RAPID", "gs://elsewhere/x", "oci://x/y:1", "{secure: abc}", "<<", "- x",
]  # fmt: skip


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.randrange(7)
    index = rng.randrange(len(lines))
    line = lines[index]
    if kind == 0 and ":" in line:  # replace a value
        key = line.split(":", 1)[0] if not line.lstrip().startswith("- ") else line
        lines[index] = f"{key}: {rng.choice(SCALARS)}" if ":" in key else line
    elif kind == 1:  # drop a line
        del lines[index]
    elif kind == 2:  # repeat a line (duplicate keys)
        lines.insert(index, line)
    elif kind == 3:  # indent or dedent it
        lines[index] = (" " * rng.choice([1, 2, 4]) + line) if rng.random() < 0.5 else line.lstrip()
    elif kind == 4:  # empty a concern
        lines[index] = line.split(":", 1)[0] + ":" if ":" in line else line
    elif kind == 5:  # a list where a mapping was, or the reverse
        lines[index] = line.replace(": ", ": - ", 1) if ": " in line else "- " + line.lstrip()
    else:  # a stray character
        position = rng.randrange(len(line) + 1)
        lines[index] = line[:position] + rng.choice("\t:{}[],&*!|>'\"#%@`") + line[position:]
    return "\n".join(lines) + "\n"


def _assert_no_exception_reaches_the_user(path: Path) -> None:
    outcome = check(path)
    assert not outcome.heading.startswith("the program failed"), (path.read_text(), outcome.problems)
    out, err = io.StringIO(), io.StringIO()
    report(outcome, "valid", out, err)
    text = out.getvalue() + err.getvalue()
    assert text.strip() and "Traceback" not in text
    if not outcome.ok:
        assert all(problem.strip() and "\n" not in problem for problem in outcome.problems), outcome.problems


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), base=st.sampled_from(range(len(SHIPPED))), steps=st.integers(1, 4))
def test_mutated_stack_files_get_lines_not_exceptions(tmp_path_factory, seed, base, steps):
    rng = random.Random(seed)
    text = SHIPPED[base]
    for _ in range(steps):
        text = _mutate(text, rng)
    path = tmp_path_factory.mktemp("fuzz") / "Pulumi.fuzz.yaml"
    path.write_text(text)
    _assert_no_exception_reaches_the_user(path)


_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=12), st.sampled_from(SCALARS)
)
_value = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_keys = st.sampled_from(
    ["kserve-triton:cluster", "kserve-triton:gpuNodePool", "kserve-triton:triton", "kserve-triton:inferenceServices",
     "kserve-triton:kserve", "kserve-triton:production", "cluster", "gcp:project", "gcp:region", "other:key", "a:b:c"]
)  # fmt: skip


@FUZZ
@given(config=st.dictionaries(_keys, _value, max_size=4))
def test_random_settings_get_lines_not_exceptions(tmp_path_factory, config):
    import json

    path = tmp_path_factory.mktemp("fuzz") / "Pulumi.fuzz.yaml"
    # JSON is YAML: every value, including NaN and huge numbers, as a YAML parser meets it.
    path.write_text("config: " + json.dumps(config, default=str).replace("NaN", ".nan").replace("Infinity", ".inf"))
    _assert_no_exception_reaches_the_user(path)


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_get_lines_not_exceptions(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "Pulumi.fuzz.yaml"
    path.write_bytes(data)
    _assert_no_exception_reaches_the_user(path)


@pytest.mark.parametrize(
    "text",
    [
        "config:\n  kserve-triton:cluster: " + "[" * 5000 + "]" * 5000 + "\n",  # deep nesting, refused fast
        "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nconfig: {x:y: *e}\n",  # alias bomb
        "config:\n  kserve-triton:triton: &t {image: *t}\n",  # an anchor inside itself
        "\ufeffconfig:\n  kserve-triton:cluster: {existing: {context: kind}}\n",  # a byte-order mark
    ],
    ids=["deep", "alias bomb", "recursive anchor", "byte-order mark"],
)
def test_hostile_files_get_lines_quickly(tmp_path, text):
    path = tmp_path / "Pulumi.hostile.yaml"
    path.write_text(text)
    _assert_no_exception_reaches_the_user(path)


def test_the_command_itself_never_raises_on_a_directory_or_a_missing_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path), str(tmp_path / "Pulumi.nothing.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path}: is a directory, not a stack file" in err
    assert "Pulumi.nothing.yaml: no such stack file" in err
