"""Download the pinned upstream reference files into a directory the tests use (`scripts/fetch-references`).

    python -m kserve_triton.fetch_references [DIR]          # default: the cache dir the tests look in
    python -m kserve_triton.fetch_references --check [DIR]  # only verify DIR

Every artifact in `kserve_triton.references` is fetched (charts by `helm pull`, single files by URL), the
files the manifest lists are taken out of it (KEDA's CRDs rendered by `helm template`) and each is checked
against its pinned sha256 (three Chart.yaml files may instead have the pinned form `helm package` gives them;
a package is checked against its own sha256 where that is known). Everything is built in a temporary
directory beside DIR and moved into place only when every file matched, so DIR is either the complete
verified tree or untouched. A DIR that already holds every file, verified, is left alone.

Only `Upstream.fetch` touches the network; tests substitute it (and `render`, where helm is missing).
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

from kserve_triton.references import (
    Artifact,
    Manifest,
    Source,
    default_cache_dir,
    manifest,
    sha256_file,
    verify_tree,
)

ROOT = Path(__file__).resolve().parent.parent
STAMP = ".fetch-references"  # marks a tree this tool made (and may replace)

HELM_MISSING = (
    "helm not found: it pulls the charts (oci://ghcr.io/kserve/charts needs helm 3.8 or newer) and renders "
    "KEDA's CRDs. Run scripts/install-helm (puts helm at tools/bin/helm), put helm on PATH, "
    "or set HELM=/path/to/helm."
)


class FetchError(Exception):
    """The references could not be fetched or did not verify; nothing was written."""


def find_helm(environ: Mapping[str, str] = os.environ, root: Path = ROOT) -> str:
    """$HELM, else tools/bin/helm in the checkout (scripts/install-helm), else helm on PATH."""
    if environ.get("HELM"):
        helm = environ["HELM"]
        if not (os.path.isfile(helm) and os.access(helm, os.X_OK)):
            raise FetchError(f"HELM={helm} is not an executable file")
        return helm
    local = root / "tools" / "bin" / "helm"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    on_path = shutil.which("helm", path=environ.get("PATH", ""))
    if on_path:
        return on_path
    raise FetchError(HELM_MISSING)


class Upstream:
    """How artifacts are obtained: `fetch` is the only network access; `render` runs `helm template`."""

    def __init__(self, helm: str | None = None) -> None:
        self.helm = helm

    def prepare(self, log: Callable[[str], None]) -> None:
        """Called once before anything is fetched: find helm now, so that a missing one fails early."""
        if self.helm is None:
            self.helm = find_helm()
        log(f"using {self.helm}")

    def fetch(self, artifact: Artifact, dest: Path) -> Path:
        """Download one artifact into the empty directory `dest`; returns the file it wrote."""
        if artifact.url:
            target = dest / PurePosixPath(artifact.url).name
            try:
                with urllib.request.urlopen(artifact.url, timeout=120) as response, target.open("wb") as out:
                    shutil.copyfileobj(response, out)
            except (urllib.error.URLError, OSError) as error:
                raise FetchError(f"{artifact.url}: {error}") from error
            return target
        repo = ["--repo", artifact.repo] if artifact.repo else []
        self._helm("pull", artifact.chart, *repo, "--version", artifact.version, "--destination", str(dest))
        packages = sorted(dest.glob("*.tgz"))
        if len(packages) != 1:
            raise FetchError(f"{artifact.describe()}: expected one .tgz, helm left {[p.name for p in packages]}")
        return packages[0]

    def render(self, chart_dir: Path, release: str, namespace: str, templates: list[str]) -> dict[str, bytes]:
        """`helm template <release> <chart_dir> --namespace <namespace> --show-only <template>` of each
        template, in one helm run: its output is each template's own output, one after the other."""
        show_only = [arg for template in templates for arg in ("--show-only", template)]
        output = self._helm("template", release, str(chart_dir), "--namespace", namespace, *show_only)
        rendered = {}
        for document in re.split(rb"(?m)^(?=---\n# Source: )", output):
            if document:
                source = document.split(b"\n", 2)[1].removeprefix(b"# Source: ").decode()
                rendered[source.split("/", 1)[1]] = document  # "<chart name>/templates/..."
        return rendered

    def _helm(self, *args: str) -> bytes:
        if self.helm is None:
            raise FetchError(HELM_MISSING)
        with tempfile.TemporaryDirectory(prefix="helm-home-") as home:
            # A private cache/config/data home: no user repositories, registry logins or plugins leak in.
            env = {
                **os.environ,
                **{f"HELM_{kind}_HOME": f"{home}/{kind.lower()}" for kind in ("CACHE", "CONFIG", "DATA")},
            }
            result = subprocess.run([self.helm, *args], env=env, capture_output=True, timeout=600, check=False)
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            raise FetchError(f"helm {' '.join(args)} failed (exit {result.returncode}): {stderr}")
        return result.stdout


def unpack_chart(package: Path, top: str) -> dict[str, bytes]:
    """The regular files of a chart package (a .tgz whose entries are under `top/`), by path relative to
    `top`. An entry outside `top/`, or climbing out of it, is refused; links are never taken."""
    files: dict[str, bytes] = {}
    with tarfile.open(package, "r:*") as tar:
        for entry in tar:
            parts = PurePosixPath(entry.name).parts
            if entry.isdir() and parts == (top,):
                continue
            if not parts or parts[0] != top or ".." in parts or entry.name.startswith("/"):
                raise FetchError(f"{package.name}: unexpected entry {entry.name!r} (not under {top}/)")
            reader = tar.extractfile(entry) if entry.isfile() else None
            if reader is not None:
                with reader:
                    files["/".join(parts[1:])] = reader.read()
    return files


