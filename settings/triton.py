"""The Triton runtime: its image, /dev/shm, start-up allowance, and the CPU and memory of a replica."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from catalog import gcp as gcp_catalog
from catalog import triton_releases as triton_catalog
from catalog.container_images import ImageReferenceError, parse_image_reference
from catalog.kubernetes import parse_quantity, quantity_problem
from catalog.triton_metrics import TRITON_METRICS_ARGS
from settings.base import Count, Problem, Settings, Text, cpu_millis, memory_mib

if TYPE_CHECKING:
    from settings.stack import StackSettings

AUTOPILOT_EPHEMERAL_STORAGE = "10Gi"
SUMMARIES_SINCE = "23.05"
"""Triton's --metrics-config=summary_latencies (core commit b699ace, branch r23.05)."""
CPU_ONLY_REPLICA = gcp_catalog.GpuShare(cpu_millis=1000, memory_mib=2048)
"""What a Triton replica gets on a cluster without GPUs, unless triton.cpu/memory say otherwise."""
DEFAULT_SHM_MIB = 1024
"""/dev/shm by default: 1Gi, or half a replica's memory when that is less (a time-shared GPU's small replicas)."""
MIN_REPLICA = gcp_catalog.GpuShare(cpu_millis=100, memory_mib=256)
"""The least CPU and memory a Triton replica may have (triton.cpu and triton.memory's minimums)."""
NVIDIA_REPOSITORY = "nvidia/tritonserver"
"""NVIDIA's repository, on nvcr.io or behind a proxy (an Artifact Registry remote repository keeps the path)."""


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    return repository, tag or None, digest or None


class TritonSettings(Settings):
    """NVIDIA Triton, the `kserve-tritonserver` runtime every InferenceService here is served by."""

    image: Text = "nvcr.io/nvidia/tritonserver:25.01-py3"
    """Triton image, pinned by tag or digest, never `latest`; NVIDIA's (nvidia/tritonserver) must have a release and
    variant NVIDIA publishes (YY.MM-py3, -pyt-python-py3, ...). Needs a driver the GPU pool installs."""
    shm_size: Text | None = None
    """Size of the memory-backed /dev/shm (Python backend, large tensors); counts against the pod's memory. Default:
    1Gi, or half a replica's memory when that is less (small replicas of a time-shared GPU)."""
    startup_timeout_seconds: Count = Field(900, ge=60, le=7200)
    """How long a replica may take to start and load its models before Kubernetes restarts it."""
    cpu: Text | None = None
    """CPU per GPU of a replica (per replica without GPUs), e.g. 4 or 500m. Default: one GPU's share of the GPU
    machine, or 1 on a cluster without GPUs."""
    memory: Text | None = None
    """Memory per GPU of a replica (per replica without GPUs), e.g. 16Gi. Default: one GPU's share of the GPU
    machine, or 2Gi on a cluster without GPUs."""
    ephemeral_storage: Text | None = None
    """Local disk a replica requests (the storage initializer downloads the model there). Default: unset
    (the node's disk) on Standard; 10Gi on Autopilot, which otherwise gives 1Gi: set it to the model's size
    plus 1Gi."""

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, cpu: str | None) -> str | None:
        if cpu is not None and (quantity_problem(cpu) or cpu_millis(cpu) < MIN_REPLICA.cpu_millis):
            raise ValueError(
                "must be a CPU quantity of at least 100m, such as 500m, 2 or 3.5 (any Kubernetes unit: 0.5, 500m, 5e-1)"
            )
        return cpu

    @field_validator("memory")
    @classmethod
    def _memory(cls, memory: str | None) -> str | None:
        if memory is not None and (
            quantity_problem(memory, unit=" bytes") or memory_mib(memory) < MIN_REPLICA.memory_mib
        ):
            raise ValueError(
                "must be a memory quantity of at least 256Mi, such as 512Mi or 16Gi (any Kubernetes unit: 16Gi, 16G, "
                "17179869184, 16384Mi)"
            )
        return memory

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        problem = image_problem(image)
        if problem:
            raise ValueError(problem)
        return image

    @field_validator("shm_size")
    @classmethod
    def _quantity(cls, size: str | None) -> str | None:
        if size is not None and quantity_problem(size, unit=" bytes"):
            raise ValueError(f"{quantity_problem(size, unit=' bytes')}: a size such as 512Mi or 2Gi")
        return size

    @field_validator("ephemeral_storage")
    @classmethod
    def _storage(cls, size: str | None) -> str | None:
        if size is not None and quantity_problem(size, unit=" bytes"):
            raise ValueError(f"{quantity_problem(size, unit=' bytes')}: a size such as 10Gi")
        return size

    @property
    def digest_pinned(self) -> bool:
        return split_image(self.image)[2] is not None

    def ephemeral_storage_or_default(self, autopilot: bool) -> str:
        return self.ephemeral_storage or (AUTOPILOT_EPHEMERAL_STORAGE if autopilot else "")


