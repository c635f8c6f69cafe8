"""How each InferenceService's replicas get their model (`inferenceServices[].modelLoading`, `modelSizeGb`): KServe's
download per pod, Cloud Storage FUSE, or a Hyperdisk ML volume populated from the bucket; the default from the stage
model (`catalog/model_loading.py`), and what each mode needs of the cluster."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from catalog import model_loading as loading
from settings.base import MISSING, Problem

if TYPE_CHECKING:
    from settings.inference_services import InferenceServiceSettings
    from settings.stack import StackSettings

BOOT_DISK_RESERVED_GB = 50
"""What a GPU node's boot disk keeps besides a FUSE file cache: the OS, the Triton image unpacked (about 15 GB) and
the other images, with room to spare."""
LOCAL_MODEL_CACHE_REFUSED = (
    "KServe's LocalModelCache is not offered here: it needs the kserve-localmodel-crd and kserve-localmodel-resources "
    "charts (a controller and a node agent DaemonSet writing a hostPath), which this program does not install, and it "
    "caches per node: on a GPU node the autoscaler has just created (a scale-up from zero) its agent must download "
    "the model first, so the first replica waits as long as with download. Use gcsFuse (read while Triton loads) or "
    "hyperdiskMl (populated once, attached read-only by every replica)"
)


def fuse_available(stack: StackSettings) -> bool:
    """Whether this program turns GKE's Cloud Storage FUSE CSI driver on (clusters it creates; Autopilot has it on)."""
    return stack.manages_cluster


def node_auto_creation(stack: StackSettings) -> bool:
    """Whether GKE creates node pools for pending pods: Autopilot, or Standard with a fallback list."""
    pool = stack.gpu_node_pool
    return stack.cluster.is_autopilot or (stack.manages_cluster and pool is not None and pool.capacity is not None)


def loading_mode(stack: StackSettings, isvc: InferenceServiceSettings) -> str:
    """The mode set, or the stage model's default (only on clusters this program creates)."""
    if isvc.model_loading is not None:
        return isvc.model_loading
    return loading.default_mode(isvc.model_size_gb, fuse_available=fuse_available(stack), gcs=isvc.bucket is not None)


def uses(stack: StackSettings, mode: str) -> bool:
    return any(loading_mode(stack, isvc) == mode for isvc in stack.inference_services)


def cache_megabytes(size_gb: float) -> int:
    """The FUSE file cache for a model: its size plus a tenth (files are cached whole)."""
    return math.ceil(size_gb * 1.1 * 1000)


def disk_gib(size_gb: float) -> int:
    """A Hyperdisk ML volume for a model: its size plus a tenth, at least the smallest volume."""
    return max(loading.HYPERDISK_ML_MIN_GIB, math.ceil(size_gb * 1.1 * 1e9 / 2**30))


def startup_read_seconds(mode: str, size_gb: float) -> float:
    """How long Triton's load may read the model through FUSE or from the disk, at the pessimistic rate (one stream
    for FUSE: parallel downloads are not on every GKE version), which the startup probe must allow."""
    if mode == "gcsFuse":
        return size_gb * 1000 / loading.ONE_STREAM_MB_S
    if mode == "hyperdiskMl":
        return loading.estimate(mode, size_gb).triton_read_s
    return 0.0


def isvc_problems(stack: StackSettings, isvc: InferenceServiceSettings, where: str) -> list[Problem]:
    mode, setting = loading_mode(stack, isvc), f"{where}.modelLoading"
    if mode == "localModelCache":
        return [Problem(setting, mode, LOCAL_MODEL_CACHE_REFUSED)]
    if mode == "download":
        return []
    problems = []
    if not stack.on_gke:
        return [
            Problem(
                setting,
                mode,
                "needs GKE's CSI drivers (Cloud Storage FUSE, Persistent Disk) and Workload Identity: a cluster "
                "reached by kubeconfig context gets download",
            )
        ]
    if isvc.bucket is None:
        problems.append(
            Problem(setting, mode, f"reads a Cloud Storage bucket: storageUri must be gs://, not {isvc.storage_uri!r}")
        )
    if isvc.model_size_gb is None:
        what = "the file cache" if mode == "gcsFuse" else "the volume"
        problems.append(Problem(f"{where}.modelSizeGb", MISSING, f"is required with {mode}: it sizes {what}"))
        return problems
    pool = stack.gpu_node_pool
    cache_gb = cache_megabytes(isvc.model_size_gb) / 1000
    if mode == "gcsFuse" and pool is not None and cache_gb > pool.disk_size_gb - BOOT_DISK_RESERVED_GB:
        problems.append(
            Problem(
                f"{where}.modelSizeGb",
                isvc.model_size_gb,
                f"the FUSE file cache ({cache_gb:.0f} GB) lives on the node's boot disk, which keeps "
                f"{BOOT_DISK_RESERVED_GB} GB for the system and the images: raise gpuNodePool.diskSizeGb above "
                f"{math.ceil(cache_gb) + BOOT_DISK_RESERVED_GB}",
            )
        )
    if mode == "hyperdiskMl":
        problems += hyperdisk_problems(stack, setting)
    read = startup_read_seconds(mode, isvc.model_size_gb)
    if read > stack.triton.startup_timeout_seconds * 0.8:
        problems.append(
            Problem(
                setting,
                mode,
                f"Triton reads the {isvc.model_size_gb:g} GB model while it loads, about {read:.0f} s at "
                f"{'one stream' if mode == 'gcsFuse' else 'the volume throughput'}, and the startup probe allows "
                f"triton.startupTimeoutSeconds ({stack.triton.startup_timeout_seconds} s): raise it to at least "
                f"{math.ceil(read / 0.8 / 60) * 60}, or use download",
            )
        )
    return problems


def hyperdisk_problems(stack: StackSettings, setting: str) -> list[Problem]:
    """The populator's transfer Job runs on the ComputeClass `gcs-to-hdml-compute-class`, on nodes GKE creates for it,
    and the volume is zonal."""
    from settings.capacity import capacity_zones

    if not stack.manages_cluster:
        return [
            Problem(
                setting,
                "hyperdiskMl",
                "GKE's Volume Populator fills the volume with a Job on nodes GKE creates for it (node pool "
                "auto-creation), a cluster setting this program does not change on an existing cluster: use gcsFuse",
            )
        ]
    if not node_auto_creation(stack):
        return [
            Problem(
                setting,
                "hyperdiskMl",
                "GKE's Volume Populator fills the volume with a Job on nodes GKE creates for it (node pool "
                "auto-creation): on Standard, set gpuNodePool.capacity (which turns it on), or use gcsFuse",
            )
        ]
    zones = capacity_zones(stack)
    if zones is not None and len(zones) > 1:
        return [
            Problem(
                setting,
                "hyperdiskMl",
                f"a Hyperdisk ML volume is zonal and the GPU replicas may run in {', '.join(zones)}: "
                + ("use gcsFuse" if stack.cluster.is_autopilot else "pin the GPU to one zone, or use gcsFuse"),
            )
        ]
    return []


def stack_problems(stack: StackSettings) -> list[Problem]:
    problems = []
    for index, isvc in enumerate(stack.inference_services):
        problems += isvc_problems(stack, isvc, f"inferenceServices[{index}]")
    return problems
