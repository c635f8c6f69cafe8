"""The pinned upstream reference files (`kserve_triton/references.py`, `references.sha256`) and
`scripts/fetch-references`, which downloads them for a clone that has no `../shared`.

The checksums are checked against the shared root the tests use. The fetch runs end to end offline: the
"upstream" is built from that shared root (each chart tarred up as a chart package, the GMP files served as
file:// URLs), so everything but the network access itself (`Upstream.fetch` for charts) is exercised. With
helm installed, KEDA's CRDs are rendered by the real `helm template`, charts packaged by the real
`helm package` are fetched, and `helm pull --repo` runs against a chart repository on localhost."""

from __future__ import annotations

import dataclasses
import filecmp
import functools
import hashlib
import http.server
import io
import re
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from kserve_triton import references
from kserve_triton.fetch_references import (
    HELM_MISSING,
    STAMP,
    FetchError,
    Upstream,
    fetch_references,
    find_helm,
    unpack_chart,
)
from kserve_triton.references import CHECKSUM_FILE, PLACEMENTS, Artifact, Manifest, manifest, reference_files
from tests.support import stacks
from tests.support.stacks import ROOT, shared_dir, shared_missing

SHARED = shared_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason=shared_missing("the reference files"))
PINNED = manifest()


def _helm() -> str | None:
    try:
        return find_helm()
    except FetchError:
        return None


HELM = _helm()
needs_helm = pytest.mark.skipif(HELM is None, reason=HELM_MISSING)


_sha256_file = references.sha256_file  # the real one: tests may monkeypatch the module's with shared_sha256


@functools.cache
def shared_sha256(path: Path) -> str:
    """Each shared file is hashed once per session (the InferenceService CRD alone is 2 MB)."""
    return _sha256_file(path)


# --- the manifest ---------------------------------------------------------------------------------------


def test_every_pinned_file_comes_from_exactly_one_placement_and_every_placement_is_used():
    def covers(placement, path: str) -> bool:
        return path == placement.dest or (placement.dest.endswith("/") and path.startswith(placement.dest))

    assert {path: sum(covers(p, path) for p in PLACEMENTS) for path in PINNED.checksums} == dict.fromkeys(
        PINNED.checksums, 1
    )
    assert [p.dest for p in PLACEMENTS if not any(covers(p, path) for path in PINNED.checksums)] == []
    assert {p.artifact for p in PLACEMENTS} == set(PINNED.artifacts)
    grouped = {path for files in PINNED.by_artifact().values() for path, _ in files}
    assert grouped == set(PINNED.checksums)


def test_every_artifact_is_pinned_to_an_exact_chart_version_or_commit():
    for artifact in PINNED.artifacts.values():
        if artifact.url:
            assert re.search(r"/[0-9a-f]{40}/", artifact.url), artifact.url
            assert artifact.url.startswith("https://raw.githubusercontent.com/"), artifact.url
        else:
            assert re.fullmatch(r"v?\d+\.\d+\.\d+", artifact.version), artifact
            assert artifact.chart.startswith("oci://") != bool(artifact.repo), artifact
        assert re.search(r"[0-9a-f]{40}", artifact.upstream) or "tag v" in artifact.upstream, artifact


def test_the_kserve_crds_are_the_kserve_crd_charts_templates_byte_for_byte():
    crds = {path: sha for path, sha in PINNED.checksums.items() if path.startswith("kserve-crds/v0.20.0/")}
    assert len(crds) == 5  # the sixth template, clusterstoragecontainers, is a Helm `lookup` guard, not a CRD
    for path, sha in crds.items():
        template = f"charts/kserve-crd-v0.20.0/templates/{Path(path).name}"
        assert PINNED.checksums[template] == sha, path
        assert PINNED.source(path).member == f"templates/{Path(path).name}"


