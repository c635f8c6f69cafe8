"""Prototype: the real Pulumi CLI and pulumi-resource-kubernetes (built by `python3 -m embedded.parts build pulumi
pulumi-kubernetes`) running Automation API *inline* programs offline. Rough; to be folded into the harness.

Run it with a Python that has pulumi, pulumi-kubernetes and pulumi-policy installed (see requirements.txt and
policy/requirements.txt):

    python embedded/prototypes/pulumi_inline.py output              # (a) an `up` with one stack output
    python embedded/prototypes/pulumi_inline.py k8s [--via path|project|install]
                                                                     # (b) Provider + ConfigMap against 127.0.0.1:1
    python embedded/prototypes/pulumi_inline.py policy [--pack-as shim|dir]
                                                                     # (c) the project's policy pack on a preview

Everything lives in a fresh temporary directory: a `file://` backend, a PULUMI_HOME with no plugins in it, and a
passphrase secrets provider. Automatic plugin downloads and the update check are off, so a missing plugin is an
error, never a download.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pulumi
from pulumi import automation as auto

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from embedded import parts  # noqa: E402

UNREACHABLE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: nobody
  user:
    token: not-a-token
contexts:
- name: nowhere
  context: {cluster: nowhere, user: nobody}
current-context: nowhere
"""


def part_bin(name: str) -> Path:
    (part,) = parts.parts([name])
    if not part.built():
        raise SystemExit(f"part {name} is not built: python3 -m embedded.parts build {name}")
    return part.bin_dir()


