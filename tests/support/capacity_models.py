"""Test configs of each GPU capacity model (an existing GKE cluster with our GPU pool, an existing cluster's own
GPU nodes, Autopilot, a time-shared L4), shared by the suites that run every model."""

from __future__ import annotations

from tests.support.stacks import TEST_PROJECT

SAMPLE = {"name": "cifar10", "modelFormat": "pytorch", "storageUri": "gs://kfserving-examples/models/torchscript"}

EXISTING_GKE = {
    "gcp:project": TEST_PROJECT,
    "kserve-triton:cluster": {"existing": {"name": "team-gpu", "location": "us-central1"}},
    "kserve-triton:gpuNodePool": {"machineType": "g2-standard-8", "acceleratorType": "nvidia-l4", "maxNodes": 2},
    "kserve-triton:inferenceServices": [SAMPLE],
}
EXISTING_GPU_NODES = {
    "gcp:project": TEST_PROJECT,
    "kserve-triton:cluster": {
        "existing": {
            "name": "team-gpu",
            "location": "us-central1",
            "gpuNodes": {"acceleratorType": "nvidia-l4", "gpusPerNode": 2, "machineType": "g2-standard-24"},
        }
    },
    "kserve-triton:inferenceServices": [{**SAMPLE, "gpus": 2}],
}
AUTOPILOT = {
    "gcp:project": TEST_PROJECT,
    "kserve-triton:cluster": {
        "mode": "autopilot",
        "name": "inference",
        "location": "us-central1",
        "autopilot": {"acceleratorType": "nvidia-l4", "spot": True},
    },
    "kserve-triton:inferenceServices": [SAMPLE, {**SAMPLE, "name": "cifar10-big", "gpus": 2}],
}
SHARED_L4 = {
    "gcp:project": TEST_PROJECT,
    "kserve-triton:cluster": {"name": "inference", "location": "us-central1-a"},
    "kserve-triton:gpuNodePool": {
        "machineType": "g2-standard-8",
        "acceleratorType": "nvidia-l4",
        "maxNodes": 1,
        "sharing": {"clientsPerGpu": 4},
    },
    "kserve-triton:inferenceServices": [{**SAMPLE, "name": f"model-{n}"} for n in range(4)],
}
# --- model loading and GPU capacity that falls back (issue 23) ---
MODEL = {"name": "resnet", "modelFormat": "tensorrt", "storageUri": "gs://team-models/resnet/v3", "modelSizeGb": 12}
FUSE = {
    "gcp:project": TEST_PROJECT,
    "kserve-triton:cluster": {"name": "inference", "location": "us-central1-a"},
    "kserve-triton:gpuNodePool": {"machineType": "g2-standard-8", "acceleratorType": "nvidia-l4", "maxNodes": 2},
    "kserve-triton:modelStorage": {"buckets": ["team-models"]},
    "kserve-triton:inferenceServices": [{**MODEL, "modelLoading": "gcsFuse"}, SAMPLE],
}
RESERVATION = {"reservation": {"name": "l4-reserved", "project": "capacity-project", "zone": "us-central1-a"}}
FALLBACK = {
    "gcp:project": TEST_PROJECT,
    "kserve-triton:cluster": {"name": "inference", "location": "us-central1"},
    "kserve-triton:gpuNodePool": {
        "machineType": "g2-standard-8",
        "acceleratorType": "nvidia-l4",
        "maxNodes": 4,
        "zones": ["us-central1-a"],
        "capacity": [RESERVATION, "onDemand", "spot", "flexStart"],
    },
    "kserve-triton:modelStorage": {"buckets": ["team-models"]},
    "kserve-triton:inferenceServices": [{**MODEL, "modelLoading": "hyperdiskMl"}, SAMPLE],
}
AUTOPILOT_FALLBACK = {
    **AUTOPILOT,
    "kserve-triton:cluster": {
        "mode": "autopilot",
        "name": "inference",
        "location": "us-central1",
        "autopilot": {"acceleratorType": "nvidia-l4", "capacity": ["onDemand", "spot", "flexStart"]},
    },
    "kserve-triton:modelStorage": {"buckets": ["team-models"]},
    "kserve-triton:inferenceServices": [{**MODEL, "modelLoading": "gcsFuse"}, SAMPLE],
}
MODES = {"existing GKE + GPU pool": EXISTING_GKE, "existing GPU nodes": EXISTING_GPU_NODES, "Autopilot": AUTOPILOT,
         "time-shared L4": SHARED_L4, "FUSE": FUSE, "fallback + Hyperdisk ML": FALLBACK,
         "Autopilot fallback + FUSE": AUTOPILOT_FALLBACK}  # fmt: skip