def test_chart_values_are_the_charts_own_values_yaml():
    for path, sha in PINNED.checksums.items():
        if path.startswith("chart-values/"):
            chart = f"charts/{Path(path).stem}/values.yaml"
            assert PINNED.checksums.get(chart, sha) == sha, path
            assert PINNED.source(path).member == "values.yaml"


def test_only_a_packaged_charts_chart_yaml_may_differ_from_the_shared_copy():
    """`helm package` rewrites Chart.yaml and nothing else; keda's shared chart is the published package."""
    assert sorted(PINNED.package_form) == [
        "charts/cert-manager-v1.21.1/Chart.yaml",
        "charts/kserve-crd-v0.20.0/Chart.yaml",
        "charts/kserve-resources-v0.20.0/Chart.yaml",
    ]
    for path, sha in PINNED.package_form.items():
        assert sha != PINNED.checksums[path]
        assert PINNED.accepts(path, sha) and PINNED.accepts(path, PINNED.checksums[path])
        assert not PINNED.accepts(path, "0" * 64)


def test_the_keda_package_is_pinned_to_the_digest_its_chart_repository_publishes():
    keda = PINNED.artifacts["keda-2.18.3"]
    assert keda.sha256 == "8c0eecd5e6f719a9378e903ee1d9bc54faf95ecba6c78985a61bba0a1f5e5729"
    if SHARED is not None and (SHARED / "charts" / "README.md").is_file():
        assert keda.sha256 in (SHARED / "charts" / "README.md").read_text()


@needs_shared
def test_every_pinned_sha256_matches_the_file_in_the_shared_root():
    mismatches = [
        f"{path}: pinned {sha}, shared has {shared_sha256(SHARED / path) if (SHARED / path).is_file() else 'nothing'}"
        for path, sha in sorted(PINNED.checksums.items())
        if not (SHARED / path).is_file() or shared_sha256(SHARED / path) != sha
    ]
    assert mismatches == []


@needs_shared
def test_every_reference_file_in_the_shared_root_is_pinned_and_none_is_missing():
    present = set(reference_files(SHARED))
    assert sorted(present - set(PINNED.checksums)) == [], "not pinned: regenerate with --print-manifest"
    assert sorted(set(PINNED.checksums) - present) == [], "pinned, but not in the shared root"


@needs_shared
def test_print_manifest_regenerates_the_checksum_file(monkeypatch, capsys):
    monkeypatch.setattr(references, "sha256_file", shared_sha256)
    assert references.main(["--print-manifest", str(SHARED)]) == 0
    assert capsys.readouterr().out == CHECKSUM_FILE.read_text()


def test_print_manifest_refuses_a_file_nothing_says_the_source_of(tmp_path, capsys):
    (tmp_path / "charts" / "other-1.0.0").mkdir(parents=True)
    (tmp_path / "charts" / "other-1.0.0" / "values.yaml").write_text("{}\n")
    assert references.main(["--print-manifest", str(tmp_path)]) == 1
    assert "charts/other-1.0.0/values.yaml" in capsys.readouterr().err


# --- an offline upstream built from the shared root -------------------------------------------------------


def chart_package(target: Path, top: str, files: dict[str, bytes]) -> Path:
    """A chart package as `helm package` makes it: a gzipped tar with every file under `<chart name>/`."""
    with tarfile.open(target, "w:gz", compresslevel=1) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


def chart_files(shared: Path, name: str) -> dict[str, bytes]:
    """The files of chart `name` (e.g. keda-2.18.3): the unpacked chart, or, for a chart only its
    values.yaml is pinned of, that values.yaml and a Chart.yaml."""
    directory = shared / "charts" / name
    if directory.is_dir():
        return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    chart, version = name.rsplit("-", 1)
    values = (shared / "chart-values" / f"{name}.yaml").read_bytes()
    return {"Chart.yaml": f"apiVersion: v2\nname: {chart}\nversion: {version}\n".encode(), "values.yaml": values}


