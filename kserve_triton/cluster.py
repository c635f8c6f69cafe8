"""`python -m kserve_triton cluster ...`: the embedded cluster (embedded/) from the command line.

cluster up [--dir D] [--stack NAME] [--deploy]   start it, GPU nodes shaped like the stack's (default
                                                 `embedded`); --deploy then runs the real `pulumi up` of the
                                                 stack and returns when its InferenceServices are Ready
cluster deploy [--dir D] [--stack NAME]          `pulumi up` of the stack into the running cluster
cluster destroy [--dir D] [--stack NAME]         `pulumi destroy` of that stack
cluster status [--dir D]                         what runs, and where
cluster down [--dir D]                           stop everything (the state directory stays)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def stack_settings(stack: str):
    """A stack file's settings, read as the Pulumi CLI reads the file and validated as the program validates them."""
    from kserve_triton.offline import ROOT, stack_config  # the Pulumi SDK: not in the smoke-test virtualenv
    from settings import parse

    raw: dict[str, Any] = {}
    for key, value in stack_config(ROOT / f"Pulumi.{stack}.yaml").items():
        namespace, _, name = key.partition(":")
        if namespace == "kserve-triton":
            raw[name] = value
        elif namespace == "gcp":
            raw.setdefault("gcp", {})[name] = value
    return parse(raw)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("cluster", help="the embedded cluster: real parts built from source, on loopback")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, text in (
        ("up", "start the cluster (and with --deploy, `pulumi up` the stack into it)"),
        ("deploy", "`pulumi up` a stack into the running cluster, through the real engine"),
        ("destroy", "`pulumi destroy` that stack"),
        ("status", "what runs, and where"),
        ("down", "stop the cluster"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--dir", type=Path, help="the cluster's state directory (default: ~/.local/state/...)")
        if name in ("up", "deploy", "destroy"):
            action.add_argument("--stack", default="embedded", help="the stack (default: embedded)")
        if name == "up":
            action.add_argument("--deploy", action="store_true", help="then `pulumi up` the stack")
            action.add_argument("--no-policy", action="store_true", help="deploy without the policy pack")
        if name == "deploy":
            action.add_argument("--no-policy", action="store_true", help="without the policy pack")


def run(args: argparse.Namespace) -> int:
    from embedded.cluster import EmbeddedCluster, gpu_nodes_for, prometheus_port

    cluster = EmbeddedCluster(args.dir)
    if args.action == "status":
        status = cluster.status()
        print(json.dumps(status, indent=1))
        return 0 if status.get("ready") else 1
    if args.action == "down":
        cluster.down()
        print(f"stopped the embedded cluster in {cluster.dir}")
        return 0
    if args.action == "up":
        stack = stack_settings(args.stack)
        try:
            timings = cluster.up(gpu_nodes_for(stack), prometheus_port=prometheus_port(stack))
        except RuntimeError as error:
            print(f"cluster up: {error}", file=sys.stderr)
            return 1
        shown = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        print(f"embedded cluster ready ({shown}): KUBECONFIG={cluster.kubeconfig} (context kserve-triton-embedded)")
        if not args.deploy:
            return 0
    return _engine(cluster, args)


def _engine(cluster, args: argparse.Namespace) -> int:
    from pulumi import automation as auto

    from embedded.engine import Engine

    engine = Engine(
        cluster.dir / "engine", cluster.kubeconfig, stack=args.stack, policy=not getattr(args, "no_policy", False)
    )
    try:
        if args.action == "destroy":
            engine.destroy(on_output=print)
        else:
            result = engine.up(on_output=print)
            ready = result.outputs.get("inferenceServices")
            print(f"\nReady: {json.dumps(ready.value if ready else {}, indent=1)}")
    except auto.CommandError as error:
        print(f"\ncluster {args.action}: pulumi failed (its output is above)", file=sys.stderr)
        print(str(error).strip().splitlines()[-1] if str(error).strip() else "", file=sys.stderr)
        return 1
    return 0
