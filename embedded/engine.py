"""The real Pulumi engine running this project: the Pulumi CLI and pulumi-resource-kubernetes built from Go modules
(the `pulumi` and `pulumi-kubernetes` parts), driving the real `__main__.py`.

The Python language host (`pulumi-language-python`) cannot be built here (its module has no tags the Go module
proxy serves), so the program runs as an Automation API inline program: the SDK serves the program itself over
gRPC and passes `--client` to the CLI, which then starts no language host. Everything else is what `pulumi up`
does: the CLI's engine, the stack file and `Pulumi.yaml`'s config schema, the provider plugin, Helm releases,
`pulumi.com/waitFor`, the policy pack, a `file://` backend and passphrase secrets.

- The work directory holds copies of `Pulumi.yaml` and the stack file, so the CLI's writes (the passphrase's
  `encryptionsalt`) never touch the repository; config overrides for tests are merged into that copy.
- The provider is installed into a private PULUMI_HOME under the version the Python SDK asks for, from the binary
  the part built; the CLI warns that the binary reports its own version (the proxy serves only v4.25.0:
  README, "The embedded cluster"). Automatic plugin downloads and the update check are off.
- The policy pack: Pulumi 3.276 runs a pack directory through the language host, which is missing, but it starts a
  pack given as an executable file directly; `policy_shim` writes one that runs `python -m pulumi.policy` in
  `policy/` with this interpreter (which has pulumi-policy, requirements-dev.txt).
"""

from __future__ import annotations

import copy
import importlib.metadata
import os
import runpy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from embedded import parts

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "kserve-triton"
PASSPHRASE = "embedded-cluster"  # the state lives on this machine only: its secrets are the kubeconfig's context
PARTS = ("pulumi", "pulumi-kubernetes")


def unavailable() -> str | None:
    """Why the engine cannot run here (a skip reason), or None."""
    missing = [p.name for p in parts.parts(list(PARTS)) if not p.built()]
    return f"parts not built: run python3 -m embedded.parts build {' '.join(missing)}" if missing else None


def run_program() -> None:
    """The inline program: the project's own `__main__.py`, as `pulumi up` runs it."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


class Engine:
    """One stack of this project on a local backend in `state_dir`, deployed into the cluster of `kubeconfig`."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        kubeconfig: str | os.PathLike[str],
        stack: str = "embedded",
        program: Callable[[], None] = run_program,
        policy: bool = True,
        extra_env: dict[str, str] | None = None,
    ):
        self.dir = Path(state_dir).resolve()
        self.kubeconfig = Path(kubeconfig).resolve()
        self.stack_name = stack
        self.program = program
        self.policy = policy
        self.extra_env = dict(extra_env or {})
        self.work_dir = self.dir / "project"
        self.home = self.dir / "pulumi-home"
        (cli,) = parts.parts(["pulumi"])
        (provider,) = parts.parts(["pulumi-kubernetes"])
        self.cli_root = cli.home(parts.go_version())
        self.provider_bin = provider.bin_dir()

    # ------------------------------------------------------------------ set-up

    @property
    def env(self) -> dict[str, str]:
        return {
            "PULUMI_BACKEND_URL": f"file://{self.dir / 'state'}",
            "PULUMI_HOME": str(self.home),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.cli_root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            **self.extra_env,
        }

    def _install_provider(self) -> None:
        version = importlib.metadata.version("pulumi_kubernetes")
        installed = self.home / "plugins" / f"resource-kubernetes-v{version}"
        binary = self.provider_bin / "pulumi-resource-kubernetes"
        marker = installed / ".installed-from"
        if marker.is_file() and marker.read_text() == str(binary.stat().st_mtime_ns):
            return
        subprocess.run(
            [str(self.cli_root / "bin" / "pulumi"), "plugin", "install", "resource", "kubernetes", version,
             "--file", str(binary), "--reinstall"],
            env={**os.environ, **self.env}, check=True, capture_output=True, text=True,
        )  # fmt: skip
        marker.write_text(str(binary.stat().st_mtime_ns))

    def _write_project(self, overrides: dict[str, Any] | None) -> None:
        """Pulumi.yaml and the stack file, copied; overrides (`namespace:key` -> value) merged into the config."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        stack_file = ROOT / f"Pulumi.{self.stack_name}.yaml"
        source = (yaml.safe_load(stack_file.read_text()) if stack_file.exists() else None) or {}
        target = self.work_dir / f"Pulumi.{self.stack_name}.yaml"
        previous = yaml.safe_load(target.read_text()) if target.exists() else {}
        document = copy.deepcopy(source)
        document.setdefault("config", {}).update(overrides or {})
        if previous and "encryptionsalt" in previous:
            document["encryptionsalt"] = previous["encryptionsalt"]
        target.write_text(yaml.safe_dump(document, sort_keys=False))

    def policy_shim(self) -> Path:
        shim = self.dir / "policy-pack"
        shim.write_text(
            "#!/bin/sh\n"
            "# The kserve-triton policy pack for a CLI without pulumi-language-python: the engine's address is the\n"
            "# last argument.\n"
            'for engine in "$@"; do :; done\n'
            f'cd "{ROOT / "policy"}" && exec "{sys.executable}" -u -m pulumi.policy "$engine" .\n'
        )
        shim.chmod(0o755)
        return shim

    def stack(self, overrides: dict[str, Any] | None = None) -> auto.Stack:
        (self.dir / "state").mkdir(parents=True, exist_ok=True)
        self._install_provider()
        self._write_project(overrides)
        options = auto.LocalWorkspaceOptions(
            work_dir=str(self.work_dir),
            pulumi_home=str(self.home),
            pulumi_command=auto.PulumiCommand(root=str(self.cli_root)),
            env_vars=self.env,
            secrets_provider="passphrase",
        )
        return auto.create_or_select_stack(self.stack_name, project_name=PROJECT, program=self.program, opts=options)

    # ------------------------------------------------------------------ operations

    def _policy(self) -> dict[str, Any]:
        return {"policy_packs": [str(self.policy_shim())]} if self.policy else {}

    def up(self, overrides: dict[str, Any] | None = None, on_output: Callable[[str], None] | None = None):
        return self.stack(overrides).up(on_output=on_output, color="never", **self._policy())

    def preview(self, overrides: dict[str, Any] | None = None, on_output: Callable[[str], None] | None = None):
        return self.stack(overrides).preview(on_output=on_output, color="never", diff=True, **self._policy())

    def destroy(self, on_output: Callable[[str], None] | None = None):
        return self.stack().destroy(on_output=on_output, color="never")

    def outputs(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.stack().outputs().items()}