def image_problem(image: str) -> str | None:
    """Why `image` cannot be the Triton image (None when it can): not a reference a runtime can pull, not pinned,
    Triton without a registry (Docker Hub has none), or, on NVIDIA's repository, a tag that is not a release and
    variant NVIDIA publishes (catalog/triton_releases.py; releases too old for the runtime are refused by
    `too_old_for_the_runtime` instead). Other repositories: only the reference and the pin are checked."""
    try:
        reference = parse_image_reference(image)
    except ImageReferenceError as error:
        return f"is not an image reference: {error}"
    if reference.digest is None and reference.tag in (None, "latest"):
        return "must be pinned to a tag or digest, e.g. nvcr.io/nvidia/tritonserver:25.01-py3 (not latest)"
    if not reference.registry_written and reference.repository.rsplit("/", 1)[-1] == "tritonserver":
        tag = f":{reference.tag}" if reference.tag else ""
        return (
            f"names no registry, so it would be pulled from Docker Hub ({reference.registry}/{reference.repository}), "
            f"where NVIDIA does not publish Triton: write nvcr.io/nvidia/tritonserver{tag}"
        )
    if reference.tag is not None and is_nvidia(reference.repository):
        return nvidia_tag_problem(reference.tag)
    return None


def is_nvidia(repository: str) -> bool:
    """NVIDIA's Triton repository, on nvcr.io or behind a proxy that keeps its path."""
    return repository == NVIDIA_REPOSITORY or repository.endswith(f"/{NVIDIA_REPOSITORY}")


def nvidia_tag_problem(tag: str) -> str | None:
    """Why `tag` is not a tag of NVIDIA's Triton image (None when it is, or when it is a release too old for the
    runtime, which `too_old_for_the_runtime` names)."""
    parsed = triton_catalog.parse_image(f"{triton_catalog.IMAGE_REPOSITORY}:{tag}")
    if parsed is not None and triton_catalog.release_key(parsed.release) < triton_catalog.release_key(SUMMARIES_SINCE):
        return None
    problem = triton_catalog.tag_problem(tag)
    return f"tag {tag!r}: {problem}" if problem else None


def with_tag(image: str, tag: str) -> str:
    """The image with its tag replaced, as KServe applies an InferenceService's runtimeVersion."""
    repository, _, _ = split_image(image)
    return f"{repository}:{tag}"


def image_release(image: str) -> triton_catalog.TritonRelease | None:
    """What catalog/triton_releases.py knows of an image; None (unchecked) for a digest or an unknown tag."""
    return triton_catalog.release_of_image(image)


def too_old_for_the_runtime(image: str) -> str | None:
    """Why a tagged Triton release cannot run the runtime's args (its latency summaries need 23.05), or None."""
    parsed = triton_catalog.parse_image(image)
    if parsed is None or triton_catalog.release_key(parsed.release) >= triton_catalog.release_key(SUMMARIES_SINCE):
        return None
    return (
        f"the runtime starts Triton with {' '.join(TRITON_METRICS_ARGS)} (the dashboard's latency percentiles), "
        f"which Triton has from {SUMMARIES_SINCE}: use {SUMMARIES_SINCE}-py3 or newer"
    )


