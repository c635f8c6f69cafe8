"""Build the real parts from Go modules, each cached under a directory keyed by its version and wrapper.

Every part is a small wrapper module of the project's own in `embedded/go/<part>/`: a `go.mod` (and `go.sum`)
that requires the upstream module at a pinned release and carries the `replace` lines its own go.mod has (Go
refuses `go install` of a module with replaces), an optional `main` package of our own, and a `part.toml`:

    version = "v3.276.0"                       # the upstream release built (what the binaries report)
    [programs]                                 # output name = Go package to build
    pulumi = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
    [build]
    ldflags = "-X github.com/.../version.Version=v3.276.0"
    prepare = "prepare"                        # optional: an executable in the wrapper run first
                                               # (with PART_DIR, PART_OUT, PART_WORK in its environment)

A part is built once into `<cache>/parts/<part>-<version>-<digest>/bin/`, where the digest covers every file of
its wrapper and the Go version; a second run finds the stamp and builds nothing. Standard library only: this
runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

WRAPPERS = Path(__file__).resolve().parent / "go"
STAMP = ".built"


def cache_root() -> Path:
    explicit = os.environ.get("KSERVE_TRITON_PARTS", "")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "kserve-triton" / "parts"


def go_version() -> str:
    return subprocess.run(["go", "env", "GOVERSION"], check=True, capture_output=True, text=True).stdout.strip()


@dataclass(frozen=True)
class Part:
    name: str
    version: str
    programs: dict[str, str]
    ldflags: str
    prepare: str | None
    wrapper: Path

    @classmethod
    def load(cls, wrapper: Path) -> Part:
        spec = tomllib.loads((wrapper / "part.toml").read_text())
        build = spec.get("build", {})
        return cls(
            name=wrapper.name,
            version=spec["version"],
            programs=dict(spec["programs"]),
            ldflags=build.get("ldflags", ""),
            prepare=build.get("prepare"),
            wrapper=wrapper,
        )

    def digest(self, go: str) -> str:
        h = hashlib.sha256(go.encode())
        for path in sorted(p for p in self.wrapper.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(self.wrapper)).encode() + b"\0" + path.read_bytes())
        return h.hexdigest()[:12]

    def home(self, go: str) -> Path:
        return cache_root() / f"{self.name}-{self.version}-{self.digest(go)}"

    def bin_dir(self, go: str | None = None) -> Path:
        return self.home(go or go_version()) / "bin"

    def built(self, go: str | None = None) -> bool:
        return (self.home(go or go_version()) / STAMP).exists()

    def build(self, go: str, log=sys.stderr) -> float:
        """Build every program of the part unless it is already built; returns the seconds spent."""
        home = self.home(go)
        if (home / STAMP).exists():
            return 0.0
        started = time.monotonic()
        work = home.with_name(home.name + ".work")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        env = {
            **os.environ,
            "CGO_ENABLED": "0",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=mod -buildvcs=false",
            "PART_DIR": str(self.wrapper),
            "PART_OUT": str(work / "bin"),
            "PART_WORK": str(work),
        }
        # The wrapper is copied so that a prepare step (or go itself, updating go.sum) never edits the repository.
        src = work / "src"
        shutil.copytree(self.wrapper, src)
        if self.prepare:
            subprocess.run([str(src / self.prepare)], cwd=src, env=env, check=True, stdout=log, stderr=log)
        for output, package in self.programs.items():
            print(f"  building {self.name} {self.version}: {output} ({package})", file=log, flush=True)
            command = ["go", "build", "-trimpath", "-o", str(work / "bin" / output)]
            if self.ldflags:
                command += ["-ldflags", self.ldflags]
            subprocess.run([*command, package], cwd=src, env=env, check=True, stdout=log, stderr=log)
        elapsed = time.monotonic() - started
        shutil.rmtree(src)
        (work / STAMP).write_text(f"{self.name} {self.version} {go} built in {elapsed:.0f} s\n")
        shutil.rmtree(home, ignore_errors=True)
        work.rename(home)
        return elapsed


def parts(names: list[str] | None = None) -> list[Part]:
    found = {p.parent.name: Part.load(p.parent) for p in sorted(WRAPPERS.glob("*/part.toml"))}
    if not names:
        return list(found.values())
    unknown = sorted(set(names) - set(found))
    if unknown:
        raise SystemExit(f"unknown part(s) {', '.join(unknown)}; known: {', '.join(found)}")
    return [found[n] for n in names]


def path_entries(names: list[str] | None = None) -> list[Path]:
    """The bin directories of the given (built) parts, for PATH."""
    go = go_version()
    return [p.bin_dir(go) for p in parts(names)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m embedded.parts", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the named parts (all when none is named), skipping built ones")
    build.add_argument("names", nargs="*")
    build.add_argument("--jobs", type=int, default=2, help="parts built at once (default: 2)")
    status = sub.add_parser("status", help="show where each part is and whether it is built")
    status.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    go = go_version()
    if args.command == "status":
        for part in parts(args.names):
            print(f"{part.name:16} {part.version:12} {'built' if part.built(go) else 'missing':8} {part.bin_dir(go)}")
        return 0
    wanted = [part for part in parts(args.names) if not part.built(go)]
    for part in parts(args.names):
        if part not in wanted:
            print(f"{part.name} {part.version}: already built ({part.bin_dir(go)})", file=sys.stderr)
    started = time.monotonic()
    failed = []

    def build_one(part: Part) -> None:
        log_path = cache_root() / f"{part.name}-{part.version}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w") as log:
            try:
                seconds = part.build(go, log=log)
            except subprocess.CalledProcessError:
                failed.append(part.name)
                log.flush()
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
                print(f"{part.name} {part.version}: build FAILED (log {log_path}):\n{tail}", file=sys.stderr)
                return
        print(f"{part.name} {part.version}: built in {seconds:.0f} s (log {log_path})", file=sys.stderr, flush=True)

    # Two at a time: one part's downloads and single-threaded links overlap another's compiles.
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(build_one, wanted))
    if failed:
        print(f"parts that failed to build: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"parts built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
