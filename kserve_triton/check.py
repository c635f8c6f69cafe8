"""Check stack files exactly as `pulumi up` would, and report only the problems.

Each stack runs the real `__main__.py` under Pulumi's mocks: its first statement, `settings.load()`, is what
refuses a bad configuration on a real `pulumi up`, and running the rest proves the program can declare
every resource for it. Problems are collected per stack, so one bad file never hides another's."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from kserve_triton.offline import ROOT, OfflineRun, StackFileError, stack_config, stack_file_for, stack_name


@dataclass
class Outcome:
    stack_file: Path
    problems: list[str] = field(default_factory=list)
    """One line per problem: a refused setting, a YAML syntax error, or a program failure."""
    heading: str = ""
    result: Any = None

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """`namespace:key=value` pairs, value read as YAML (as `pulumi config set` would store it)."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or ":" not in key:
            raise ValueError(f"--config {pair!r}: write namespace:key=value, e.g. gcp:project=my-project")
        overrides[key] = yaml.safe_load(value) if value else ""
    return overrides


def check(
    stack: str | Path,
    overrides: dict[str, Any] | None = None,
    program_dir: Path = ROOT,
    then: Callable[[Path, dict[str, Any]], Any] | None = None,
) -> Outcome:
    """Validate one stack; with `then`, also run it (e.g. render) once it is valid."""
    from settings import ConfigError  # the program's own settings, imported after the mocks' engine exists

    stack_file = stack_file_for(stack, program_dir)
    outcome = Outcome(stack_file)
    if not stack_file.is_file():
        known = ", ".join(sorted(stack_name(p) for p in program_dir.glob("Pulumi.*.yaml")))
        outcome.problems = [f"{stack_file}: no such stack file (stacks of this project: {known})"]
        return outcome
    try:
        config = {**stack_config(stack_file), **(overrides or {})}
        run = OfflineRun(stack_name(stack_file))
        run.configure(config)
        run.run_main(program_dir)
        if then is not None:
            outcome.result = then(stack_file, overrides or {})
    except StackFileError as error:
        outcome.problems = [str(error)]
    except ConfigError as error:
        outcome.heading = "invalid configuration (nothing would be created)"
        outcome.problems = [str(problem) for problem in error.problems]
    except Exception as error:  # a crash of the program itself: reported, not hidden behind a traceback
        outcome.heading = "the program failed on this configuration"
        outcome.problems = [f"{type(error).__name__}: {error}"]
    return outcome


def report(outcome: Outcome, success: str, out: TextIO, err: TextIO) -> None:
    name = outcome.stack_file.name if outcome.stack_file.parent == ROOT else str(outcome.stack_file)
    if outcome.ok:
        print(f"{name}: {success}", file=out, flush=True)
        return
    if outcome.heading:
        print(f"{name}: {outcome.heading}:", file=err)
        for problem in outcome.problems:
            print(f"  - {problem}", file=err)
    else:
        print(outcome.problems[0], file=err)
    err.flush()
