"""The upstream reference files the tests check against, where each one comes from, and its pinned sha256.

The tests read these files from a *shared root* (`../shared`, $KSERVE_TRITON_SHARED, or the cache that
`scripts/fetch-references` fills), laid out as:

    kserve-crds/v0.20.0/*.yaml          KServe's CRDs (the kserve-crd chart's templates, byte for byte)
    chart-values/<chart>-<version>.yaml each chart's values.yaml
    charts/<chart>-<version>/**         the charts, unpacked from the published packages
    crds/keda-2.18.3/*.yaml             KEDA's CRDs as `helm template` renders them from the keda chart
    crds/gmp-v0.17.2/*.yaml             GMP's CRDs, raw files at a pinned prometheus-engine commit

`ARTIFACTS` are the pinned upstream downloads; `PLACEMENTS` say which file of which artifact lands where;
`references.sha256` (next to this module, `sha256sum` format, so `sha256sum -c` works in a shared root)
pins every file. Standard library only: it imports without Pulumi.

Maintainers regenerate the checksum file from a trusted shared root with

    python -m kserve_triton.references --print-manifest ../shared > kserve_triton/references.sha256

and list every file with its source with `python -m kserve_triton.references --list`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

CHECKSUM_FILE = Path(__file__).with_name("references.sha256")

# The parts of a shared root that hold upstream files. The READMEs in them are the shared root's own
# provenance notes, not upstream files, so they are not references.
SUBTREES = ("kserve-crds", "chart-values", "charts", "crds")
NOT_REFERENCES = frozenset({"charts/README.md", "crds/README.md"})


def default_cache_dir() -> Path:
    """Where `scripts/fetch-references` puts the files by default, and where the tests look last."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "kserve-triton" / "references"


@dataclass(frozen=True)
class Artifact:
    """One pinned upstream download: a Helm chart package (`helm pull`) or a single file (`url`)."""

    name: str
    upstream: str  # where the artifact is built from: repository, tag, commit, path
    chart: str = ""  # `helm pull` reference: oci://... or a chart name in `repo`
    version: str = ""  # exact chart version
    repo: str = ""  # chart repository URL (for a chart name)
    url: str = ""  # a file downloaded as is
    sha256: str = ""  # of the downloaded package itself, where it is known; every file in it is pinned anyway

    @property
    def top(self) -> str:
        """The directory a chart package holds its files in: the chart's name."""
        return self.chart.rsplit("/", 1)[-1]

    def describe(self) -> str:
        if self.url:
            return self.url
        where = f" --repo {self.repo}" if self.repo else ""
        return f"helm pull {self.chart}{where} --version {self.version}"


@dataclass(frozen=True)
class Placement:
    """Files of the shared root that come out of one artifact.

    `dest` is a file path, or a directory ending in "/" that receives the files under `member` (a
    directory in the chart, "" for the whole chart). `member` is relative to the chart's top directory;
    for a `url` artifact it is "" (the file itself). With `render` = (release, namespace), the file is
    `helm template <release> <chart> --namespace <namespace> --show-only <member>` instead of the member."""

    dest: str
    artifact: str
    member: str = ""
    render: tuple[str, str] | None = None


KSERVE = "github.com/kserve/kserve tag v0.20.0 = commit 1fb781055dd1567164358233e1125142ca6ef1fe"
CERT_MANAGER = "github.com/cert-manager/cert-manager deploy/charts/cert-manager, packaged by make/manifests.mk"
GMP_BASE = (
    "https://raw.githubusercontent.com/GoogleCloudPlatform/prometheus-engine/"
    "7920a2a222af1c09535d8141684e2944670c5041/charts/operator/crds/"
)
GMP = "github.com/GoogleCloudPlatform/prometheus-engine tag v0.17.2 = commit 7920a2a222af1c09535d8141684e2944670c5041"

