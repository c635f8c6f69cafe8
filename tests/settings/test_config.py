"""The stack configuration: what is accepted, what is refused, and that a refusal creates nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from settings import stack as config

Mutation = Callable[[dict[str, Any]], None]


def _set(key: str, **values: Any) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg[f"kserve-triton:{key}"].update(values)

    return mutate


def _without(key: str, field: str) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        del cfg[f"kserve-triton:{key}"][field]

    return mutate


def _gcp(key: str, value: str) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg[f"gcp:{key}"] = value

    return mutate


def _add_key(key: str, value: Any) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg[key] = value

    return mutate


def _isvc(index: int, **values: Any) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg["kserve-triton:inferenceServices"][index].update(values)

    return mutate


def _add_isvc(**values: Any) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg["kserve-triton:inferenceServices"].append(values)

    return mutate


def _compose(*mutations: Mutation) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(cfg)

    return mutate


def _drop(key: str) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        del cfg[key]

    return mutate


def _prod(cfg: dict[str, Any]) -> None:
    """Mark the dev config production, and make it otherwise acceptable as such."""
    cfg["kserve-triton:production"] = True
    cfg["kserve-triton:cluster"].update(
        location="us-central1",
        releaseChannel="STABLE",
        deletionProtection=True,
        protect=True,
        systemNodePool={"machineType": "e2-standard-4", "minNodes": 3, "maxNodes": 3},
    )
    cfg["kserve-triton:gpuNodePool"].update(spot=False, maxNodes=4)
    cfg["kserve-triton:kserve"]["protectCrds"] = True
    for isvc in cfg["kserve-triton:inferenceServices"]:
        isvc.update(minReplicas=2, maxReplicas=2)


def _existing(cfg: dict[str, Any]) -> None:
    """Turn the dev config into an existing-cluster one that is otherwise acceptable."""
    for key in ("gcp:project", "gcp:region", "kserve-triton:gpuNodePool", "kserve-triton:imageCache"):
        del cfg[key]
    cfg["kserve-triton:cluster"] = {"existing": {"context": "kind-kserve"}}
    cfg["kserve-triton:modelStorage"] = {}
    cfg["kserve-triton:inferenceServices"] = [
        {**isvc, "gpus": 0, "storageUri": "gs://kfserving-examples/x"}
        for isvc in cfg["kserve-triton:inferenceServices"]
    ]


@pytest.mark.parametrize("make", [_prod, _existing], ids=["production", "existing cluster"])
def test_the_baselines_the_refusals_start_from_are_accepted(make, pulumi_mocks, dev_config):
    cfg = copy.deepcopy(dev_config)
    make(cfg)
    pulumi_mocks.configure(cfg)
    pulumi_mocks.run_main()
    assert pulumi_mocks.monitor.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")


# (mutation of the dev stack config, the setting the error must name, a phrase it must contain)
REFUSALS: dict[str, tuple[Mutation, str, str]] = {
    "T4 on a g2 machine": (
        _set("gpuNodePool", acceleratorType="nvidia-tesla-t4"),
        "gpuNodePool.acceleratorType",
        "cannot attach to g2-standard-8",
    ),
    "L4 on an n1 machine": (
        _set("gpuNodePool", machineType="n1-standard-8", acceleratorType="nvidia-l4"),
        "gpuNodePool.acceleratorType",
        "cannot attach to n1-standard-8",
    ),
    "A100 on a g2 machine": (
        _set("gpuNodePool", acceleratorType="nvidia-tesla-a100"),
        "gpuNodePool.acceleratorType",
        "a2-highgpu-1g",
    ),
    "two L4 on g2-standard-8": (
        _set("gpuNodePool", acceleratorCount=2),
        "gpuNodePool.acceleratorCount",
        "g2-standard-8 comes with exactly 1 nvidia-l4",
    ),
    "three T4 on n1": (
        _set("gpuNodePool", machineType="n1-standard-8", acceleratorType="nvidia-tesla-t4", acceleratorCount=3),
        "gpuNodePool.acceleratorCount",
        "takes 1 or 2 or 4",
    ),
    "one V100 on a machine too big for it": (
        _set("gpuNodePool", machineType="n1-standard-16", acceleratorType="nvidia-tesla-v100", acceleratorCount=1),
        "gpuNodePool.acceleratorCount",
        "takes 2 or 4 or 8",
    ),
    "zero GPUs": (
        _set("gpuNodePool", acceleratorCount=0),
        "gpuNodePool.acceleratorCount",
        "greater than or equal to 1",
    ),
    "a CPU-only machine for GPUs": (
        _set("gpuNodePool", machineType="e2-standard-8"),
        "gpuNodePool.machineType",
        "nvidia-l4 attaches to",
    ),
    "an unknown accelerator": (
        _set("gpuNodePool", acceleratorType="nvidia-l40s"),
        "gpuNodePool.acceleratorType",
        "known accelerators",
    ),
    "the end-of-life K80": (
        _set("gpuNodePool", machineType="n1-standard-8", acceleratorType="nvidia-tesla-k80"),
        "gpuNodePool.acceleratorType",
        "end-of-life",
    ),
    "minNodes above maxNodes": (
        _set("gpuNodePool", minNodes=3, maxNodes=2),
        "gpuNodePool.minNodes",
        "at most maxNodes (2)",
    ),
    "maxNodes of zero": (_set("gpuNodePool", maxNodes=0), "gpuNodePool.maxNodes", "greater than or equal to 1"),
    "an unknown driver version": (
        _set("gpuNodePool", driverVersion="R535"),
        "gpuNodePool.driverVersion",
        "'DEFAULT' or 'LATEST'",
    ),
    "a string GPU count": (
        _set("gpuNodePool", acceleratorCount="one"),
        "gpuNodePool.acceleratorCount",
        "must be a whole number",
    ),
    "a tiny boot disk": (_set("gpuNodePool", diskSizeGb=10), "gpuNodePool.diskSizeGb", "greater than or equal to 50"),
    "a zone of another region": (
        _set("gpuNodePool", zones=["europe-west4-a"]),
        "gpuNodePool.zones[0]",
        "zone of the cluster's region us-central1",
    ),
    "a region where a zone belongs": (
        _set("gpuNodePool", zones=["us-central1"]),
        "gpuNodePool.zones[0]",
        "must be a zone",
    ),
    "a missing machine type": (_without("gpuNodePool", "machineType"), "gpuNodePool.machineType", "is required"),
    "a misspelt pool setting": (
        _set("gpuNodePool", acceleratorCont=1),
        "gpuNodePool.acceleratorCont",
        "known: machineType",
    ),
    "a location that is not in GCP": (_set("cluster", location="mars-north1"), "cluster.location", "GCP region"),
    "a zone letter on an unknown region": (_set("cluster", location="us-central9-a"), "cluster.location", "GCP region"),
    "a location outside gcp:region": (_set("cluster", location="europe-west4"), "cluster.location", "gcp:region"),
    "an unknown release channel": (_set("cluster", releaseChannel="NIGHTLY"), "cluster.releaseChannel", "'REGULAR'"),
    "an invalid cluster name": (_set("cluster", name="Prod_Cluster"), "cluster.name", "lowercase letters"),
    "a misspelt cluster setting": (
        _set("cluster", deletionProtecton=False),
        "cluster.deletionProtecton",
        "did you mean deletionProtection?",
    ),
    "system minNodes above maxNodes": (
        _set("cluster", systemNodePool={"minNodes": 4, "maxNodes": 2}),
        "cluster.systemNodePool.minNodes",
        "at most maxNodes (2)",
    ),
    "Knative mode": (_set("kserve", deploymentMode="Knative"), "kserve.deploymentMode", "Knative Serving and Istio"),
    "the legacy RawDeployment name": (
        _set("kserve", deploymentMode="RawDeployment"),
        "kserve.deploymentMode",
        "legacy name of Standard",
    ),
    "ModelMesh mode": (_set("kserve", deploymentMode="ModelMesh"), "kserve.deploymentMode", "ModelMesh controller"),
    "an unsupported KServe version": (_set("kserve", version="v0.15.2"), "kserve.version", "v0.20.x"),
    "an unpinned KServe version": (_set("kserve", version="latest"), "kserve.version", "v0.20.x"),
    "a cert-manager older than KServe needs": (
        _set("kserve", certManager={"version": "v1.14.0"}),
        "kserve.certManager.version",
        "v1.17.0 or newer",
    ),
    "an invalid ingress class": (
        _set("kserve", ingress={"className": "Nginx_Class"}),
        "kserve.ingress.className",
        "IngressClass",
    ),
    "an invalid ingress domain": (
        _set("kserve", ingress={"className": "nginx", "domain": "localhost"}),
        "kserve.ingress.domain",
        "DNS domain",
    ),
    "a misspelt kserve setting": (_set("kserve", protectCRDs=False), "kserve.protectCRDs", "known: version"),
    "an unpinned Triton image": (_set("triton", image="nvcr.io/nvidia/tritonserver"), "triton.image", "pinned"),
    "Triton at latest": (_set("triton", image="nvcr.io/nvidia/tritonserver:latest"), "triton.image", "not latest"),
    "a malformed digest": (_set("triton", image="nvcr.io/nvidia/tritonserver@sha256:abc"), "triton.image", "sha256"),
    "a /dev/shm size that is not a quantity": (_set("triton", shmSize="1 gig"), "triton.shmSize", "quantity"),
    "a startup timeout too short for model loads": (
        _set("triton", startupTimeoutSeconds=5),
        "triton.startupTimeoutSeconds",
        "greater than or equal to 60",
    ),
    "a bucket name that is not one": (_set("modelStorage", buckets=["gs://x"]), "modelStorage.buckets", "bucket name"),
    "a name that is not a DNS-1035 label": (_isvc(0, name="ResNet_50"), "inferenceServices[0].name", "DNS-1035"),
    "a name too long for the predictor Service": (_isvc(0, name="m" * 54), "inferenceServices[0].name", "at most 53"),
    "a name starting with a digit": (_isvc(0, name="3d-unet"), "inferenceServices[0].name", "DNS-1035"),
    "a format Triton does not serve": (_isvc(0, modelFormat="sklearn"), "inferenceServices[0].modelFormat", "serves"),
    "a format version the runtime does not declare": (
        _isvc(0, modelFormat="tensorrt", modelFormatVersion="10"),
        "inferenceServices[0].modelFormatVersion",
        "tensorrt version 8",
    ),
    "a storage scheme KServe cannot fetch": (
        _isvc(0, storageUri="ftp://models/resnet"),
        "inferenceServices[0].storageUri",
        "gs, s3, https, pvc, hf",
    ),
    "plain http storage": (_isvc(0, storageUri="http://models/x"), "inferenceServices[0].storageUri", "scheme"),
    "a storage URI without a path": (_isvc(0, storageUri="gs://"), "inferenceServices[0].storageUri", "scheme"),
    "an https URI without a path": (
        _isvc(0, storageUri="https://models.example.com"),
        "inferenceServices[0].storageUri",
        "https://<host>/<path>",
    ),
    "a bucket nobody granted": (
        _isvc(0, storageUri="gs://someone-elses-bucket/m"),
        "inferenceServices[0].storageUri",
        "modelStorage.buckets",
    ),
    "more GPUs than a node has": (_isvc(0, gpus=2), "inferenceServices[0].gpus", "has 1 GPU(s)"),
    "zero GPUs for a model on GKE": (_isvc(0, gpus=0), "inferenceServices[0].gpus", "serves models on its GPU pool"),
    "minReplicas above maxReplicas": (
        _isvc(0, minReplicas=2, maxReplicas=1),
        "inferenceServices[0].minReplicas",
        "at most maxReplicas (1)",
    ),
    "scale to zero in Standard mode": (_isvc(0, minReplicas=0), "inferenceServices[0].minReplicas", "no scale-to-zero"),
    "the kserve namespace": (_isvc(0, namespace="kserve"), "inferenceServices[0].namespace", "reserved"),
    "an invalid namespace": (_isvc(0, namespace="Team_A"), "inferenceServices[0].namespace", "namespace name"),
    "a duplicate name in a namespace": (
        _add_isvc(name="torchscript-cifar10", modelFormat="onnx", storageUri="gs://kfserving-examples/x"),
        "inferenceServices[1].name",
        "already used in namespace models",
    ),
    "runtimeVersion latest": (_isvc(0, runtimeVersion="latest"), "inferenceServices[0].runtimeVersion", "pinned"),
    "runtimeVersion with a digest-pinned image": (
        _compose(
            _set("triton", image="nvcr.io/nvidia/tritonserver@sha256:" + "a" * 64),
            _isvc(0, runtimeVersion="24.12-py3"),
        ),
        "inferenceServices[0].runtimeVersion",
        "pinned by digest",
    ),
    "more GPUs at minReplicas than the pool holds": (
        _isvc(0, minReplicas=3, maxReplicas=3),
        "inferenceServices",
        "holds at most 2",
    ),
    "a misspelt InferenceService setting": (
        _isvc(0, storageURI="gs://x/y"),
        "inferenceServices[0].storageURI",
        "known: name, namespace",
    ),
    "spot GPUs in production": (_compose(_prod, _set("gpuNodePool", spot=True)), "gpuNodePool.spot", "on-demand"),
    "an unprotected production cluster": (
        _compose(_prod, _set("cluster", deletionProtection=False)),
        "cluster.deletionProtection",
        "production",
    ),
    "a production cluster Pulumi may delete": (
        _compose(_prod, _set("cluster", protect=False)),
        "cluster.protect",
        "true",
    ),
    "public nodes in production": (
        _compose(_prod, _set("cluster", privateNodes=False)),
        "cluster.privateNodes",
        "must be true in a production stack",
    ),
    "an authorized network that is not a CIDR": (
        _set("cluster", masterAuthorizedNetworks=["office"]),
        "cluster.masterAuthorizedNetworks",
        "not a CIDR range",
    ),
    "unprotected CRDs in production": (
        _compose(_prod, _set("kserve", protectCrds=False)),
        "kserve.protectCrds",
        "true",
    ),
    "a single replica in production": (
        _compose(_prod, _isvc(0, minReplicas=1)),
        "inferenceServices[0].minReplicas",
        "at least 2",
    ),
    "GKE settings next to an existing cluster": (
        _set("cluster", existing={"context": "kind-kserve"}),
        "cluster.name",
        "remove it, or remove existing",
    ),
    "a GPU pool on an existing cluster": (
        _compose(
            _existing,
            _add_key(
                "kserve-triton:gpuNodePool",
                {"machineType": "g2-standard-8", "acceleratorType": "nvidia-l4", "maxNodes": 1},
            ),
        ),
        "gpuNodePool",
        "no GKE node pool",
    ),
    "GPUs on an existing cluster": (_compose(_existing, _isvc(0, gpus=1)), "inferenceServices[0].gpus", "gpus: 0"),
    "bucket grants on an existing cluster": (
        _compose(_existing, _set("modelStorage", buckets=["team-models"])),
        "modelStorage.buckets",
        "Workload Identity",
    ),
    "production on an existing cluster": (
        _compose(_existing, _add_key("kserve-triton:production", True)),
        "production",
        "GKE",
    ),
    "a GKE stack without a project": (_drop("gcp:project"), "gcp:project", "is required"),
    "a GKE stack without any gcp settings": (
        _compose(_drop("gcp:project"), _drop("gcp:region")),
        "gcp:project",
        "required for a GKE cluster",
    ),
    "a GKE stack without a GPU pool": (
        _drop("kserve-triton:gpuNodePool"),
        "gpuNodePool",
        "required for a GKE Standard",
    ),
    "a GKE cluster without a name": (_without("cluster", "name"), "cluster.name", "is required"),
    "more CPU than a GPU comes with": (_set("triton", cpu="16"), "triton.cpu", "6900m"),
    "a CPU quantity that is not one": (_set("triton", cpu="two"), "triton.cpu", "CPU quantity"),
    "a memory quantity without a unit": (_set("triton", memory="2048"), "triton.memory", "memory quantity"),
    "production that is not a boolean": (_add_key("kserve-triton:production", "yes"), "production", "true or false"),
    "an image cache on an existing cluster": (
        _compose(_existing, _add_key("kserve-triton:imageCache", {"enabled": True})),
        "imageCache.enabled",
        "Artifact Registry",
    ),
    "an invalid repository ID": (
        _add_key("kserve-triton:imageCache", {"repository": "NVCR_proxy"}),
        "imageCache.repository",
        "repository ID",
    ),
    "a secondary boot disk that is not a disk image": (
        _set("gpuNodePool", secondaryBootDisk="gs://bucket/triton.tar"),
        "gpuNodePool.secondaryBootDisk",
        "global/images/NAME",
    ),
    "a secondary boot disk image name with capitals": (
        _set("gpuNodePool", secondaryBootDisk="global/images/Triton"),
        "gpuNodePool.secondaryBootDisk",
        "disk image",
    ),
    "a secondary boot disk without image streaming": (
        _compose(
            _add_key("kserve-triton:imageCache", {"enabled": False}),
            _set("gpuNodePool", secondaryBootDisk="global/images/triton-25-01"),
        ),
        "gpuNodePool.secondaryBootDisk",
        "needs image streaming",
    ),
    "an invalid project ID": (_gcp("project", "My Project"), "gcp:project", "project ID"),
    "an existing GKE cluster in an invalid project": (
        _add_key(
            "kserve-triton:cluster",
            {"existing": {"name": "team-gpu", "location": "us-central1", "project": "My Project"}},
        ),
        "cluster.existing.project",
        "project ID",
    ),
    "an unknown gcp:region": (_gcp("region", "us-middle1"), "gcp:region", "GCP region"),
    "an unknown top-level setting": (
        _add_key("kserve-triton:gpuPool", {"maxNodes": 1}),
        "kserve-triton:gpuPool",
        "unknown setting",
    ),
    "a pool that is not an object": (_add_key("kserve-triton:gpuNodePool", "g2-standard-8"), "gpuNodePool", "object"),
    # --- what the image can load, on which GPU (catalog/triton_releases.py) ---
    "TensorFlow 1, which Triton removed in 23.04": (
        _isvc(0, modelFormat="tensorflow", modelFormatVersion="1"),
        "inferenceServices[0].modelFormatVersion",
        "Triton removed TensorFlow 1 in 23.04",
    ),
    "TensorFlow 1 written as a YAML number": (
        _isvc(0, modelFormat="tensorflow", modelFormatVersion=1),
        "inferenceServices[0].modelFormatVersion",
        "TensorFlow 2",
    ),
    "TensorFlow on an image without the TensorFlow backend": (
        _compose(
            _set("triton", image="nvcr.io/nvidia/tritonserver:25.03-py3"),
            _isvc(0, modelFormat="tensorflow", modelFormatVersion="2"),
        ),
        "inferenceServices[0].modelFormatVersion",
        "tritonserver:25.03-py3 has no TensorFlow backend",
    ),
    "TensorFlow without a version on an image without the backend": (
        _compose(_set("triton", image="nvcr.io/nvidia/tritonserver:25.03-py3"), _isvc(0, modelFormat="tensorflow")),
        "inferenceServices[0].modelFormat",
        "use nvcr.io/nvidia/tritonserver:25.02-py3 or older",
    ),
    "a TensorRT 8 plan on an image with TensorRT 10": (
        _isvc(0, modelFormat="tensorrt", modelFormatVersion="8"),
        "inferenceServices[0].modelFormatVersion",
        "tritonserver:25.01-py3 has TensorRT 10 (10.8.0.43)",
    ),
    "a runtimeVersion whose image has no TensorFlow backend": (
        _isvc(0, modelFormat="tensorflow", modelFormatVersion="2", runtimeVersion="25.04-py3"),
        "inferenceServices[0].runtimeVersion",
        "tritonserver:25.04-py3 has no TensorFlow backend",
    ),
    "a runtimeVersion whose TensorRT is not the plan's": (
        _compose(
            _set("triton", image="nvcr.io/nvidia/tritonserver:24.04-py3"),
            _isvc(0, modelFormat="tensorrt", modelFormatVersion="8", runtimeVersion="25.01-py3"),
        ),
        "inferenceServices[0].runtimeVersion",
        "a TensorRT plan only loads on the TensorRT version that built it",
    ),
    "a V100 pool for an image that needs compute capability 7.5": (
        _set("gpuNodePool", machineType="n1-standard-8", acceleratorType="nvidia-tesla-v100", acceleratorCount=1),
        "gpuNodePool.acceleratorType",
        "compute capability 7.0) cannot run nvcr.io/nvidia/tritonserver:25.01-py3, which needs compute capability "
        "7.5 or newer: use nvcr.io/nvidia/tritonserver:24.12-py3 or older on it",
    ),
    "a runtimeVersion too new for a P100 pool": (
        _compose(
            _set("triton", image="nvcr.io/nvidia/tritonserver:24.12-py3"),
            _set("gpuNodePool", machineType="n1-standard-8", acceleratorType="nvidia-tesla-p100", acceleratorCount=1),
            _set("gpuNodePool", zones=["us-central1-c"]),
            _isvc(0, runtimeVersion="25.01-py3"),
        ),
        "inferenceServices[0].runtimeVersion",
        "P100 16GB (nvidia-tesla-p100, compute capability 6.0) cannot run",
    ),
    # --- zones that really have the GPU (catalog/gcp_locations.py) ---
    "a zone that does not exist": (
        _set("gpuNodePool", zones=["us-central1-z"]),
        "gpuNodePool.zones[0]",
        "is not a zone of us-central1; its zones: us-central1-a, us-central1-b, us-central1-c, us-central1-f",
    ),
    "a zone without the GPU": (
        _set("gpuNodePool", zones=["us-central1-f"]),
        "gpuNodePool.zones[0]",
        "does not offer nvidia-l4: the zones of us-central1 that offer nvidia-l4 are us-central1-a, us-central1-b, "
        "us-central1-c",
    ),
    "a zonal cluster in a zone without the GPU": (
        _compose(_set("cluster", location="us-central1-f"), _without("gpuNodePool", "zones")),
        "cluster.location",
        "does not offer nvidia-l4",
    ),
    "a regional cluster in a region without the GPU": (
        _compose(
            _gcp("region", "africa-south1"),
            _set("cluster", location="africa-south1"),
            _without("gpuNodePool", "zones"),
        ),
        "gpuNodePool.acceleratorType",
        "no zone of africa-south1 offers it",
    ),
    # --- replicas that fit a real node (catalog/gcp.py, node_budget) ---
    "a /dev/shm as large as the replica": (_set("triton", shmSize="25344Mi"), "triton.shmSize", "counts against"),
    "memory above what one GPU's share leaves": (_set("triton", memory="26Gi"), "triton.memory", "25344Mi"),
    "a GPU machine with no room left for Triton": (
        _set("gpuNodePool", machineType="n1-highcpu-2", acceleratorType="nvidia-tesla-t4", acceleratorCount=1),
        "gpuNodePool.machineType",
        "has no CPU or memory left for a Triton replica",
    ),
    # --- model storage that cannot be half-supported ---
    "an oci:// modelcar": (
        _isvc(0, storageUri="oci://us-docker.pkg.dev/p/models/resnet:1"),
        "inferenceServices[0].storageUri",
        "KServe runs the server container as uid 1010",
    ),
    # --- structure: a concern that is not a mapping is one line naming it -------------------------------------
    "a cluster given as a list": (_add_key("kserve-triton:cluster", ["c"]), "cluster", "must be a YAML object"),
    "a cluster given as text": (_add_key("kserve-triton:cluster", "c"), "cluster", "must be a YAML object"),
    "an empty cluster (YAML null)": (
        _add_key("kserve-triton:cluster", None),
        "cluster",
        "is empty: write its settings",
    ),
    "an empty kserve section (YAML null)": (
        _add_key("kserve-triton:kserve", None),
        "kserve",
        "or remove the line for the defaults",
    ),
    "InferenceServices given as a mapping": (
        _add_key("kserve-triton:inferenceServices", {"name": "x"}),
        "inferenceServices",
        "must be a YAML list",
    ),
    "an InferenceService given as text": (
        _add_key("kserve-triton:inferenceServices", ["resnet"]),
        "inferenceServices[0]",
        "must be a YAML object",
    ),
    # --- numbers: finite, and within GKE's and Kubernetes' limits ---------------------------------------------
    "a NaN autoscaling target": (
        _isvc(0, maxReplicas=2, autoscaling={"target": "NaN"}),
        "inferenceServices[0].autoscaling.target",
        "must be a number",
    ),
    "an autoscaling target beyond any float": (
        _isvc(0, maxReplicas=2, autoscaling={"target": "1e999"}),
        "inferenceServices[0].autoscaling.target",
        "must be a finite number",
    ),
    "a target no Kubernetes quantity holds": (
        _isvc(0, maxReplicas=2, autoscaling={"signal": "requestRate", "target": 1e30}),
        "inferenceServices[0].autoscaling.target",
        "outside what a Kubernetes quantity holds (0.001 to 2^63-1)",
    ),
    "more GPU nodes than GKE puts in a pool's zone": (
        _set("gpuNodePool", maxNodes=1001),
        "gpuNodePool.maxNodes",
        "GKE puts at most 1,000 nodes of a pool in one zone, so 1 zone(s) hold at most 1,000",
    ),
    "an absurd GPU node count": (_set("gpuNodePool", maxNodes=10**30), "gpuNodePool.maxNodes", "at most 1,000"),
    "more system nodes than a zonal pool holds": (
        _set("cluster", systemNodePool={"minNodes": 1, "maxNodes": 5000}),
        "cluster.systemNodePool.maxNodes",
        "at most 1,000 here",
    ),
    "more shared replicas on a node than GKE's Pods per node": (
        _set(
            "gpuNodePool",
            machineType="a2-megagpu-16g",
            acceleratorType="nvidia-tesla-a100",
            acceleratorCount=None,
            zones=["us-central1-a"],
            sharing={"clientsPerGpu": 8},
        ),
        "gpuNodePool.sharing.clientsPerGpu",
        "16 GPU(s) x 8 is 128 replicas on one node; GKE runs at most 110 Pods per node, 12 of them its DaemonSets",
    ),
    "a replica maximum the GPU pool can never hold": (
        _isvc(0, maxReplicas=3),
        "inferenceServices[0].maxReplicas",
        "the GPU pool holds at most 2 GPU slot(s) (gpuNodePool.maxNodes 2 x 1 per node): at most 2 replica(s)",
    ),
    "a replica maximum the pool holds only without the other services": (
        _compose(
            _isvc(0, maxReplicas=2),
            _add_isvc(name="b", modelFormat="onnx", storageUri="gs://kfserving-examples/x"),
        ),
        "inferenceServices[0].maxReplicas",
        "1 of them the other InferenceServices' minReplicas: at most 1 replica(s)",
    ),
    "a replica count beyond Kubernetes' 32 bits on a cluster without a pool": (
        _compose(_existing, _isvc(0, minReplicas=2**31, maxReplicas=2**31)),
        "inferenceServices[0].minReplicas",
        "32-bit integers: at most 2,147,483,647",
    ),
    "more GPUs per node than any machine has": (
        _compose(
            _existing,
            _add_key(
                "kserve-triton:cluster",
                {"existing": {"context": "kind", "gpuNodes": {"acceleratorType": "x", "gpusPerNode": 64}}},
            ),
            _add_key("kserve-triton:triton", {"cpu": "2", "memory": "8Gi"}),
        ),
        "cluster.existing.gpuNodes.gpusPerNode",
        "Compute Engine's largest has 16",
    ),
    # --- names: machine types and quantities ------------------------------------------------------------------
    "a system machine type the catalog does not know": (
        _set("cluster", systemNodePool={"machineType": "e2-standrd-4"}),
        "cluster.systemNodePool.machineType",
        "did you mean e2-standard-4?",
    ),
    "a GPU machine for the system pool": (
        _set("cluster", systemNodePool={"machineType": "g2-standard-8"}),
        "cluster.systemNodePool.machineType",
        "comes with 1 nvidia-l4 built in, which the system pool would leave idle",
    ),
    "a CPU quantity more precise than Kubernetes keeps": (_set("triton", cpu="0.0001"), "triton.cpu", "at least 100m"),
    "a memory quantity beyond what Kubernetes stores": (_set("triton", memory="9Ei"), "triton.memory", "256Mi"),
    "a /dev/shm of 0": (_set("triton", shmSize="0"), "triton.shmSize", "is too small: a size such as 512Mi"),
    "a /dev/shm in a unit Kubernetes does not have": (_set("triton", shmSize="1GB"), "triton.shmSize", "quantity"),
    "more local disk than the GPU node's boot disk": (
        _set("triton", ephemeralStorage="300G"),
        "triton.ephemeralStorage",
        "cannot exceed the GPU node's boot disk (gpuNodePool.diskSizeGb: 200 GB",
    ),
    # --- the Triton image: a reference, and NVIDIA's tag scheme -----------------------------------------------
    "a Triton image without a registry": (
        _set("triton", image="tritonserver:25.01-py3"),
        "triton.image",
        "names no registry, so it would be pulled from Docker Hub (docker.io/library/tritonserver), where NVIDIA "
        "does not publish Triton: write nvcr.io/nvidia/tritonserver:25.01-py3",
    ),
    "NVIDIA's path without the registry": (
        _set("triton", image="nvidia/tritonserver:25.01-py3"),
        "triton.image",
        "docker.io/nvidia/tritonserver",
    ),
    "a Triton tag without its variant": (
        _set("triton", image="nvcr.io/nvidia/tritonserver:25.01"),
        "triton.image",
        "is not a tag of NVIDIA's scheme (YY.MM-VARIANT, e.g. 25.01-py3); did you mean 25.01-py3?",
    ),
    "a Triton release that does not exist": (
        _set("triton", image="nvcr.io/nvidia/tritonserver:25.13-py3"),
        "triton.image",
        "25.13 is not a Triton release this project knows; the nearest it knows is 25.12-py3",
    ),
    "a Triton release newer than the catalog": (
        _set("triton", image="nvcr.io/nvidia/tritonserver:27.01-py3"),
        "triton.image",
        "add it to catalog/triton_releases.py with its sources",
    ),
    "a Triton version number as the tag": (
        _set("triton", image="nvcr.io/nvidia/tritonserver:2.54.0"),
        "triton.image",
        "Triton 2.54.0 is the image 25.01-py3",
    ),
    "a misspelt Triton variant": (
        _set("triton", image="nvcr.io/nvidia/tritonserver:25.01-pyt-python"),
        "triton.image",
        "did you mean 25.01-pyt-python-py3?",
    ),
    "the Triton SDK image": (
        _set("triton", image="nvcr.io/nvidia/tritonserver:25.01-py3-sdk"),
        "triton.image",
        "the client SDK (clients, perf_analyzer, model analyzer), no server: use 25.01-py3",
    ),
    "the Jetson image on GKE": (
        _set("triton", image="nvcr.io/nvidia/tritonserver:25.01-py3-igpu"),
        "triton.image",
        "not GKE's data-center GPUs",
    ),
    "an image reference with capitals": (
        _set("triton", image="nvcr.io/NVIDIA/tritonserver:25.01-py3"),
        "triton.image",
        "'NVIDIA' is not a repository name component (repository names are lowercase)",
    ),
    "an ONNX model on the PyTorch-only image": (
        _compose(
            _set("triton", image="nvcr.io/nvidia/tritonserver:25.01-pyt-python-py3"), _isvc(0, modelFormat="onnx")
        ),
        "inferenceServices[0].modelFormat",
        "the -pyt-python-py3 image has the python and pytorch backends only, not onnxruntime",
    ),
    "a runtimeVersion that is not one of NVIDIA's tags": (
        _isvc(0, runtimeVersion="25.1-py3"),
        "inferenceServices[0].runtimeVersion",
        "did you mean 25.01-py3?",
    ),
    # --- defaults derived from other settings: the setting that causes the problem is named -------------------
    "a GPU shared by more replicas than its node's share holds": (
        _set("gpuNodePool", machineType="g2-standard-4", sharing={"clientsPerGpu": 48}),
        "gpuNodePool.sharing.clientsPerGpu",
        "one GPU of a g2-standard-4 comes with 2900m and 10496Mi, so each of 48 replicas would get 0m and 0Mi; at most "
        "29 leave each replica 100m and 256Mi",
    ),
    # --- production: what the README promises (and the README's table is read by tests/program/test_docs.py) ----
    "a zonal production cluster": (
        _compose(_prod, _set("cluster", location="us-central1-a")),
        "cluster.location",
        "a production cluster is regional",
    ),
    "a production cluster on the REGULAR channel": (
        _compose(_prod, _set("cluster", releaseChannel="REGULAR")),
        "cluster.releaseChannel",
        "a production cluster is on STABLE",
    ),
    "two system nodes in production": (
        _compose(_prod, _set("cluster", systemNodePool={"minNodes": 2, "maxNodes": 3})),
        "cluster.systemNodePool.minNodes",
        "at least 3 nodes",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_bad_config_is_refused_by_name_before_anything_is_created(case, pulumi_mocks, dev_config):
    mutate, setting, phrase = REFUSALS[case]
    cfg = copy.deepcopy(dev_config)
    mutate(cfg)
    pulumi_mocks.configure(cfg)

    with pytest.raises(config.ConfigError) as refused:
        pulumi_mocks.run_main()

    assert setting in [p.setting for p in refused.value.problems], str(refused.value)
    assert phrase in str(refused.value)
    assert pulumi_mocks.monitor.nodes == {}, "a refused config must not register any resource"


def test_every_problem_is_reported_at_once(dev_config):
    raw = {
        "gcp": {"project": "my-project", "region": "us-central1"},
        "cluster": {"name": "c", "location": "us-central1-a", "releaseChanel": "RAPID"},
        "gpuNodePool": {"machineType": "g2-standard-8", "acceleratorType": "nvidia-l4", "maxNodes": 1, "spot": "often"},
    }
    with pytest.raises(config.ConfigError) as refused:
        config.parse(raw)
    assert {p.setting for p in refused.value.problems} == {"cluster.releaseChanel", "gpuNodePool.spot"}


def test_the_message_names_setting_value_and_what_is_allowed():
    raw = {
        "gcp": {"project": "my-project", "region": "us-central1"},
        "cluster": {"name": "c", "location": "us-central1-a"},
        "gpuNodePool": {
            "machineType": "g2-standard-24",
            "acceleratorType": "nvidia-l4",
            "acceleratorCount": 1,
            "maxNodes": 1,
        },
    }
    with pytest.raises(config.ConfigError) as refused:
        config.parse(raw)
    assert "gpuNodePool.acceleratorCount: 1 is not allowed: g2-standard-24 comes with exactly 2 nvidia-l4" in str(
        refused.value
    )


@pytest.mark.parametrize(
    ("machine", "accelerator", "count"),
    [
        ("g2-standard-4", "nvidia-l4", 1),
        ("g2-standard-48", "nvidia-l4", 4),
        ("n1-standard-4", "nvidia-tesla-t4", 1),
        ("n1-standard-96", "nvidia-tesla-t4", 4),
        ("n1-highmem-8", "nvidia-tesla-v100", 1),
        ("a2-highgpu-2g", "nvidia-tesla-a100", 2),
        ("a2-ultragpu-1g", "nvidia-a100-80gb", 1),
        ("a3-highgpu-8g", "nvidia-h100-80gb", 8),
        ("g4-standard-96", "nvidia-rtx-pro-6000", 2),
    ],
)
def test_valid_pairings_are_accepted(machine, accelerator, count):
    settings = config.parse(
        {
            "gcp": {"project": "my-project", "region": "us-central1"},
            "cluster": {"name": "c", "location": "us-central1"},
            "gpuNodePool": {
                "machineType": machine,
                "acceleratorType": accelerator,
                "acceleratorCount": count,
                "maxNodes": 2,
            },
            # Images from 25.01 need compute capability 7.5: a V100 (7.0) needs 24.12 or older.
            "triton": {"image": f"nvcr.io/nvidia/tritonserver:{'24.12' if 'v100' in accelerator else '25.01'}-py3"},
        }
    )
    assert settings.gpu_node_pool.gpus_per_node == count


def test_gpu_count_defaults_to_what_the_machine_comes_with():
    settings = config.parse(
        {
            "gcp": {"project": "my-project", "region": "us-central1"},
            "cluster": {"name": "c", "location": "us-central1"},
            "gpuNodePool": {"machineType": "a2-highgpu-4g", "acceleratorType": "nvidia-tesla-a100", "maxNodes": 1},
        }
    )
    assert settings.gpu_node_pool.gpus_per_node == 4


def test_defaults_are_the_safe_ones():
    settings = config.parse(
        {
            "gcp": {"project": "my-project", "region": "us-central1"},
            "cluster": {"name": "c", "location": "us-central1"},
            "gpuNodePool": {"machineType": "g2-standard-8", "acceleratorType": "nvidia-l4", "maxNodes": 1},
        }
    )
    assert settings.cluster.release_channel == "REGULAR"
    assert settings.cluster.deletion_protection is True
    assert settings.cluster.protect is True
    assert settings.cluster.is_regional
    assert settings.gpu_node_pool.driver_version == "DEFAULT"
    assert settings.gpu_node_pool.spot is False
    assert settings.gpu_node_pool.min_nodes == 0


# --- the YAML rule: what a user writes in a stack file is read as they meant it -------------------------

GKE = {
    "gcp": {"project": "my-project"},
    "cluster": {"name": "c", "location": "us-central1-a"},
    "gpuNodePool": {"machineType": "g2-standard-8", "acceleratorType": "nvidia-l4", "maxNodes": 2},
}


def _with(**sections: Any) -> dict[str, Any]:
    raw = copy.deepcopy(GKE)
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return raw


def test_numbers_are_accepted_where_text_is_expected_as_the_text_they_were_written_as():
    settings = config.parse(
        _with(
            triton={"cpu": 4, "shmSize": 512},
            inferenceServices=[
                {"name": "m", "modelFormat": "onnx", "modelFormatVersion": 1, "storageUri": "gs://kfserving-examples/m"}
            ],
        )
    )
    assert settings.triton.cpu == "4" and settings.replica_size.cpu_millis == 4000
    assert settings.triton.shm_size == "512"
    assert settings.inference_services[0].model_format_version == "1"
    assert config.parse(_with(triton={"cpu": 0.5})).triton.cpu == "0.5"


def test_quoted_counts_and_flags_are_accepted_as_pulumi_config_set_writes_them():
    settings = config.parse(_with(gpuNodePool={"acceleratorCount": "1", "maxNodes": "3", "spot": "True"}))
    assert settings.gpu_node_pool.accelerator_count == 1
    assert settings.gpu_node_pool.max_nodes == 3
    assert settings.gpu_node_pool.spot is True


@pytest.mark.parametrize(
    ("sections", "setting", "message"),
    [
        ({"gpuNodePool": {"maxNodes": 1.5}}, "gpuNodePool.maxNodes", "must be a whole number"),
        ({"gpuNodePool": {"maxNodes": "1.5"}}, "gpuNodePool.maxNodes", "must be a whole number"),
        ({"gpuNodePool": {"maxNodes": True}}, "gpuNodePool.maxNodes", "must be a whole number"),
        ({"gpuNodePool": {"spot": "yes"}}, "gpuNodePool.spot", "must be true or false"),
        ({"gpuNodePool": {"spot": 1}}, "gpuNodePool.spot", "must be true or false"),
        ({"triton": {"image": True}}, "triton.image", "must be text"),
        ({"gpuNodePool": {"zones": "us-central1-a"}}, "gpuNodePool.zones", "must be a YAML list"),
        ({"triton": ["image"]}, "triton", "must be a YAML object"),
    ],
)
def test_values_of_the_wrong_kind_are_refused_in_words(sections, setting, message):
    with pytest.raises(config.ConfigError) as refused:
        config.parse(_with(**sections))
    assert [p.setting for p in refused.value.problems] == [setting]
    assert message in str(refused.value)


def test_every_setting_follows_the_yaml_rule():
    """Scalars are Text, Count, Flag or a closed Literal: no setting is left to pydantic's own coercions."""
    import types
    import typing

    from pydantic import BeforeValidator

    from settings.base import RULE_READERS
    from settings.stack import StackSettings, model_in

    def scalar_types(annotation: Any) -> list[Any]:
        if typing.get_origin(annotation) is typing.Annotated and not follows_the_rule(annotation):
            return scalar_types(typing.get_args(annotation)[0])  # constraints around an Optional
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            return [t for arg in typing.get_args(annotation) if arg is not type(None) for t in scalar_types(arg)]
        if typing.get_origin(annotation) is list:
            return scalar_types(typing.get_args(annotation)[0])
        return [annotation]

    def follows_the_rule(scalar: Any) -> bool:
        if typing.get_origin(scalar) is typing.Literal:
            return True
        readers = [m.func for m in getattr(scalar, "__metadata__", ()) if isinstance(m, BeforeValidator)]
        return any(reader in RULE_READERS for reader in readers)

    def walk(model: Any) -> None:
        for name, field in model.model_fields.items():
            try:
                walk(model_in(field.annotation))
                continue
            except TypeError:
                pass
            annotation = field.rebuild_annotation()
            for scalar in scalar_types(annotation):
                assert follows_the_rule(scalar), f"{model.__name__}.{name} is {scalar}"

    walk(StackSettings)


