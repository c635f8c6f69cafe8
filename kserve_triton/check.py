"""Check stack files exactly as `pulumi up` would, and report only the problems.

Each stack file is read as the Pulumi CLI reads it (`kserve_triton/stack_file.py`), `--config` settings are applied as
`pulumi config set --path` applies them (`kserve_triton/config_path.py`), and the real `__main__.py` runs under
Pulumi's mocks: its first statement, `settings.load()`, is what refuses a bad configuration on a real `pulumi up`, and
running the rest proves the program can declare every resource for it. Problems are collected per stack, so one bad
file never hides another's.

Two things are not the program's own checks:
- A GKE stack file without `gcp:project` (as this project ships them) is the one step left before a deploy, not a
  mistake in the file: it is reported as that step, and everything else is checked with PLACEHOLDER_PROJECT. With
  `deployable=True` (`validate --deployable`, what `scripts/deploy` runs) it is a problem like any other.
- The policy pack's GPU-node cap (`gpu-pool-bounded`, mandatory, run by `scripts/deploy` and CI): a GPU pool above it
  would be stopped by the policy pack, so validate reports it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kserve_triton.config_path import ConfigPathError, parse_config_key, set_path
from kserve_triton.offline import PROJECT, ROOT, OfflineRun, stack_config, stack_file_for, stack_name
from kserve_triton.stack_file import StackFileError, secrets_in

PLACEHOLDER_PROJECT = "your-project-id"
"""The GCP project a stack without one is checked (and rendered) with; it never reaches a real deploy."""
POLICY_MAX_GPU_NODES = 32
"""The policy pack's default cap on a GPU pool's nodes (`policy/kserve_triton_policies/common.py`
DEFAULT_MAX_GPU_NODES, policy config `maxGpuNodes`); a test keeps the two equal."""

Override = tuple[str, str]


@dataclass
class Outcome:
    stack_file: Path
    problems: list[str] = field(default_factory=list)
    """One line per problem: a refused setting, a stack file the Pulumi CLI would refuse, or a program failure."""
    heading: str = ""
    result: Any = None
    step: str = ""
    """What is left to do before a deploy, when the file is otherwise valid (its missing project)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_overrides(pairs: Iterable[str]) -> list[Override]:
    """`KEY=VALUE` pairs, as `pulumi config set --path KEY VALUE` takes them (the key may be quoted to hold an `=`).
    ValueError names a pair that is not one."""
    overrides = []
    for pair in pairs:
        text = pair
        if text[:1] in ("'", '"'):  # parseKeyValuePair: a quoted key ends at its quote followed by '='
            quote = text[0]
            key, sep, value = text[1:].partition(f"{quote}=")
        else:
            key, sep, value = text.partition("=")
        if not sep or not key:
            raise ValueError(
                f"--config {pair!r}: write KEY=VALUE, e.g. gcp:project=my-project or "
                "kserve-triton:gpuNodePool.maxNodes=3 (a `pulumi config set --path` key)"
            )
        try:
            parse_config_key(key, PROJECT)
        except ConfigPathError as error:
            raise ValueError(f"--config {pair!r}: {error}") from None
        overrides.append((key, value))
    return overrides


def configured(stack_file: Path, overrides: Iterable[Override] = ()) -> dict[str, Any]:
    """The stack file's config with each `--config` applied in order, as the Pulumi CLI would store them."""
    config = stack_config(stack_file)
    for key, value in overrides:
        try:
            set_path(config, key, value, PROJECT)
        except ConfigPathError as error:
            raise StackFileError([f"{stack_file}: --config {key}={value}: {error}"]) from None
    return config