ARTIFACTS: Mapping[str, Artifact] = {
    a.name: a
    for a in (
        Artifact(
            "kserve-crd-v0.20.0",
            f"{KSERVE}, charts/kserve-crd/ (helm package + push by .github/workflows/helm-publish.yml)",
            chart="oci://ghcr.io/kserve/charts/kserve-crd",
            version="v0.20.0",
        ),
        Artifact(
            "kserve-resources-v0.20.0",
            f"{KSERVE}, charts/kserve-resources/ (helm package + push by .github/workflows/helm-publish.yml)",
            chart="oci://ghcr.io/kserve/charts/kserve-resources",
            version="v0.20.0",
        ),
        Artifact(
            "kserve-runtime-configs-v0.20.0",
            f"{KSERVE}, charts/kserve-runtime-configs/ (only its values.yaml is used)",
            chart="oci://ghcr.io/kserve/charts/kserve-runtime-configs",
            version="v0.20.0",
        ),
        Artifact(
            "cert-manager-v1.21.1",
            f"{CERT_MANAGER}, tag v1.21.1 = commit 24e33194fb39488eff2bbf10c6dc640f407cad44",
            chart="cert-manager",
            repo="https://charts.jetstack.io",
            version="v1.21.1",
        ),
        Artifact(
            "cert-manager-v1.19.6",
            f"{CERT_MANAGER}, tag v1.19.6 (only its values.yaml is used)",
            chart="cert-manager",
            repo="https://charts.jetstack.io",
            version="v1.19.6",
        ),
        Artifact(
            "keda-2.18.3",
            "github.com/kedacore/charts tag v2.18.3 = commit 801208a8d170072ad3cc470ef638f38f1d4b578b, "
            "docs/keda-2.18.3.tgz (the digest in docs/index.yaml)",
            chart="keda",
            repo="https://kedacore.github.io/charts",
            version="2.18.3",
            sha256="8c0eecd5e6f719a9378e903ee1d9bc54faf95ecba6c78985a61bba0a1f5e5729",
        ),
        *(
            Artifact(f"gmp-v0.17.2-{kind}", f"{GMP}, charts/operator/crds/", url=f"{GMP_BASE}{file}")
            for kind, file in (
                ("podmonitorings", "monitoring.googleapis.com_podmonitorings.yaml"),
                ("clusterpodmonitorings", "monitoring.googleapis.com_clusterpodmonitorings.yaml"),
            )
        ),
    )
}

KSERVE_CRDS = ("clusterservingruntimes", "inferencegraphs", "inferenceservices", "servingruntimes", "trainedmodels")
KEDA_CRDS = ("scaledobjects", "triggerauthentications", "clustertriggerauthentications")

PLACEMENTS: tuple[Placement, ...] = (
    # The CRDs themselves: the chart's templates, which are plain controller-gen output. The chart's
    # sixth template, clusterstoragecontainers, is a Helm `lookup` guard around files/, so it is not one.
    *(
        Placement(f"kserve-crds/v0.20.0/serving.kserve.io_{crd}.yaml", "kserve-crd-v0.20.0", f"templates/{name}")
        for crd in KSERVE_CRDS
        for name in [f"serving.kserve.io_{crd}.yaml"]
    ),
    *(
        Placement(f"chart-values/{name}.yaml", name, "values.yaml")
        for name in (
            "cert-manager-v1.19.6",
            "cert-manager-v1.21.1",
            "keda-2.18.3",
            "kserve-resources-v0.20.0",
            "kserve-runtime-configs-v0.20.0",
        )
    ),
    *(
        Placement(f"charts/{name}/", name)
        for name in ("cert-manager-v1.21.1", "keda-2.18.3", "kserve-crd-v0.20.0", "kserve-resources-v0.20.0")
    ),
    *(
        Placement(
            f"crds/keda-2.18.3/keda.sh_{crd}.yaml", "keda-2.18.3", f"templates/crds/crd-{crd}.yaml", ("keda", "keda")
        )
        for crd in KEDA_CRDS
    ),
    *(
        Placement(f"crds/gmp-v0.17.2/monitoring.googleapis.com_{kind}.yaml", f"gmp-v0.17.2-{kind}")
        for kind in ("podmonitorings", "clusterpodmonitorings")
    ),
)


# `helm package` re-serializes Chart.yaml (keys sorted, comments and blank lines dropped) and keeps every
# other file byte for byte, so a published package's Chart.yaml is not the file in git. The shared copies of
# these three are the source form (kserve: the file in git at the tag; cert-manager: as its release tool
# assembles it before `helm package`), so a download is expected to hold these bytes instead: the Chart.yaml
# helm v4.1.4's `helm package` writes for the shared chart (tests/test_references.py checks that with helm).
# keda's shared copy already is the published package's. Either form is accepted.
PACKAGE_FORM: Mapping[str, str] = {
    "charts/cert-manager-v1.21.1/Chart.yaml": "c9f488ca33655fd778e715e8cd48a87183cdf6ea4be36048a974f66ace4db5b8",
    "charts/kserve-crd-v0.20.0/Chart.yaml": "52bdf728cc70d4bb8188c31fc0d2a4c9550041bee8eb0ba59c6e76b3933325d4",
    "charts/kserve-resources-v0.20.0/Chart.yaml": "d4dd29a89e02cd4f877b656e3df9ade2b5dc68825c184c87a9b0da48424aed3b",
}


@dataclass(frozen=True)
class Source:
    """Where one file of the shared root comes from."""

    artifact: Artifact
    member: str  # relative to the chart's top directory; "" for a url artifact
    render: tuple[str, str] | None

    def describe(self) -> str:
        if self.render:
            release, namespace = self.render
            return (
                f"helm template {release} <{self.artifact.name}> --namespace {namespace} --show-only {self.member}"
                f" (chart: {self.artifact.describe()})"
            )
        if self.artifact.url:
            return self.artifact.url
        return f"{self.artifact.top}/{self.member} of {self.artifact.describe()}"