# --- clear messages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_messages_never_show_python_objects(case, dev_config):
    mutate, _, _ = REFUSALS[case]
    cfg = copy.deepcopy(dev_config)
    mutate(cfg)
    raw = {"gcp": {k[4:]: v for k, v in cfg.items() if k.startswith("gcp:")}}
    raw.update({k.split(":", 1)[1]: v for k, v in cfg.items() if k.startswith("kserve-triton:")})
    try:
        config.parse(raw)
    except config.ConfigError as refused:
        text = str(refused)
        assert "Settings(" not in text and " object at 0x" not in text and "True" not in text, text


def test_a_gke_setting_next_to_existing_is_shown_as_yaml_not_as_an_object():
    with pytest.raises(config.ConfigError) as refused:
        config.parse({"cluster": {"existing": {"context": "kind-kserve"}, "systemNodePool": {"minNodes": 2}}})
    assert str(refused.value).endswith(
        'cluster.systemNodePool: {"minNodes": 2} is not allowed: is a GKE setting; remove it, or remove existing'
    )


def test_a_misspelt_setting_suggests_the_right_one():
    with pytest.raises(config.ConfigError) as refused:
        config.parse(_with(gpuNodePool={"acceleratorCont": 1}))
    assert "gpuNodePool.acceleratorCont: 1 is not allowed: unknown setting; did you mean acceleratorCount?" in str(
        refused.value
    )