def policy_shim(directory: Path, pack: Path) -> Path:
    """An executable analyzer for a Python policy pack, for a CLI without pulumi-language-python.

    Pulumi 3.276 runs a policy pack *directory* through the language host's RunPlugin (so it needs
    pulumi-language-python), but launches a policy pack *path that is an executable file* directly, passing the
    engine address as the last argument (pkg/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer). The pack's
    own entry point, `python -m pulumi.policy ENGINE PROGRAM`, ships in the PyPI `pulumi` package.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "kserve-triton-policy"
    shim.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        # The engine address is the last argument (any --logtostderr, -v=N, --tracing X come first).
        for engine in "$@"; do :; done
        cd {str(pack)!r} && exec {sys.executable!r} -u -m pulumi.policy "$engine" .
        """)
    )
    shim.chmod(0o755)
    return shim


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["output", "k8s", "policy"])
    parser.add_argument(
        "--via",
        choices=["path", "project", "install"],
        default="path",
        help="how the CLI finds pulumi-resource-kubernetes",
    )
    parser.add_argument(
        "--pack-as",
        choices=["shim", "dir"],
        default="shim",
        help="pass the policy pack as an executable shim or as its directory",
    )
    parser.add_argument(
        "--project-yaml",
        type=Path,
        help="put this Pulumi.yaml (say the project's own: runtime python, virtualenv venv) in the "
        "work dir, to show that --client ignores its runtime",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    cli_bin = part_bin("pulumi")
    k8s_bin = part_bin("pulumi-kubernetes") if args.case != "output" else None
    scratch = Path(tempfile.mkdtemp(prefix="pulumi-inline-"))
    state, home, work = scratch / "state", scratch / "home", scratch / "work"
    for d in (state, home, work):
        d.mkdir()
    kubeconfig = scratch / "unreachable.kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)

    path = [str(cli_bin)]
    env = {
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_HOME": str(home),
        "PULUMI_CONFIG_PASSPHRASE": "prototype",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "KUBECONFIG": str(kubeconfig),  # only so that nothing falls back to ~/.kube/config
    }
    if k8s_bin is None:
        pass
    elif args.via == "path":
        path.append(str(k8s_bin))
    elif args.via == "project":
        # ProjectSettings has no `plugins` field, so the inline workspace reads a Pulumi.yaml we write.
        (work / "Pulumi.yaml").write_text(
            textwrap.dedent(f"""\
            name: prototype
            runtime: python
            plugins:
              providers:
              - name: kubernetes
                path: {k8s_bin}
            """)
        )
    elif args.via == "install":
        version = "4.34.2"  # what the PyPI SDK asks for; the binary inside is the one we built
        subprocess.run(
            [
                str(cli_bin / "pulumi"),
                "plugin",
                "install",
                "resource",
                "kubernetes",
                version,
                "--file",
                str(k8s_bin / "pulumi-resource-kubernetes"),
            ],
            check=True,
            env={**os.environ, **env, "PATH": os.pathsep.join([*path, os.environ["PATH"]])},
        )
    env["PATH"] = os.pathsep.join([*path, os.environ["PATH"]])
    if args.project_yaml:
        if args.via == "project":
            raise SystemExit("--project-yaml and --via project both write the work dir's Pulumi.yaml")
        shutil.copy(args.project_yaml, work / "Pulumi.yaml")
    if k8s_bin is not None and args.via != "path":
        env["PULUMI_IGNORE_AMBIENT_PLUGINS"] = "true"

    import pulumi_kubernetes as k8s

    def output_program() -> None:
        pulumi.export("greeting", "hello from an inline program")

    def k8s_program() -> None:
        provider = k8s.Provider("unreachable", kubeconfig=str(kubeconfig))
        k8s.core.v1.ConfigMap("probe", data={"a": "b"}, opts=pulumi.ResourceOptions(provider=provider))

    def policy_program() -> None:
        provider = k8s.Provider("unreachable", kubeconfig=str(kubeconfig))
        # Violates the pack's MANDATORY "images-pinned" and others: checked on Analyze, before any create.
        k8s.apiextensions.CustomResource(
            "bad-isvc",
            api_version="serving.kserve.io/v1beta1",
            kind="InferenceService",
            metadata={"name": "bad", "namespace": "default"},
            spec={
                "predictor": {
                    "model": {"modelFormat": {"name": "triton"}, "storageUri": "oci://x/y:latest"},
                    "containers": [{"name": "c", "image": "nvcr.io/nvidia/tritonserver:latest"}],
                }
            },
            opts=pulumi.ResourceOptions(provider=provider),
        )
        pulumi.export("ok", True)

    if args.case == "policy" and args.pack_as == "dir":
        # The notes' route: the pack's directory, with the old `pulumi-analyzer-policy-python` plugin on PATH
        # (it was started as `<engine> . -k=v...` in the pack's directory). Pulumi 3.276 no longer looks for it.
        old = scratch / "analyzer"
        old.mkdir()
        (old / "pulumi-analyzer-policy-python").write_text(
            f'#!/bin/sh\nexec {sys.executable!r} -u -m pulumi.policy "$1" .\n'
        )
        (old / "pulumi-analyzer-policy-python").chmod(0o755)
        env["PATH"] = f"{old}{os.pathsep}{env['PATH']}"

    program = {"output": output_program, "k8s": k8s_program, "policy": policy_program}[args.case]
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(work),
        pulumi_home=str(home),
        pulumi_command=auto.PulumiCommand(root=str(cli_bin.parent)),  # runs <root>/bin/pulumi
        env_vars=env,
        secrets_provider="passphrase",
    )
    print(f"scratch: {scratch}\nCLI: {opts.pulumi_command.command} {opts.pulumi_command.version}")
    stack = auto.create_or_select_stack("prototype", project_name="prototype", program=program, opts=opts)
    rc = 0
    try:
        if args.case == "output":
            result = stack.up(on_output=print)
            print("outputs:", {k: v.value for k, v in result.outputs.items()})
        elif args.case == "k8s":
            try:
                stack.up(on_output=print)
                print("UNEXPECTED: up succeeded against 127.0.0.1:1")
                rc = 1
            except auto.CommandError as e:
                # The provider's own error: the plugin loaded, took the SDK's Provider config and dialled the cluster.
                ok = "configured Kubernetes cluster is unreachable" in str(e)
                print("up failed as expected" if ok else "up failed otherwise", str(e)[-3000:])
                rc = 0 if ok else 2
        else:
            pack = REPO / "policy"
            packs = [str(policy_shim(scratch / "shim", pack))] if args.pack_as == "shim" else [str(pack)]
            try:
                stack.preview(on_output=print, policy_packs=packs)
                print("UNEXPECTED: the preview passed the policy pack")
                rc = 1
            except auto.CommandError as e:
                # The program breaks MANDATORY policies on purpose: the pack ran if they are reported.
                ran = "[mandatory]  images-pinned" in str(e)
                print("preview refused by the policy pack, as expected" if ran else "preview failed:\n", str(e)[-4000:])
                rc = 0 if ran else 2
        print("plugins in PULUMI_HOME:", sorted(p.name for p in (home / "plugins").glob("*")))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