@dataclass(frozen=True)
class Manifest:
    artifacts: Mapping[str, Artifact]
    placements: tuple[Placement, ...]
    checksums: Mapping[str, str]  # path in the shared root -> sha256
    package_form: Mapping[str, str] = field(default_factory=dict)  # path -> sha256 as a published package has it

    def accepts(self, path: str, sha256: str) -> bool:
        return sha256 in (self.checksums[path], self.package_form.get(path))

    def expected(self, path: str) -> str:
        """The pinned digest(s) of `path`, for messages."""
        if path in self.package_form:
            return f"{self.checksums[path]} (or {self.package_form[path]}, as the published package has it)"
        return self.checksums[path]

    def source(self, path: str) -> Source | None:
        """The source of `path` (the most specific placement wins), or None when no placement covers it."""
        for placement in sorted(self.placements, key=lambda p: len(p.dest), reverse=True):
            if path == placement.dest:
                return Source(self.artifacts[placement.artifact], placement.member, placement.render)
            if placement.dest.endswith("/") and path.startswith(placement.dest):
                member = placement.member + path[len(placement.dest) :]
                return Source(self.artifacts[placement.artifact], member, placement.render)
        return None

    def by_artifact(self) -> dict[str, list[tuple[str, Source]]]:
        """Every listed file with its source, grouped by artifact (in `artifacts` order)."""
        groups: dict[str, list[tuple[str, Source]]] = {name: [] for name in self.artifacts}
        for path in sorted(self.checksums):
            source = self.source(path)
            if source is None:
                raise ValueError(f"{path}: no placement says where it comes from")
            groups[source.artifact.name].append((path, source))
        return {name: files for name, files in groups.items() if files}

    def digest(self) -> str:
        """One sha256 over the whole checksum list: identifies this manifest."""
        text = "".join(f"{sha}  {path}\n" for path, sha in sorted(self.checksums.items()))
        return hashlib.sha256(text.encode()).hexdigest()


def parse_checksums(text: str) -> dict[str, str]:
    checksums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        sha, sep, path = line.partition("  ")
        if not sep or len(sha) != 64 or path in checksums:
            raise ValueError(f"{CHECKSUM_FILE.name}:{number}: not a unique '<sha256>  <path>' line: {line!r}")
        checksums[path] = sha
    return checksums


@functools.cache
def manifest() -> Manifest:
    """The pinned manifest: `ARTIFACTS`, `PLACEMENTS`, the checksums in references.sha256, `PACKAGE_FORM`."""
    return Manifest(ARTIFACTS, PLACEMENTS, parse_checksums(CHECKSUM_FILE.read_text()), PACKAGE_FORM)


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def reference_files(shared: Path) -> Iterator[str]:
    """Every file under the shared root's reference subtrees, as a sorted POSIX path relative to it."""
    found = []
    for subtree in SUBTREES:
        for directory, _, names in os.walk(shared / subtree):
            for name in names:
                path = (Path(directory) / name).relative_to(shared).as_posix()
                if path not in NOT_REFERENCES:
                    found.append(path)
    return iter(sorted(found))


def verify_tree(root: Path, pinned: Manifest) -> list[str]:
    """One line per listed file that is missing under `root` or differs from its pinned sha256."""
    problems = []
    for path in sorted(pinned.checksums):
        file = root / path
        if not file.is_file():
            problems.append(f"{path}: missing (expected sha256 {pinned.expected(path)})")
        elif not pinned.accepts(path, actual := sha256_file(file)):
            problems.append(f"{path}: expected sha256 {pinned.expected(path)}, got {actual}")
    return problems


def checksum_lines(shared: Path, paths: list[str] | None = None) -> str:
    """references.sha256 as it should be for the files in `shared` (sha256sum format, sorted by path)."""
    return "".join(f"{sha256_file(shared / path)}  {path}\n" for path in paths or reference_files(shared))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kserve_triton.references", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--print-manifest",
        metavar="SHARED",
        type=Path,
        help="print references.sha256 for the reference files in the shared root SHARED",
    )
    group.add_argument("--list", action="store_true", help="list every pinned file, its sha256 and its source")
    args = parser.parse_args(argv)
    if args.list:
        pinned = manifest()
        for files in pinned.by_artifact().values():
            for path, source in files:
                print(f"{path}\n  sha256 {pinned.expected(path)}\n  from   {source.describe()}")
        return 0
    paths = list(reference_files(args.print_manifest))
    if not paths:
        print(f"{args.print_manifest}: no reference files under {', '.join(SUBTREES)}", file=sys.stderr)
        return 1
    sourceless = Manifest(ARTIFACTS, PLACEMENTS, {})
    unplaced = [path for path in paths if sourceless.source(path) is None]
    if unplaced:
        print("no placement in PLACEMENTS says where these come from:", *unplaced, sep="\n  ", file=sys.stderr)
        return 1
    sys.stdout.write(checksum_lines(args.print_manifest, paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