def test_settings_under_the_wrong_namespace_are_named_as_such(pulumi_mocks, dev_config):
    dev_config["kserve_triton:gpuNodePool"] = dev_config.pop("kserve-triton:gpuNodePool")
    pulumi_mocks.configure(dev_config)
    with pytest.raises(config.ConfigError) as refused:
        pulumi_mocks.run_main()
    assert [p.setting for p in refused.value.problems] == ["kserve_triton:gpuNodePool"]
    assert "is in namespace 'kserve_triton', which this program does not read" in str(refused.value)
    assert "write kserve-triton:gpuNodePool" in str(refused.value)
    assert pulumi_mocks.monitor.nodes == {}


def test_an_unknown_project_setting_suggests_the_known_one(pulumi_mocks, dev_config):
    dev_config["kserve-triton:inferenceService"] = []
    pulumi_mocks.configure(dev_config)
    with pytest.raises(config.ConfigError) as refused:
        pulumi_mocks.run_main()
    assert "did you mean kserve-triton:inferenceServices?" in str(refused.value)


# --- existing clusters and the GCP provider's settings ----------------------------------------------------


def test_an_existing_cluster_ignores_inherited_gcp_settings(pulumi_mocks):
    from tests.support.stacks import ROOT, stack_config

    local = stack_config(ROOT / "Pulumi.local.yaml")
    pulumi_mocks.configure({**local, "gcp:project": "Not A Project ID", "gcp:zone": "us-central1-a"})
    pulumi_mocks.run_main()
    assert not [n for n in pulumi_mocks.monitor.nodes.values() if n.type.startswith("gcp:")]