class LocalUpstream(Upstream):
    """Charts from packages built out of the shared root; URLs rewritten to file:// by `local_manifest`.
    KEDA's CRDs are rendered by `helm` when one is given, else taken from the shared root (helm takes
    half a second, so only one end-to-end run uses it)."""

    def __init__(self, shared: Path, packages: dict[str, Path], helm: str | None) -> None:
        super().__init__(helm)
        self.shared = shared
        self.packages = packages
        self.fetched: list[str] = []

    def prepare(self, log) -> None:
        log("offline: packages built from the shared root")

    def fetch(self, artifact: Artifact, dest: Path) -> Path:
        self.fetched.append(artifact.name)
        if artifact.url:
            return super().fetch(artifact, dest)  # urllib, on a file:// URL
        return Path(shutil.copy(self.packages[artifact.name], dest))

    def render(self, chart_dir: Path, release: str, namespace: str, templates: list[str]) -> dict[str, bytes]:
        if self.helm is not None:
            return super().render(chart_dir, release, namespace, templates)
        dests = {p.member: p.dest for p in PLACEMENTS if p.render}
        return {template: (self.shared / dests[template]).read_bytes() for template in templates}


class Unreachable(Upstream):
    def prepare(self, log) -> None:
        raise AssertionError("nothing should be fetched")


def local_manifest(shared: Path, packages: dict[str, Path]) -> Manifest:
    """The pinned manifest with its URLs pointing at the shared root's files, and the keda package's pin
    replaced by the digest of the locally built package (a local package cannot equal the published one)."""
    artifacts = {}
    for name, artifact in PINNED.artifacts.items():
        if artifact.url:
            (dest,) = [p.dest for p in PLACEMENTS if p.artifact == name]
            artifact = dataclasses.replace(artifact, url=(shared / dest).as_uri())
        elif artifact.sha256:
            artifact = dataclasses.replace(artifact, sha256=references.sha256_file(packages[name]))
        artifacts[name] = artifact
    return dataclasses.replace(PINNED, artifacts=artifacts)


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    if SHARED is None:
        pytest.skip(shared_missing("the reference files"))
    directory = tmp_path_factory.mktemp("packages")
    return {
        name: chart_package(directory / f"{name}.tgz", artifact.top, chart_files(SHARED, name))
        for name, artifact in PINNED.artifacts.items()
        if artifact.chart
    }


@pytest.fixture(scope="module")
def fetched(tmp_path_factory, packages):
    """One offline run of the whole fetch into an empty cache directory."""
    dest = tmp_path_factory.mktemp("cache") / "references"
    upstream = LocalUpstream(SHARED, packages, HELM)
    logs: list[str] = []
    assert fetch_references(dest, upstream, local_manifest(SHARED, packages), logs.append) is True
    return dest, upstream, logs


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_fetch_builds_exactly_the_pinned_files_identical_to_the_shared_root(fetched):
    dest, upstream, logs = fetched
    assert tree(dest) == sorted([*PINNED.checksums, STAMP])
    different = [path for path in PINNED.checksums if not filecmp.cmp(dest / path, SHARED / path, shallow=False)]
    assert different == []
    assert sorted(upstream.fetched) == sorted(PINNED.artifacts)  # each artifact fetched once
    assert logs[-1] == f"{dest}: {len(PINNED.checksums)} reference files fetched and verified"


def test_fetch_reports_the_digest_of_every_package_that_is_not_pinned(fetched):
    _, _, logs = fetched
    unpinned = [a for a in PINNED.artifacts.values() if a.chart and not a.sha256]
    assert len([line for line in logs if "the package is not pinned" in line]) == len(unpinned)


def test_fetch_leaves_nothing_beside_the_tree(fetched):
    dest, _, _ = fetched
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]


def test_the_default_directory_is_in_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert references.default_cache_dir() == tmp_path / "kserve-triton" / "references"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")  # as the XDG base directory spec says
    assert references.default_cache_dir() == Path.home() / ".cache" / "kserve-triton" / "references"


