"""Command line:

python -m kserve_triton validate [--stack NAME | FILE ...] [--config KEY=VALUE ...] [--deployable]
python -m kserve_triton render [--stack NAME | FILE ...] [--out rendered/] [--config KEY=VALUE ...]
python -m kserve_triton smoke-test --url http://127.0.0.1:8080 [--model NAME] [--request FILE] [--json]
python -m kserve_triton smoke-test --isvc torchscript-cifar10 --namespace models [--context CTX]
python -m kserve_triton cold-start --isvc torchscript-cifar10 [--namespace models] [--context CTX] [--json]
python -m kserve_triton cluster up|deploy|destroy|status|down [--dir D] [--stack embedded] [--deploy]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kserve_triton import cluster, cold_start  # stdlib only at import, like the smoke test

ROOT = Path(__file__).resolve().parent.parent


def _stacks(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[list[str], list[tuple[str, str]]]:
    from kserve_triton.check import parse_overrides

    try:
        overrides = parse_overrides(args.config or [])
    except ValueError as error:
        parser.error(str(error))
    stacks = [*(args.stack or []), *(args.files or [])]
    return stacks or sorted(str(p) for p in ROOT.glob("Pulumi.*.yaml")), overrides


def _validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from kserve_triton.check import check, report  # needs the Pulumi SDK, which the smoke-test venv lacks

    stacks, overrides = _stacks(args, parser)
    outcomes = [check(stack, overrides, deployable=args.deployable) for stack in stacks]
    for outcome in outcomes:
        report(outcome, "valid", sys.stdout, sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1


def _render(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from kserve_triton.check import PLACEHOLDER_PROJECT, check, report
    from kserve_triton.render import render

    stacks, overrides = _stacks(args, parser)
    outcomes = [
        check(stack, overrides, then=lambda file, config: render(file, args.out, config=config)) for stack in stacks
    ]
    for outcome in outcomes:
        placeholder = f" with the placeholder gcp:project {PLACEHOLDER_PROJECT}" if outcome.step else ""
        report(outcome, f"rendered into {outcome.result}{placeholder}", sys.stdout, sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1


def _smoke_test(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from kserve_triton.smoke import PortForward, SmokeCheckError, SmokeTest, target_from_url

    if (args.url is None) == (args.isvc is None):
        parser.error("give either --url or --isvc (with --namespace)")
    request = None
    if args.request is not None:
        try:
            request = json.loads(args.request.read_text())
        except (OSError, ValueError) as error:
            parser.error(f"--request {args.request}: {error}")
        if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
            parser.error(f"--request {args.request}: not a V2 inference request (no 'inputs' list)")

    def run(target):
        if args.no_grpc:
            target = type(target)(target.http_url, None, target.metrics_url)
        if args.no_metrics:
            target = type(target)(target.http_url, target.grpc_address, None)
        return SmokeTest(target, args.model, request, timeout=args.timeout).run()

    try:
        if args.url is not None:
            report = run(target_from_url(args.url, args.grpc, args.metrics))
        else:
            with PortForward(args.isvc, args.namespace, args.context) as target:
                report = run(target)
    except SmokeCheckError as failure:
        print(f"smoke test failed: {failure}", file=sys.stderr)
        return 1
    print(report.as_json() if args.json else report.as_text())
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kserve_triton")
    commands = parser.add_subparsers(dest="command", required=True)

    def stack_arguments(command: argparse.ArgumentParser, verb: str) -> None:
        command.add_argument("files", nargs="*", metavar="FILE", help=f"a Pulumi.<stack>.yaml file to {verb}")
        command.add_argument(
            "--stack", action="append", metavar="NAME", help=f"a stack of this project to {verb} (Pulumi.NAME.yaml)"
        )
        command.add_argument(
            "--config",
            action="append",
            metavar="KEY=VALUE",
            help="a setting on top of the file's, as `pulumi config set --path KEY VALUE` would store it, e.g. "
            "gcp:project=my-project or kserve-triton:gpuNodePool.maxNodes=3 (repeatable, applied in order)",
        )

    validate = commands.add_parser("validate", help="check stack files as `pulumi up` would; print only problems")
    stack_arguments(validate, "check (default: every stack of this project)")
    validate.add_argument(
        "--deployable",
        action="store_true",
        help="also require what only a deploy needs (gcp:project on a GKE stack), as scripts/deploy does",
    )
    render = commands.add_parser("render", help="render stacks offline (no cloud, no Pulumi CLI)")
    stack_arguments(render, "render (default: every stack of this project)")
    render.add_argument("--out", type=Path, default=Path("rendered"), help="output directory (default: rendered/)")

    smoke = commands.add_parser("smoke-test", help="check a Triton InferenceService over the V2 protocol")
    where = smoke.add_argument_group("where the server is (one of)")
    where.add_argument("--url", help="base HTTP URL, e.g. http://127.0.0.1:8080 from kubectl port-forward")
    where.add_argument("--isvc", help="InferenceService name: port-forward to its predictor with kubectl")
    smoke.add_argument("--namespace", "-n", default="models", help="namespace of --isvc (default: models)")
    smoke.add_argument("--context", help="kubeconfig context for --isvc (default: the current one)")
    smoke.add_argument("--grpc", help="gRPC address host:port (default: the --url host, port 9000)")
    smoke.add_argument("--metrics", help="metrics URL (default: http://<--url host>:8002/metrics)")
    smoke.add_argument("--no-grpc", action="store_true", help="skip the gRPC checks")
    smoke.add_argument("--no-metrics", action="store_true", help="skip the metrics check")
    smoke.add_argument("--model", help="Triton model name (default: the server's only ready model)")
    smoke.add_argument("--request", type=Path, help="V2 inference request JSON (default: zeros from the metadata)")
    smoke.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default: 10)")
    smoke.add_argument("--json", action="store_true", help="print the report as JSON")

    cold_start.add_parser(commands)
    cluster.add_parser(commands)

    args = parser.parse_args(argv)
    if args.command == "validate":
        return _validate(args, validate)
    if args.command == "render":
        return _render(args, render)
    if args.command == "cold-start":
        return cold_start.run_command(args)
    if args.command == "cluster":
        return cluster.run(args)
    return _smoke_test(args, smoke)


if __name__ == "__main__":
    sys.exit(main())
