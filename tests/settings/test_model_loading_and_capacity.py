"""Model loading modes and GPU capacity that falls back: what a stack may ask for, the defaults the stage model picks,
and every refusal, by name and before anything is created."""

from __future__ import annotations

import copy

import pytest

from settings import stack as config
from tests.support.capacity_models import (
    AUTOPILOT_FALLBACK,
    EXISTING_GKE,
    FALLBACK,
    FUSE,
    MODEL,
    RESERVATION,
    SAMPLE,
)
from tests.support.stacks import TEST_PROJECT


def changed(cfg, **sections):
    cfg = copy.deepcopy(cfg)
    for key, value in sections.items():
        cfg[f"kserve-triton:{key}"] = value
    return cfg


def with_model(cfg, **fields):
    return changed(cfg, inferenceServices=[{**MODEL, **fields}])


def with_pool(cfg, **fields):
    return changed(cfg, gpuNodePool={**cfg["kserve-triton:gpuNodePool"], **fields})


def parsed(cfg) -> config.StackSettings:
    raw = {"gcp": {k[4:]: v for k, v in cfg.items() if k.startswith("gcp:")}}
    raw.update({k.split(":", 1)[1]: copy.deepcopy(v) for k, v in cfg.items() if k.startswith("kserve-triton:")})
    return config.parse(raw)


LOCAL = {
    "kserve-triton:cluster": {"existing": {"context": "kind-kserve"}},
    "kserve-triton:inferenceServices": [{**SAMPLE, "gpus": 0}],
}
BIG = 141.2  # Llama-3.3-70B in bf16