def write_files(root: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        out = root / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)


def fetch_references(
    dest: Path,
    upstream: Upstream,
    pinned: Manifest | None = None,
    log: Callable[[str], None] = print,
) -> bool:
    """Make `dest` hold every pinned file, verified. False when it already did (nothing is fetched)."""
    pinned = pinned or manifest()
    dest = Path(os.path.abspath(dest))
    if dest.is_dir() and not verify_tree(dest, pinned):
        log(f"{dest}: all {len(pinned.checksums)} reference files present and verified; nothing to do")
        return False
    if dest.exists() and not (dest / STAMP).is_file() and (not dest.is_dir() or any(dest.iterdir())):
        raise FetchError(f"{dest} exists and was not made by fetch-references (no {STAMP} in it); not replacing it")
    upstream.prepare(log)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        tree = work / "tree"
        tree.mkdir()
        problems: list[str] = []
        for name, files in pinned.by_artifact().items():
            whole_chart = any(p.artifact == name and p.dest.endswith("/") for p in pinned.placements)
            artifact_work = work / "artifacts" / name
            problems += _take(pinned.artifacts[name], files, whole_chart, pinned, upstream, artifact_work, tree, log)
        if problems:
            raise FetchError(
                f"refusing to install the references: {len(problems)} file(s) missing or not matching their sha256 "
                f"(kserve_triton/references.sha256); nothing was written to {dest}\n  " + "\n  ".join(problems)
            )
        (tree / STAMP).write_text(
            f"Made by scripts/fetch-references: {len(pinned.checksums)} files, each verified against its sha256 "
            f"(manifest {pinned.digest()}).\n"
        )
        if dest.exists():
            dest.rename(work / "replaced")
        tree.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{dest}: {len(pinned.checksums)} reference files fetched and verified")
    return True


def _take(
    artifact: Artifact,
    files: list[tuple[str, Source]],
    whole_chart: bool,
    pinned: Manifest,
    upstream: Upstream,
    work: Path,
    tree: Path,
    log: Callable[[str], None],
) -> list[str]:
    """Fetch one artifact and copy its listed files into `tree`; one line per file that does not verify."""
    downloads = work / "download"
    downloads.mkdir(parents=True)
    log(f"fetching {artifact.describe()}")
    package = upstream.fetch(artifact, downloads)
    digest = sha256_file(package)
    if artifact.sha256 and digest != artifact.sha256:
        raise FetchError(
            f"{package.name} ({artifact.describe()}): expected sha256 {artifact.sha256}, got {digest}; "
            "nothing was written"
        )
    if artifact.chart and not artifact.sha256:
        log(f"  {package.name}: sha256 {digest} (the package is not pinned; every file taken from it is)")
    unpacked = unpack_chart(package, artifact.top) if artifact.chart else {"": package.read_bytes()}
    rendered: dict[tuple[str, str] | None, dict[str, bytes]] = {}
    for release_namespace in {source.render for _, source in files if source.render}:
        if not rendered:
            write_files(work / "chart", unpacked)  # helm renders a chart directory
        templates = sorted(source.member for _, source in files if source.render == release_namespace)
        rendered[release_namespace] = upstream.render(work / "chart", *release_namespace, templates)
    problems = []
    for path, source in files:
        if source.render and source.member in rendered[source.render]:
            data = rendered[source.render][source.member]
        elif not source.render and source.member in unpacked:
            data = unpacked[source.member]
        else:
            problems.append(f"{path}: missing from {source.describe()} (expected sha256 {pinned.expected(path)})")
            continue
        actual = hashlib.sha256(data).hexdigest()
        if not pinned.accepts(path, actual):
            problems.append(f"{path}: expected sha256 {pinned.expected(path)}, got {actual} (from {source.describe()})")
            continue
        write_files(tree, {path: data})
    if whole_chart:  # files the chart has that the manifest does not pin are not installed
        unlisted = sorted(set(unpacked) - {source.member for _, source in files if not source.render})
        if unlisted:
            log(f"  {artifact.top}: not in the manifest, left out: {', '.join(unlisted)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/fetch-references",
        description="Download the pinned upstream reference files (KServe CRDs, chart values, charts, KEDA and "
        "GMP CRDs), verify each against kserve_triton/references.sha256 and install them in DIR.",
    )
    parser.add_argument(
        "dir",
        metavar="DIR",
        nargs="?",
        type=Path,
        default=default_cache_dir(),
        help=f"where to put them (default: {default_cache_dir()}, where the tests look; "
        "for another DIR set KSERVE_TRITON_SHARED=DIR when running the tests)",
    )
    parser.add_argument(
        "--check", action="store_true", help="only verify DIR; exit 1 if any file is missing or differs"
    )
    args = parser.parse_args(argv)
    pinned = manifest()
    if args.check:
        if not args.dir.is_dir():
            print(f"{args.dir}: no such directory (run scripts/fetch-references)", file=sys.stderr)
            return 1
        problems = verify_tree(args.dir, pinned)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{args.dir}: {len(pinned.checksums) - len(problems)}/{len(pinned.checksums)} reference files verified")
        return 1 if problems else 0
    try:
        fetch_references(args.dir, Upstream(), pinned)
    except (FetchError, OSError) as error:
        print(f"fetch-references: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
