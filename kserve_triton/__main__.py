"""Command line: `python -m kserve_triton render --stack dev --out rendered/`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kserve_triton.offline import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kserve_triton")
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render stacks offline (no cloud, no Pulumi CLI)")
    stacks = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    render.add_argument("--stack", action="append", choices=stacks, help="a stack to render (repeatable); default all")
    render.add_argument("--out", type=Path, default=Path("rendered"), help="output directory (default: rendered/)")
    args = parser.parse_args(argv)

    if args.command == "render":
        from kserve_triton.render import render as render_stack

        for stack in args.stack or stacks:
            target = render_stack(stack, args.out)
            print(f"{stack}: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