def test_a_second_run_fetches_nothing(fetched):
    dest, _, _ = fetched
    logs: list[str] = []
    assert fetch_references(dest, Unreachable(), PINNED, logs.append) is False
    assert logs == [f"{dest}: all {len(PINNED.checksums)} reference files present and verified; nothing to do"]


def only(pinned: Manifest, *artifacts: str) -> Manifest:
    """`pinned` cut down to the files of some artifacts: a quicker run, where the others do not matter."""
    files = {path: sha for path, sha in pinned.checksums.items() if pinned.source(path).artifact.name in artifacts}
    return dataclasses.replace(pinned, checksums=files)


def test_a_tampered_file_is_refused_with_its_name_and_both_digests_and_nothing_is_written(tmp_path, packages):
    files = chart_files(SHARED, "kserve-resources-v0.20.0")
    files["values.yaml"] += b"# tampered\n"
    tampered = chart_package(tmp_path / "kserve-resources.tgz", "kserve-resources", files)
    upstream = LocalUpstream(SHARED, {**packages, "kserve-resources-v0.20.0": tampered}, None)
    # the GMP file verifies and is staged, then discarded with the rest
    pinned = only(local_manifest(SHARED, packages), "kserve-resources-v0.20.0", "gmp-v0.17.2-podmonitorings")
    dest = tmp_path / "cache" / "references"
    with pytest.raises(FetchError) as refused:
        fetch_references(dest, upstream, pinned, lambda _: None)
    message = str(refused.value)
    expected = PINNED.checksums["chart-values/kserve-resources-v0.20.0.yaml"]
    actual = hashlib.sha256(files["values.yaml"]).hexdigest()
    for path in ("chart-values/kserve-resources-v0.20.0.yaml", "charts/kserve-resources-v0.20.0/values.yaml"):
        assert f"{path}: expected sha256 {expected}, got {actual}" in message
    assert "2 file(s) missing or not matching their sha256" in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_package_whose_own_digest_differs_from_its_pin_is_refused(tmp_path, packages):
    pinned = only(local_manifest(SHARED, packages), "keda-2.18.3")
    real_pin = PINNED.artifacts["keda-2.18.3"]  # the published package's digest; this one is built locally
    pinned = dataclasses.replace(pinned, artifacts={**pinned.artifacts, "keda-2.18.3": real_pin})
    dest = tmp_path / "cache" / "references"
    with pytest.raises(FetchError) as refused:
        fetch_references(dest, LocalUpstream(SHARED, packages, None), pinned, lambda _: None)
    actual = references.sha256_file(packages["keda-2.18.3"])
    assert str(refused.value) == (
        "keda-2.18.3.tgz (helm pull keda --repo https://kedacore.github.io/charts --version 2.18.3): "
        f"expected sha256 {real_pin.sha256}, got {actual}; nothing was written"
    )
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_file_missing_from_its_package_is_refused(tmp_path, packages):
    files = chart_files(SHARED, "cert-manager-v1.19.6")
    del files["values.yaml"]
    without_values = chart_package(tmp_path / "cert-manager.tgz", "cert-manager", files)
    upstream = LocalUpstream(SHARED, {**packages, "cert-manager-v1.19.6": without_values}, None)
    pinned = only(local_manifest(SHARED, packages), "cert-manager-v1.19.6")
    with pytest.raises(
        FetchError, match=r"chart-values/cert-manager-v1\.19\.6\.yaml: missing from cert-manager/values"
    ):
        fetch_references(tmp_path / "references", upstream, pinned, lambda _: None)
    assert not (tmp_path / "references").exists()