def check(
    stack: str | Path,
    overrides: Iterable[Override] = (),
    program_dir: Path = ROOT,
    then: Callable[[Path, dict[str, Any]], Any] | None = None,
    deployable: bool = False,
) -> Outcome:
    """Validate one stack; with `then`, also run it (e.g. render, given the file and its config) once it is valid."""
    from settings import ConfigError  # the program's own settings, imported after the mocks' engine exists

    stack_file = stack_file_for(stack, program_dir)
    outcome = Outcome(stack_file)
    if not stack_file.is_file():
        known = ", ".join(sorted(stack_name(p) for p in program_dir.glob("Pulumi.*.yaml")))
        what = "is a directory, not a stack file" if stack_file.is_dir() else "no such stack file"
        outcome.problems = [f"{stack_file}: {what} (stacks of this project: {known})"]
        return outcome
    try:
        config = configured(stack_file, overrides)
        encrypted = _encrypted_settings(config)
        if encrypted:
            outcome.heading = "cannot be checked offline"
            outcome.problems = encrypted
            return outcome
        try:
            settings = _run(stack_file, config, program_dir)
        except ConfigError as refused:
            if deployable or not _only_the_project_is_missing(refused):
                raise
            config = {**config, "gcp:project": PLACEHOLDER_PROJECT}
            outcome.step = (
                "before deploying it, set its GCP project: "
                f"pulumi config set gcp:project <your-project-id> --stack {stack_name(stack_file)}"
            )
            settings = _run(stack_file, config, program_dir)
        policy = policy_problems(settings)
        if policy:
            outcome.heading = "refused by the policy pack (scripts/deploy and CI run it)"
            outcome.problems = policy
            return outcome
        if then is not None:
            outcome.result = then(stack_file, config)
    except StackFileError as error:
        outcome.problems = list(error.problems)
    except ConfigError as error:
        outcome.heading = "invalid configuration (nothing would be created)"
        outcome.problems = [str(problem) for problem in error.problems]
    except Exception as error:  # a crash of the program itself: reported, not hidden behind a traceback
        outcome.heading = "the program failed on this configuration (a bug: please report it)"
        outcome.problems = [f"{type(error).__name__}: {error}"]
    return outcome


def _run(stack_file: Path, config: dict[str, Any], program_dir: Path) -> Any:
    """Run the program on `config`; returns its settings (ConfigError when it refuses them)."""
    from settings import load

    run = OfflineRun(stack_name(stack_file))
    run.configure(config)
    run.run_main(program_dir)
    return load()  # the same config is still set: the settings the program ran with


def _only_the_project_is_missing(refused: Exception) -> bool:
    problems = getattr(refused, "problems", [])
    return len(problems) == 1 and problems[0].setting == "gcp:project" and "is required" in problems[0].allowed


def _encrypted_settings(config: dict[str, Any]) -> list[str]:
    """Settings this program reads that hold an encrypted value: only the Pulumi CLI can decrypt them."""
    read = [key for key in config if key.startswith(f"{PROJECT}:") or key in ("gcp:project", "gcp:region")]
    return [
        f"{key}: holds an encrypted (secure:) value, which only the Pulumi CLI can decrypt, so it cannot be checked "
        "here; no setting of this program is a secret: write it in plain text"
        for key in read
        if secrets_in(config[key])
    ]


def policy_problems(settings: Any) -> list[str]:
    """What the policy pack's mandatory `gpu-pool-bounded` would stop, in the settings' words."""
    pool = getattr(settings, "gpu_node_pool", None)
    if pool is None or pool.max_nodes <= POLICY_MAX_GPU_NODES:
        return []
    return [
        f"gpuNodePool.maxNodes: {pool.max_nodes} is not allowed: the policy pack's gpu-pool-bounded caps a GPU pool at "
        f"{POLICY_MAX_GPU_NODES} nodes (policy config maxGpuNodes), and scripts/deploy and CI stop there: lower "
        "maxNodes, or raise maxGpuNodes in the policy pack's config"
    ]


def report(outcome: Outcome, success: str, out: TextIO, err: TextIO) -> None:
    name = outcome.stack_file.name if outcome.stack_file.parent == ROOT else str(outcome.stack_file)
    if outcome.ok:
        step = f"; {outcome.step}" if outcome.step else ""
        print(f"{name}: {success}{step}", file=out, flush=True)
        return
    if outcome.heading:
        print(f"{name}: {outcome.heading}:", file=err)
        for problem in outcome.problems:
            print(f"  - {problem}", file=err)
    else:
        for problem in outcome.problems:
            print(problem, file=err)
    err.flush()