def default_share(stack: StackSettings) -> gcp_catalog.GpuShare:
    """What one GPU of the pool's machine comes with (a replica's size on a cluster without GPUs): what is left
    of a real node after the kernel, GKE's reservations (image streaming's too), the eviction threshold, GKE's
    DaemonSets and some headroom (catalog/gcp.py, `node_budget`)."""
    pool, existing, autopilot = stack.gpu_node_pool, stack.cluster.existing, stack.cluster.autopilot
    if pool is not None:
        share = gcp_catalog.gpu_share(pool.machine_type, pool.gpus_per_node, image_streaming=stack.image_cache_on)
        clients = pool.clients_per_gpu  # a time-shared GPU's node is shared by its clients too
        return gcp_catalog.GpuShare(share.cpu_millis // clients // 100 * 100, share.memory_mib // clients // 256 * 256)
    if existing is not None and existing.gpu_nodes is not None and existing.gpu_nodes.machine_type:
        nodes = existing.gpu_nodes
        if nodes.machine_type in gcp_catalog.MACHINE_TYPES:
            return gcp_catalog.gpu_share(nodes.machine_type, nodes.gpus_per_node)  # image streaming assumed: smaller
    if stack.cluster.is_autopilot and autopilot is not None and autopilot.accelerator_type is not None:
        return gcp_catalog.autopilot_share(autopilot.accelerator_type)[0]
    return CPU_ONLY_REPLICA


def most_per_gpu(stack: StackSettings) -> gcp_catalog.GpuShare | None:
    """The most CPU and memory a replica may request per GPU, where the program knows it."""
    autopilot = stack.cluster.autopilot
    if stack.cluster.is_autopilot and autopilot is not None and autopilot.accelerator_type is not None:
        return gcp_catalog.autopilot_share(autopilot.accelerator_type)[1]
    if stack.gpu_node_pool is not None:
        return default_share(stack)
    existing = stack.cluster.existing
    if existing is not None and existing.gpu_nodes is not None and existing.gpu_nodes.machine_type:
        return default_share(stack)
    return None


def compute_capability_problem(stack: StackSettings, image: str, setting: str, value: str) -> Problem | None:
    """A GPU too old for the image (e.g. a V100 for images from 25.01, which need compute capability 7.5)."""
    release, pool = image_release(image), stack.gpu_node_pool
    accelerator = gcp_catalog.ACCELERATORS.get(pool.accelerator_type) if pool else None
    if release is None or accelerator is None or accelerator.compute_capability is None:
        return None
    if release.supports_compute_capability(accelerator.compute_capability) is not False:
        return None
    older = triton_catalog.newest_supporting(accelerator.compute_capability)
    minimum = "{}.{}".format(*release.min_compute_capability)
    return Problem(
        setting,
        value,
        f"{accelerator.display} ({accelerator.type}, compute capability {accelerator.compute_capability_text}) "
        f"cannot run {release.image}, which needs compute capability {minimum} or newer: "
        + (f"use {older.image} or older on it, or " if older else "use ")
        + "a T4, L4 or newer GPU",
    )


def shm_size(stack: StackSettings) -> str:
    """The /dev/shm of a replica: triton.shmSize, else 1Gi or half the replica's memory when that is less."""
    if stack.triton.shm_size is not None:
        return stack.triton.shm_size
    half = replica_size(stack).memory_mib // 2 // 64 * 64
    return "1Gi" if half >= DEFAULT_SHM_MIB else f"{max(half, 64)}Mi"


def shared_share(stack: StackSettings) -> tuple[gcp_catalog.GpuShare, int] | None:
    """(one GPU's share of the node, the replicas sharing it) for a time-shared pool, else None."""
    pool = stack.gpu_node_pool
    if pool is None or pool.sharing is None or pool.machine_type not in gcp_catalog.MACHINE_TYPES:
        return None
    share = gcp_catalog.gpu_share(pool.machine_type, pool.gpus_per_node, image_streaming=stack.image_cache_on)
    return share, pool.clients_per_gpu


def replica_size(stack: StackSettings) -> gcp_catalog.GpuShare:
    """CPU and memory per GPU of a replica (per replica on a cluster without GPUs)."""
    default, triton = default_share(stack), stack.triton
    return gcp_catalog.GpuShare(
        cpu_millis(triton.cpu) if triton.cpu else default.cpu_millis,
        memory_mib(triton.memory) if triton.memory else default.memory_mib,
    )


def stack_problems(stack: StackSettings) -> list[Problem]:
    triton = stack.triton
    too_small = sharing_problem(stack)
    if too_small is not None:
        return [too_small]
    problems = []
    replica_memory = replica_size(stack).memory_mib
    if triton.shm_size is not None and memory_mib(triton.shm_size) >= replica_memory:
        problems.append(
            Problem(
                "triton.shmSize",
                triton.shm_size,
                f"the memory-backed /dev/shm counts against a replica's memory ({replica_memory}Mi per GPU): "
                "keep it well below that",
            )
        )
    old_image = too_old_for_the_runtime(triton.image)
    if old_image:
        problems.append(Problem("triton.image", triton.image, old_image))
    problems += runtime_version_problems(stack)
    share = most_per_gpu(stack)
    if share is not None:
        problems += size_problems(triton, share)
    problems += disk_problems(stack)
    if stack.gpu_node_pool is None:
        return problems
    old_gpu = compute_capability_problem(
        stack, triton.image, "gpuNodePool.acceleratorType", stack.gpu_node_pool.accelerator_type
    )
    if old_gpu:
        problems.append(old_gpu)
    return problems


def sharing_problem(stack: StackSettings) -> Problem | None:
    """A time-shared GPU split so finely that a replica's share of the node is below a replica's minimum: named by
    the clientsPerGpu that causes it, with the most that would fit."""
    shared = shared_share(stack)
    if shared is None:
        return None
    share, clients = shared
    each = gcp_catalog.GpuShare(share.cpu_millis // clients // 100 * 100, share.memory_mib // clients // 256 * 256)
    if each.cpu_millis >= MIN_REPLICA.cpu_millis and each.memory_mib >= MIN_REPLICA.memory_mib:
        return None
    most = min(share.cpu_millis // MIN_REPLICA.cpu_millis, share.memory_mib // MIN_REPLICA.memory_mib)
    pool = stack.gpu_node_pool
    assert pool is not None
    fits = f"at most {most} leave each replica 100m and 256Mi" if most >= 2 else "no sharing fits: use a larger machine"
    return Problem(
        "gpuNodePool.sharing.clientsPerGpu",
        clients,
        f"one GPU of a {pool.machine_type} comes with {share.cpu_millis}m and {share.memory_mib}Mi, so each of "
        f"{clients} replicas would get {each.cpu_millis}m and {each.memory_mib}Mi; {fits}",
    )


def runtime_version_problems(stack: StackSettings) -> list[Problem]:
    """An InferenceService's runtimeVersion swaps the tag of triton.image: on NVIDIA's repository it must be one of
    NVIDIA's tags too, and the image variant must have the model format's backend."""
    problems = []
    try:
        repository = parse_image_reference(stack.triton.image).repository
    except ImageReferenceError:
        return []
    base_tag = split_image(stack.triton.image)[1]
    for index, isvc in enumerate(stack.inference_services):
        where = f"inferenceServices[{index}]"
        if isvc.runtime_version is not None and is_nvidia(repository):
            problem = nvidia_tag_problem(isvc.runtime_version)
            if problem:
                problems.append(Problem(f"{where}.runtimeVersion", isvc.runtime_version, problem))
                continue
        tag = isvc.runtime_version or base_tag
        if tag is None or not is_nvidia(repository):
            continue
        wrong_variant = triton_catalog.variant_problem(tag, isvc.model_format)
        if wrong_variant:
            source = f"{where}.runtimeVersion {tag}" if isvc.runtime_version else f"triton.image {stack.triton.image}"
            problems.append(Problem(f"{where}.modelFormat", isvc.model_format, f"{source}: {wrong_variant}"))
    return problems


def disk_problems(stack: StackSettings) -> list[Problem]:
    """A replica's local disk cannot be more than the GPU node's boot disk (gpuNodePool.diskSizeGb, GB = GiB on
    Compute Engine): such a replica would never be scheduled."""
    pool, storage = stack.gpu_node_pool, stack.triton.ephemeral_storage
    if pool is None or storage is None:
        return []
    quantity = parse_quantity(storage)
    if quantity is None or quantity.value <= pool.disk_size_gb * 2**30:
        return []
    return [
        Problem(
            "triton.ephemeralStorage",
            storage,
            f"a replica's local disk cannot exceed the GPU node's boot disk (gpuNodePool.diskSizeGb: "
            f"{pool.disk_size_gb} GB, of which the OS and images take part): raise diskSizeGb or ask for less",
        )
    ]


def size_problems(triton: TritonSettings, share: gcp_catalog.GpuShare) -> list[Problem]:
    problems = []
    if triton.cpu and cpu_millis(triton.cpu) > share.cpu_millis:
        problems.append(Problem("triton.cpu", triton.cpu, f"one GPU of the GPU nodes comes with {share.cpu_millis}m"))
    if triton.memory and memory_mib(triton.memory) > share.memory_mib:
        problems.append(
            Problem("triton.memory", triton.memory, f"one GPU of the GPU nodes comes with {share.memory_mib}Mi")
        )
    return problems