def test_a_file_the_manifest_does_not_pin_is_left_out_and_reported(tmp_path, packages):
    files = {**chart_files(SHARED, "keda-2.18.3"), "templates/extra.yaml": b"kind: Extra\n"}
    package = chart_package(tmp_path / "keda.tgz", "keda", files)
    pinned = only(local_manifest(SHARED, {**packages, "keda-2.18.3": package}), "keda-2.18.3")
    logs: list[str] = []
    dest = tmp_path / "references"
    fetch_references(dest, LocalUpstream(SHARED, {**packages, "keda-2.18.3": package}, None), pinned, logs.append)
    assert "  keda: not in the manifest, left out: templates/extra.yaml" in logs
    assert tree(dest) == sorted([*pinned.checksums, STAMP])


def test_an_outdated_tree_it_made_is_replaced_whole(tmp_path, packages):
    pinned = only(local_manifest(SHARED, packages), "kserve-resources-v0.20.0", "gmp-v0.17.2-podmonitorings")
    dest = tmp_path / "references"
    fetch_references(dest, LocalUpstream(SHARED, packages, None), pinned, lambda _: None)
    (dest / "chart-values" / "kserve-resources-v0.20.0.yaml").write_text("outdated: true\n")
    (dest / "leftover.txt").write_text("from an older manifest\n")
    assert fetch_references(dest, LocalUpstream(SHARED, packages, None), pinned, lambda _: None) is True
    assert tree(dest) == sorted([*pinned.checksums, STAMP])
    assert references.verify_tree(dest, pinned) == []
    assert [p.name for p in tmp_path.iterdir()] == ["references"]


