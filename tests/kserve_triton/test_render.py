"""`python -m kserve_triton render`: every stack rendered offline, valid, deterministic, secrets masked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kserve_triton.render import render
from tests.support.schemas import CRD_FILES, builtin_errors, crd_errors
from tests.support.stacks import PROJECT_OVERRIDE, STACK_FILES, shared_dir, shared_missing

STACKS = [f.name.split(".")[1] for f in STACK_FILES]
SHARED = shared_dir()


def files(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_kubernetes_object_validates(stack, tmp_path):
    target = render(stack, tmp_path, overrides=PROJECT_OVERRIDE)
    documents = [yaml.safe_load(p.read_text()) for p in sorted((target / "kubernetes").glob("*.yaml"))]
    objects = [d for d in documents if "kind" in d]
    assert {d["kind"] for d in objects} >= {"Namespace", "ClusterServingRuntime", "InferenceService"}
    for obj in objects:
        if obj["kind"] in CRD_FILES:
            if SHARED is None:
                pytest.skip(shared_missing("KServe, KEDA and GMP CRDs"))
            assert crd_errors(SHARED, obj) == [], obj["metadata"]["name"]
        else:
            assert builtin_errors(obj) == [], obj["metadata"]["name"]
    releases = [d["helmRelease"] for d in documents if "helmRelease" in d]
    assert sorted(r["name"] for r in releases) == ["cert-manager", "keda", "kserve-crd", "kserve-resources"]
    # Patches hold only the fields they set (tests/components/test_chart_render.py validates them applied to the
    # chart's object).
    patches = [d["serverSideApplyPatch"] for d in documents if "serverSideApplyPatch" in d]
    assert all({"kind", "helmRelease", "serverSideApplyPatch"} & set(d) for d in documents)
    # The one-time wait for each InferenceService's Ready (components/inference_services.py, ready_once).
    services = [("InferenceService", d["metadata"]["name"]) for d in objects if d["kind"] == "InferenceService"]
    assert sorted((p["kind"], p["metadata"]["name"]) for p in patches) == sorted(
        ([("Deployment", "kserve-controller-manager")] if stack == "prod" else []) + services
    )


def test_a_patch_is_named_as_one(tmp_path):
    target = render("prod", tmp_path, overrides=PROJECT_OVERRIDE)
    (patch,) = [p.name for p in (target / "kubernetes").glob("*DeploymentPatch*")]
    assert patch.endswith("-DeploymentPatch-kserve-kserve-controller-manager.yaml")
    assert "DeploymentPatch<br/>kserve-controller-manager" in (target / "graph.md").read_text()


@pytest.mark.parametrize("stack", STACKS)
def test_rendering_is_deterministic(stack, tmp_path):
    first = files(render(stack, tmp_path / "first", overrides=PROJECT_OVERRIDE))
    second = files(render(stack, tmp_path / "second", overrides=PROJECT_OVERRIDE))
    assert first == second


def test_files_are_numbered_in_apply_order_and_the_diagram_shows_the_install_order(tmp_path):
    target = render("dev", tmp_path, overrides=PROJECT_OVERRIDE)
    order = (target / "apply-order.txt").read_text().splitlines()

    def position(fragment: str) -> int:
        (line,) = [line for line in order if fragment in line]
        return int(line.split()[0])

    chain = [
        "NodePool-gke-system",
        "HelmRelease-cert-manager-cert-manager",
        "HelmRelease-kserve-kserve-crd",
        "HelmRelease-kserve-kserve-resources",
        "ClusterServingRuntime-kserve-tritonserver",
        "InferenceService-models-torchscript-cifar10",
    ]
    positions = [position(step) for step in chain]
    assert positions == sorted(positions)
    assert position("NodePool-gpu") < position("InferenceService-models-torchscript-cifar10")

    graph = (target / "graph.md").read_text()
    nodes = re.findall(r'(r\d+)\["([^"<]+)<br/>([^"]+)"\]', graph)
    by_name = {name: node_id for node_id, kind, name in nodes if not kind.endswith("Patch")}
    (ready,) = [node_id for node_id, kind, name in nodes if kind == "InferenceServicePatch"]
    assert f"{by_name['torchscript-cifar10']} --> {ready}" in graph, "the wait for Ready comes after the model"
    for before, after in [
        ("cert-manager", "kserve-crd"),
        ("kserve-crd", "kserve-resources"),
        ("kserve-resources", "kserve-tritonserver"),
        ("kserve-tritonserver", "torchscript-cifar10"),
    ]:
        assert f"{by_name[before]} --> {by_name[after]}" in graph, f"{before} --> {after}"
    assert graph.startswith("# `dev`") and "```mermaid\nflowchart TD" in graph


def test_secrets_stay_masked(tmp_path):
    target = render("dev", tmp_path, overrides=PROJECT_OVERRIDE)
    text = "".join(p.read_text() for p in target.rglob("*") if p.is_file())
    assert "gke-gcloud-auth-plugin" not in text and "certificate-authority-data" not in text
    assert yaml.safe_load((target / "outputs.yaml").read_text())["kubeconfig"] == "[secret]"


def test_gcp_resources_are_rendered_with_their_options(tmp_path):
    target = render("prod", tmp_path, overrides=PROJECT_OVERRIDE)
    (cluster_file,) = (target / "gcp").glob("*-Cluster-gke-cluster.yaml")
    cluster = yaml.safe_load(cluster_file.read_text())
    assert cluster["type"] == "gcp:container/cluster:Cluster"
    assert cluster["inputs"]["location"] == "us-central1"
    assert cluster["pulumiOptions"]["protect"] is True


def test_the_local_stack_renders_no_gcp_resources(tmp_path):
    assert list((render("local", tmp_path) / "gcp").iterdir()) == []


def test_command_line_renders_into_the_output_directory(tmp_path, capsys):
    from kserve_triton.__main__ import main

    assert main(["render", "--stack", "local", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "local" / "graph.md").is_file()
    assert main(["render", "--stack", "staging"]) == 1
    expected = (
        "Pulumi.staging.yaml: no such stack file (stacks of this project: dev, embedded, local, prod, shared-gpu)"
    )
    assert expected in capsys.readouterr().err


def test_rendering_several_stacks_keeps_each_stacks_outputs_its_own(tmp_path):
    render("dev", tmp_path, overrides=PROJECT_OVERRIDE)
    local = yaml.safe_load((render("local", tmp_path) / "outputs.yaml").read_text())
    assert "clusterName" not in local and "kubeconfig" not in local
    assert local["inferenceServices"] == {
        "models/torchscript-cifar10": "http://torchscript-cifar10-predictor.models.svc.cluster.local"
    }


def test_render_reports_a_refused_stack_and_renders_the_others(tmp_path, capsys):
    from kserve_triton.__main__ import main

    refused = tmp_path / "Pulumi.team.yaml"
    refused.write_text(
        "config:\n  kserve-triton:cluster: {existing: {context: kind}}\n  kserve-triton:triton: {cpu: lots}\n"
    )
    out_dir = tmp_path / "out"
    assert main(["render", str(refused), "--stack", "local", "--out", str(out_dir)]) == 1
    out, err = capsys.readouterr()
    assert out == f"Pulumi.local.yaml: rendered into {out_dir / 'local'}\n"
    assert f"{refused}: invalid configuration (nothing would be created):\n  - triton.cpu: 'lots' is not allowed" in err
    assert not (out_dir / "team").exists()


def test_a_stack_without_its_project_renders_with_a_placeholder_and_says_so(tmp_path, capsys):
    """The shipped GKE stacks have no gcp:project (README, quick start): render shows them all the same."""
    from kserve_triton.__main__ import main

    assert main(["render", "--stack", "dev", "--out", str(tmp_path)]) == 0
    out, _ = capsys.readouterr()
    assert out == (
        f"Pulumi.dev.yaml: rendered into {tmp_path / 'dev'} with the placeholder gcp:project your-project-id; before "
        "deploying it, set its GCP project: pulumi config set gcp:project <your-project-id> --stack dev\n"
    )
    assert "your-project-id.svc.id.goog" in "".join(p.read_text() for p in (tmp_path / "dev").rglob("*.yaml"))