REFUSALS = {
    # --- loading modes the cluster cannot give ---
    "KServe's LocalModelCache": (
        with_model(FUSE, modelLoading="localModelCache"),
        "inferenceServices[0].modelLoading",
        "KServe's LocalModelCache is not offered here: it needs the kserve-localmodel-crd",
    ),
    "FUSE on a cluster reached by kubeconfig context": (
        changed(LOCAL, inferenceServices=[{**SAMPLE, "gpus": 0, "modelLoading": "gcsFuse", "modelSizeGb": 1}]),
        "inferenceServices[0].modelLoading",
        "needs GKE's CSI drivers (Cloud Storage FUSE, Persistent Disk) and Workload Identity",
    ),
    "FUSE of an s3:// model": (
        with_model(FUSE, modelLoading="gcsFuse", storageUri="s3://models/resnet"),
        "inferenceServices[0].modelLoading",
        "reads a Cloud Storage bucket: storageUri must be gs://",
    ),
    "FUSE without the model's size": (
        changed(FUSE, inferenceServices=[{**MODEL, "modelLoading": "gcsFuse", "modelSizeGb": None}]),
        "inferenceServices[0].modelSizeGb",
        "is required with gcsFuse: it sizes the file cache",
    ),
    "a FUSE file cache larger than the boot disk": (
        with_model(with_pool(FUSE, diskSizeGb=100), modelLoading="gcsFuse", modelSizeGb=60),
        "inferenceServices[0].modelSizeGb",
        "lives on the node's boot disk, which keeps 50 GB for the system and the images: raise "
        "gpuNodePool.diskSizeGb above 116",
    ),
    "a FUSE load longer than the startup probe allows": (
        with_model(with_pool(FUSE, diskSizeGb=400), modelLoading="gcsFuse", modelSizeGb=BIG),
        "inferenceServices[0].modelLoading",
        "about 1200 s at one stream, and the startup probe allows triton.startupTimeoutSeconds (900 s): raise it to "
        "at least 1500",
    ),
    "Hyperdisk ML on Standard without node auto-creation": (
        with_model(FUSE, modelLoading="hyperdiskMl"),
        "inferenceServices[0].modelLoading",
        "on Standard, set gpuNodePool.capacity (which turns it on), or use gcsFuse",
    ),
    "Hyperdisk ML on an existing cluster": (
        changed(
            EXISTING_GKE,
            inferenceServices=[{**MODEL, "modelLoading": "hyperdiskMl"}],
            modelStorage={"buckets": ["team-models"]},
        ),
        "inferenceServices[0].modelLoading",
        "a cluster setting this program does not change on an existing cluster: use gcsFuse",
    ),
    "Hyperdisk ML for replicas in several zones": (
        with_pool(FALLBACK, zones=["us-central1-a", "us-central1-b"]),
        "inferenceServices[0].modelLoading",
        "a Hyperdisk ML volume is zonal and the GPU replicas may run in us-central1-a, us-central1-b",
    ),
    "Hyperdisk ML on Autopilot (any zone of the region)": (
        with_model(AUTOPILOT_FALLBACK, modelLoading="hyperdiskMl"),
        "inferenceServices[0].modelLoading",
        "a Hyperdisk ML volume is zonal and the GPU replicas may run in us-central1-a",
    ),
    # --- fallback lists ---
    "a reservation without a project": (
        with_pool(FALLBACK, capacity=[{"reservation": {"name": "l4-reserved", "zone": "us-central1-a"}}, "onDemand"]),
        "gpuNodePool.capacity[0].reservation.project",
        "is required: a reservation is named by its project, zone and name",
    ),
    "a reservation without a zone": (
        with_pool(FALLBACK, capacity=[{"reservation": {"name": "l4-reserved", "project": "p-123456"}}]),
        "gpuNodePool.capacity[0].reservation.zone",
        "is required: a reservation is named by its project, zone and name",
    ),
    "a reservation in a zone the replicas never run in": (
        with_pool(
            FALLBACK,
            capacity=[{"reservation": {**RESERVATION["reservation"], "zone": "us-central1-c"}}, "onDemand"],
        ),
        "gpuNodePool.capacity[0].reservation.zone",
        "the GPU replicas run in us-central1-a (the zones of the pool that offer nvidia-l4): a reservation elsewhere "
        "can never supply them",
    ),
    "a reservation that is not in a zone": (
        with_pool(FALLBACK, capacity=[{"reservation": {**RESERVATION["reservation"], "zone": "us-central1"}}]),
        "gpuNodePool.capacity[0].reservation.zone",
        "must be a zone, e.g. us-central1-a (a reservation is zonal)",
    ),
    "an unknown tier": (
        with_pool(FALLBACK, capacity=["onDemand", "preemptible"]),
        "gpuNodePool.capacity[1]",
        "'preemptible' is not allowed: Input should be 'onDemand', 'spot' or 'flexStart'",
    ),
    "a misspelt reservation field": (
        with_pool(FALLBACK, capacity=[{"reservation": {**RESERVATION["reservation"], "projet": "p-123456"}}]),
        "gpuNodePool.capacity[0].reservation.projet",
        "unknown setting; did you mean project? known: name, project, zone",
    ),
    "a tier twice": (with_pool(FALLBACK, capacity=["spot", "onDemand", "spot"]), "gpuNodePool.capacity", "twice"),
    "an empty list": (with_pool(FALLBACK, capacity=[]), "gpuNodePool.capacity", "must list at least one tier"),
    "spot next to a fallback list": (
        with_pool(FALLBACK, spot=True),
        "gpuNodePool.spot",
        "with capacity, spot is a tier of the list: remove spot, list spot",
    ),
    "a fallback list on an existing cluster": (
        with_pool(EXISTING_GKE, capacity=["onDemand", "spot"]),
        "gpuNodePool.capacity",
        "needs node pool auto-creation, a setting of the cluster, which this program does not change on an existing",
    ),
    "time-sharing with a fallback list": (
        with_pool(FALLBACK, sharing={"clientsPerGpu": 2}),
        "gpuNodePool.sharing",
        "auto-created node pools are not time-shared",
    ),
    "warm nodes with a fallback list": (
        with_pool(FALLBACK, minNodes=1),
        "gpuNodePool.minNodes",
        "node pools GKE creates for a ComputeClass scale to zero and have no minimum",
    ),
    "spot in a production fallback list": (
        {**with_pool(FALLBACK, capacity=["onDemand", "spot"]), "kserve-triton:production": True},
        "gpuNodePool.capacity[1]",
        "production GPUs must not be spot",
    ),
    "an Autopilot fallback list without a GPU": (
        changed(
            AUTOPILOT_FALLBACK,
            cluster={**AUTOPILOT_FALLBACK["kserve-triton:cluster"], "autopilot": {"capacity": ["onDemand"]}},
            inferenceServices=[{**SAMPLE, "gpus": 0}],
        ),
        "cluster.autopilot.capacity",
        "is for GPU replicas: set cluster.autopilot.acceleratorType",
    ),
    "spot next to an Autopilot fallback list": (
        changed(
            AUTOPILOT_FALLBACK,
            cluster={
                **AUTOPILOT_FALLBACK["kserve-triton:cluster"],
                "autopilot": {"acceleratorType": "nvidia-l4", "spot": True, "capacity": ["onDemand"]},
            },
        ),
        "cluster.autopilot.spot",
        "with capacity, spot is a tier of the list: remove spot",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refused_by_name_before_anything_is_created(case, pulumi_mocks):
    cfg, setting, phrase = REFUSALS[case]
    pulumi_mocks.configure(copy.deepcopy(cfg))
    with pytest.raises(config.ConfigError) as refused:
        pulumi_mocks.run_main()
    problems = {p.setting: str(p) for p in refused.value.problems}
    assert setting in problems, str(refused.value)
    assert phrase in problems[setting], problems[setting]
    assert pulumi_mocks.monitor.nodes == {}, "a refused config must not register any resource"


# --- what each stack may ask for --------------------------------------------------------------------------------


def test_each_mode_and_tier_is_accepted_where_the_cluster_can_give_it():
    assert parsed(FUSE).inference_services[0].model_loading == "gcsFuse"
    assert parsed(FALLBACK).gpu_node_pool.capacity[1:] == ["onDemand", "spot", "flexStart"]
    for tier in ("onDemand", "spot", "flexStart", RESERVATION):
        assert parsed(with_pool(FALLBACK, capacity=[tier])).gpu_capacity_fallback
    assert parsed(AUTOPILOT_FALLBACK).gpu_capacity_fallback
    existing = changed(with_model(EXISTING_GKE, modelLoading="gcsFuse"), modelStorage={"buckets": ["team-models"]})
    assert parsed(existing) is not None, "checked against the cluster when it is read"


@pytest.mark.parametrize(
    ("size", "cluster", "expected"),
    [
        (None, FUSE, "download"),  # unknown: a small model
        (0.05, FUSE, "download"),  # the samples: seconds either way
        (1.0, FUSE, "gcsFuse"),
        (12, FUSE, "gcsFuse"),
        (12, EXISTING_GKE, "download"),  # FUSE only where this program turns the driver on
    ],
)
def test_the_default_loading_mode_is_the_stage_models(size, cluster, expected):
    from settings.model_loading import loading_mode

    stack = parsed(changed(cluster, inferenceServices=[{**MODEL, "modelSizeGb": size}],
                           modelStorage={"buckets": ["team-models"]}))  # fmt: skip
    assert loading_mode(stack, stack.inference_services[0]) == expected


def test_an_s3_model_of_any_size_defaults_to_download():
    from settings.model_loading import loading_mode

    stack = parsed(with_model(FUSE, storageUri="s3://models/resnet"))
    assert loading_mode(stack, stack.inference_services[0]) == "download"


def test_the_dev_stack_downloads_its_sample(dev_config):
    from settings.model_loading import loading_mode

    stack = parsed(dev_config)
    assert [loading_mode(stack, isvc) for isvc in stack.inference_services] == ["download"]
    assert TEST_PROJECT