def test_a_directory_it_did_not_make_is_never_replaced(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me\n")
    with pytest.raises(FetchError, match=f"{tmp_path} exists and was not made by fetch-references"):
        fetch_references(tmp_path, Unreachable(), PINNED, print)
    assert tree(tmp_path) == ["mine.txt"]


def test_unpacking_refuses_an_entry_outside_the_chart(tmp_path):
    package = chart_package(tmp_path / "evil.tgz", "keda/../..", {"escape.txt": b"x"})
    with pytest.raises(FetchError, match="unexpected entry"):
        unpack_chart(package, "keda")


# --- helm ------------------------------------------------------------------------------------------------


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_helm_is_taken_from_the_helm_variable_then_tools_bin_then_path(tmp_path):
    explicit, local, on_path = (executable(tmp_path / d / "helm") for d in ("x", "root/tools/bin", "path"))
    root = tmp_path / "root"
    assert find_helm({"HELM": str(explicit), "PATH": str(on_path.parent)}, root) == str(explicit)
    assert find_helm({"PATH": str(on_path.parent)}, root) == str(local)
    assert find_helm({"PATH": str(on_path.parent)}, tmp_path / "elsewhere") == str(on_path)


def test_a_missing_helm_says_how_to_get_one(tmp_path):
    with pytest.raises(FetchError) as missing:
        find_helm({"PATH": str(tmp_path)}, tmp_path)
    assert "scripts/install-helm" in str(missing.value) and "HELM=" in str(missing.value)
    with pytest.raises(FetchError, match="HELM=/nowhere/helm is not an executable file"):
        find_helm({"HELM": "/nowhere/helm"}, tmp_path)


@needs_helm
@needs_shared
def test_kedas_crds_are_what_helm_template_renders_from_the_keda_chart():
    placements = [p for p in PLACEMENTS if p.render]
    assert {p.render for p in placements} == {("keda", "keda")}
    rendered = Upstream(HELM).render(SHARED / "charts" / "keda-2.18.3", "keda", "keda", [p.member for p in placements])
    assert {p.member: hashlib.sha256(rendered[p.member]).hexdigest() for p in placements} == {
        p.member: PINNED.checksums[p.dest] for p in placements
    }


@needs_helm
@needs_shared
def test_charts_as_helm_package_makes_them_are_accepted(tmp_path, packages):
    """What a download really holds: `helm package` of each shared chart differs from the shared copy in
    Chart.yaml only, and that is the pinned package form."""
    helm_made = dict(packages)
    for placement in PLACEMENTS:
        if placement.dest.endswith("/"):
            out = tmp_path / placement.artifact
            subprocess.run(
                [HELM, "package", str(SHARED / placement.dest), "-d", str(out)], check=True, capture_output=True
            )
            (helm_made[placement.artifact],) = out.glob("*.tgz")
    dest = tmp_path / "references"
    pinned = local_manifest(SHARED, helm_made)
    assert fetch_references(dest, LocalUpstream(SHARED, helm_made, None), pinned, lambda _: None)
    differ = sorted(p for p in PINNED.checksums if not filecmp.cmp(dest / p, SHARED / p, shallow=False))
    assert {p: references.sha256_file(dest / p) for p in differ} == PINNED.package_form


@needs_helm
def test_helm_pull_from_a_chart_repository(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    chart_package(repo / "demo-1.2.3.tgz", "demo", {"Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.2.3\n"})
    subprocess.run([HELM, "repo", "index", str(repo)], check=True, capture_output=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    try:
        artifact = Artifact(
            "demo-1.2.3", "test", chart="demo", repo=f"http://127.0.0.1:{server.server_port}", version="1.2.3"
        )
        (tmp_path / "out").mkdir()
        package = Upstream(HELM).fetch(artifact, tmp_path / "out")
    finally:
        server.shutdown()
        server.server_close()
    assert package.read_bytes() == (repo / "demo-1.2.3.tgz").read_bytes()


# --- the script and the tests' lookup ---------------------------------------------------------------------


def fetch_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(env.pop("HOME", "/nonexistent")), **env}
    return subprocess.run(
        [str(ROOT / "scripts" / "fetch-references"), *args], env=environ, capture_output=True, text=True, timeout=30
    )


@needs_shared
def test_script_check_verifies_a_tree():
    result = fetch_script("--check", str(SHARED))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{SHARED}: {len(PINNED.checksums)}/{len(PINNED.checksums)} reference files verified\n"


def test_script_refuses_without_helm_and_creates_nothing(tmp_path):
    result = fetch_script(str(tmp_path / "references"), HELM="/nowhere/helm")
    assert result.returncode == 1
    assert result.stderr == "fetch-references: HELM=/nowhere/helm is not an executable file\n"
    assert list(tmp_path.iterdir()) == []
    result = fetch_script("--check", str(tmp_path / "references"))
    assert result.returncode == 1 and "no such directory" in result.stderr


def test_the_tests_look_in_the_shared_variable_then_beside_the_checkout_then_in_the_cache(tmp_path, monkeypatch):
    checkout = tmp_path / "clone" / "kserve-triton"
    cache = tmp_path / "xdg" / "kserve-triton" / "references"
    for directory in (checkout, cache, tmp_path / "explicit"):
        directory.mkdir(parents=True)
    monkeypatch.setattr(stacks, "ROOT", checkout)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("KSERVE_TRITON_SHARED", raising=False)
    assert stacks.shared_dir() == cache
    (tmp_path / "clone" / "shared").mkdir()
    assert stacks.shared_dir() == tmp_path / "clone" / "shared"
    monkeypatch.setenv("KSERVE_TRITON_SHARED", str(tmp_path / "explicit"))
    assert stacks.shared_dir() == tmp_path / "explicit"
    monkeypatch.setenv("KSERVE_TRITON_SHARED", str(tmp_path / "missing"))
    assert stacks.shared_dir() is None
    assert "is not a directory" in stacks.shared_missing("KServe CRDs")
    monkeypatch.delenv("KSERVE_TRITON_SHARED")
    shutil.rmtree(tmp_path / "clone" / "shared")
    shutil.rmtree(cache)
    assert stacks.shared_dir() is None
    assert (
        stacks.shared_missing("KServe CRDs")
        == f"KServe CRDs: not in ../shared nor in {cache}: run scripts/fetch-references"
    )