@pytest.mark.parametrize("context", ["", "  "])
def test_an_empty_kubeconfig_context_is_refused(context):
    with pytest.raises(config.ConfigError) as refused:
        config.parse({"cluster": {"existing": {"context": context}}})
    assert [p.setting for p in refused.value.problems] == ["cluster.existing.context"]
    assert "an empty context means whichever context is current" in str(refused.value)


def test_a_gke_stack_without_a_project_is_told_how_to_set_it(pulumi_mocks, dev_config):
    del dev_config["gcp:project"]
    pulumi_mocks.configure(dev_config)
    with pytest.raises(config.ConfigError) as refused:
        pulumi_mocks.run_main()
    assert str(refused.value).endswith(
        "gcp:project: is required for a GKE cluster: run `pulumi config set gcp:project <your-project-id>`"
    )


def test_gcp_region_is_optional_and_the_cluster_location_decides():
    settings = config.parse({**GKE, "gcp": {"project": "my-project"}})
    assert settings.gcp.region is None and settings.cluster.region == "us-central1"


# --- what stays accepted --------------------------------------------------------------------------------------


def test_a_regional_gpu_pool_without_zones_gets_the_regions_zones_that_offer_the_gpu(pulumi_mocks, dev_config):
    dev_config["kserve-triton:cluster"]["location"] = "us-central1"
    del dev_config["kserve-triton:gpuNodePool"]["zones"]
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main()
    pool = pulumi_mocks.monitor.one("gcp:container/nodePool:NodePool", "gpu")
    # us-central1-f has no L4 (../shared/gcp/accelerator-zones.csv)
    assert pool.inputs["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]


@pytest.mark.parametrize(
    ("image", "isvc"),
    [
        ("nvcr.io/nvidia/tritonserver:24.04-py3", {"modelFormat": "tensorrt", "modelFormatVersion": "8"}),
        ("nvcr.io/nvidia/tritonserver:25.02-py3", {"modelFormat": "tensorflow", "modelFormatVersion": "2"}),
        ("nvcr.io/nvidia/tritonserver:25.01-py3", {"modelFormat": "tensorrt"}),
        # Pinned by digest, or not NVIDIA's image: the release facts are unchecked (README: "Images the catalog does
        # not know").
        ("nvcr.io/nvidia/tritonserver@sha256:" + "a" * 64, {"modelFormat": "tensorrt", "modelFormatVersion": "8"}),
        ("registry.example.com/ml/triton-custom:2.1", {"modelFormat": "tensorflow", "modelFormatVersion": "2"}),
    ],
)
def test_what_the_image_can_load_is_accepted(image, isvc):
    settings = config.parse(
        _with(
            triton={"image": image},
            inferenceServices=[{"name": "m", "storageUri": "gs://kfserving-examples/m", **isvc}],
        )
    )
    assert settings.inference_services[0].model_format == isvc["modelFormat"]


def test_accelerators_without_zone_data_are_not_refused_for_their_zone():
    """The zone catalog has no rows for RTX PRO 6000 (see catalog/gcp_locations.py): unchecked, not refused."""
    settings = config.parse(
        _with(gpuNodePool={"machineType": "g4-standard-48", "acceleratorType": "nvidia-rtx-pro-6000", "zones": None})
    )
    assert settings.gpu_node_pool.accelerator_type == "nvidia-rtx-pro-6000"
