"""What every settings model shares: how a refusal is reported, and how YAML scalars are read.

The YAML rule, applied to every setting through the field types below (a test checks that no setting uses
another scalar type):

- A **text** setting (a quantity, a version, a tag, a name) takes a YAML string, and also a YAML number,
  read as the text it was written as: `cpu: 4` is "4", `modelFormatVersion: 1` is "1", `cpu: 0.5` is "0.5".
- A **count** setting takes a YAML integer, or a string holding exactly an integer (`"2"`), which is what
  `pulumi config set` writes. `1.5`, `true` and `"two"` are refused.
- A **flag** takes `true`/`false`, or the strings "true"/"false" in any case. `yes`, `on` and `1` are refused:
  YAML 1.2 (the Pulumi CLI's) reads them as text, and guessing would hide a typo.
- A **number** (a target, a rate) takes a YAML integer or float, or a string holding one (`"0.5"`); it must be
  finite (NaN and infinity are refused: the Pulumi CLI cannot even store them, see kserve_triton/stack_file.py).
- A **quantity** (CPU, memory, disk) is a text setting in any unit Kubernetes takes (catalog/kubernetes.py):
  `0.5`, `500m`, `5e-1`; `16Gi`, `16G`, `17179869184`, `16384Mi`; compared by value.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pulumi
from pydantic import AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Strict
from pydantic.alias_generators import to_camel

from catalog.kubernetes import parse_quantity

PROJECT = "kserve-triton"
PROJECT_DIR = Path(__file__).resolve().parent.parent
"""Where Pulumi.yaml is: relative paths in the stack config are read from here, as `pulumi up` runs there."""
"""The project's config namespace: settings are `kserve-triton:<key>` in a stack file."""


MISSING = object()
"""The value of a required setting that is absent."""


def shown(value: Any) -> str:
    """A setting's value as a user would write it in YAML, never a Python object's repr."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_unset=True, mode="json")
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


@dataclass(frozen=True)
class Problem:
    """One refused setting: where it is (dotted, camelCase), what it was, and what is allowed."""

    setting: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        if self.value is MISSING:
            return f"{self.setting}: {self.allowed}"
        return f"{self.setting}: {shown(self.value)} is not allowed: {self.allowed}"


class SettingsError(ValueError):
    """Raised by cross-field checks; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.setting}: {p.allowed}" for p in problems))
        self.problems = problems


class ConfigError(pulumi.RunError):
    """The stack configuration is invalid; nothing has been created.

    A `RunError` makes `pulumi up` print the message without a Python traceback.
    """

    def __init__(self, problems: list[Problem]):
        lines = [f"  - {problem}" for problem in problems]
        super().__init__("Invalid stack configuration (nothing was created):\n" + "\n".join(lines))
        self.problems = problems


class Settings(BaseModel):
    """Stack settings are camelCase in YAML; unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True, use_attribute_docstrings=True)


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise SettingsError(problems)


# --- the YAML scalar rule -------------------------------------------------------------------------------


def _number_as_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _integer_text(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
        return int(value)
    return value


def _number_text(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", value):
        return float(value)  # may overflow to infinity, which the finite rule then refuses
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float (JSON text may hold one): refused as not finite
            return math.inf
    return value


def _flag_text(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


Text = Annotated[str, BeforeValidator(_number_as_text), Strict()]
"""A text setting: YAML strings, and numbers as the text they were written as."""
Count = Annotated[int, BeforeValidator(_integer_text), Strict()]
"""A whole-number setting: YAML integers, and strings holding exactly an integer."""
Flag = Annotated[bool, BeforeValidator(_flag_text), Strict()]
"""A true/false setting: YAML booleans, and the strings "true" and "false"."""
Number = Annotated[float, BeforeValidator(_number_text), Strict(), AllowInfNan(False)]
"""A number setting: YAML integers and floats, and strings holding one; finite."""

RULE_READERS = (_number_as_text, _integer_text, _flag_text, _number_text)
"""How Text, Count and Flag read a YAML scalar; the tests check every setting uses one (or a Literal)."""


# --- names and quantities -------------------------------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def cpu_millis(quantity: str) -> int:
    """Millicores of a CPU quantity in any Kubernetes unit (`2`, `0.5`, `500m`, `5e-1`), rounded up as Kubernetes
    rounds a quantity to a thousandth."""
    parsed = parse_quantity(quantity)
    if parsed is None:
        raise ValueError(f"not a quantity: {quantity}")
    return math.ceil(parsed.millis)


def memory_mib(quantity: str) -> int:
    """Whole mebibytes of a memory quantity in any Kubernetes unit (`16Gi`, `16G`, `17179869184`, `1e9`), rounded
    down."""
    parsed = parse_quantity(quantity)
    if parsed is None:
        raise ValueError(f"not a quantity: {quantity}")
    return math.floor(parsed.mebibytes)
