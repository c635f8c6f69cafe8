"""The team's InferenceServices: name and namespace, model format, storage, GPUs and replicas, and whether
the cluster, the GPU pool and the model buckets can serve them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from catalog import triton_releases as triton_catalog
from catalog.kserve_runtime import formats_served
from settings.base import DNS_LABEL, IMAGE_TAG, Count, Number, Problem, Settings, Text, raise_if
from settings.cluster import AUTOPILOT_GPU_COUNTS
from settings.gpu_pool import gpu_placement
from settings.triton import compute_capability_problem, image_release, too_old_for_the_runtime, with_tag

if TYPE_CHECKING:
    from settings.stack import StackSettings

STORAGE_SCHEMES = ("gs", "s3", "https", "pvc", "hf")
"""Schemes KServe's storage initializer fetches (gs, s3, https, hf), plus pvc:// (mounted)."""
OCI_REFUSED = (
    "oci:// (KServe's modelcars) does not work with Triton in KServe v0.20: KServe runs the server container as "
    "uid 1010 (kserve.storage.uidModelcar; pkg/utils/storage.go), not the NGC image's triton-server user (1000), "
    "and serves the model through a /mnt/models symlink into the modelcar container that Triton resolves to a "
    "path it cannot see (kserve/kserve#4753); publish the model repository to gs://, s3://, https:// or hf://"
)
MAX_ISVC_NAME = 63 - len("-predictor")
"""The predictor Service is <name>-predictor, a DNS-1035 label of at most 63 characters."""
RESERVED_NAMESPACES = ("kserve", "cert-manager", "kube-system", "kube-public", "kube-node-lease", "gke-managed-system")
"""KServe's pod mutator (which adds the model download) skips namespaces labelled control-plane, like kserve."""


# The autoscaling signals (catalog/triton_metrics.py), the unit their target is written in, and the default.
SIGNALS = {
    "queueTime": ("milliseconds a request waits in a replica's queue, on average", 50.0),
    "requestRate": ("successful requests per second one replica serves", None),
    "gpuUtilization": ("percent utilisation of each of a replica's GPUs (DCGM)", 70.0),
    "pendingRequests": ("requests waiting in one replica's queue (not yet executing)", 4.0),
}
PENDING_SINCE = "23.09"
"""Triton's nv_inference_pending_request_count (core commit c6c45ff, branch r23.09)."""


class AutoscalingSettings(Settings):
    """What KEDA scales an InferenceService on (between its minReplicas and maxReplicas)."""

    signal: Literal["queueTime", "requestRate", "gpuUtilization", "pendingRequests"] = "queueTime"
    """queueTime (Triton's queue time per request, NVIDIA's own signal), requestRate (requests/s per replica),
    gpuUtilization (DCGM, % per GPU) or pendingRequests (requests waiting in Triton's queue, Triton 23.09+)."""
    target: Number | None = None
    """What one replica should carry: ms of queue time (default 50), requests/s (required: measure it), %
    GPU utilisation (default 70), or waiting requests (default 4)."""

    @property
    def target_value(self) -> float:
        default = SIGNALS[self.signal][1]
        assert self.target is not None or default is not None  # checked in stack_problems
        return self.target if self.target is not None else default


class InferenceServiceSettings(Settings):
    """One InferenceService served by Triton."""

    name: Text
    """InferenceService name: a DNS-1035 label of at most 53 characters."""
    namespace: Text = "models"
    """Namespace of the InferenceService (created if needed); not kserve or a system namespace."""
    model_format: Text
    """Model format Triton serves: triton (a Triton model repository), tensorrt, onnx, tensorflow, pytorch."""
    model_format_version: Text | None = None
    """KServe's format label, matched exactly: tensorrt 8, onnx 1, tensorflow 2, pytorch 1, triton 2; unset matches
    any. Checked against the image: tensorflow 1 and a TensorRT major other than the image's are refused."""
    storage_uri: Text
    """Where the model repository is: gs://, s3://, https://, pvc:// or hf:// (not oci://, which Triton cannot
    read through KServe's modelcars)."""
    gpus: Count = Field(1, ge=0)
    """GPUs per replica; at most what one GPU node has (0 on a cluster without GPUs)."""
    min_replicas: Count = 1
    """Fewest replicas (at least 1: Standard mode has no scale-to-zero)."""
    max_replicas: Count = Field(1, ge=1)
    """Most replicas the autoscaler may run."""
    runtime_version: Text | None = None
    """Triton image tag for this InferenceService only (overrides the tag of triton.image)."""
    autoscaling: AutoscalingSettings | None = None
    """What the replicas scale on when minReplicas < maxReplicas; default: Triton's queue time per request,
    50 ms. Equal minReplicas and maxReplicas: no autoscaler at all."""
    model_loading: Literal["download", "gcsFuse", "hyperdiskMl", "localModelCache"] | None = None
    """How a replica gets the model: download (KServe's storage initializer, per pod), gcsFuse (Cloud Storage FUSE,
    read while Triton loads), hyperdiskMl (a read-only disk populated from the bucket once). Default: gcsFuse for a
    gs:// model of modelSizeGb 1 or more on a GKE cluster this program creates, else download."""
    model_size_gb: Number | None = Field(None, gt=0)
    """Size of the model repository in GB: sizes the FUSE file cache and the Hyperdisk ML volume, and checks the
    startup probe's allowance; unset: a small model."""

    @property
    def scaling(self) -> AutoscalingSettings | None:
        """The autoscaling in effect: None when the replica count is fixed."""
        if self.min_replicas == self.max_replicas:
            return None
        return self.autoscaling or AutoscalingSettings()

    @field_validator("name")
    @classmethod
    def _dns_1035(cls, name: str) -> str:
        if not DNS_LABEL.match(name) or len(name) > MAX_ISVC_NAME:
            raise ValueError(
                f"must be a DNS-1035 label of at most {MAX_ISVC_NAME} characters (KServe names the Service "
                "<name>-predictor): lowercase letters, digits and hyphens, starting with a letter"
            )
        return name

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, namespace: str) -> str:
        if not DNS_LABEL.match(namespace) or len(namespace) > 63:
            raise ValueError("must be a namespace name: a DNS label of at most 63 characters")
        if namespace in RESERVED_NAMESPACES:
            raise ValueError(
                f"is reserved ({', '.join(RESERVED_NAMESPACES)}); KServe does not inject the model "
                "download into pods of the kserve namespace"
            )
        return namespace

    @field_validator("model_format")
    @classmethod
    def _served_format(cls, model_format: str) -> str:
        served = formats_served()
        if model_format not in served:
            raise ValueError(f"the Triton runtime serves: {', '.join(served)}")
        return model_format

    @field_validator("storage_uri")
    @classmethod
    def _fetchable(cls, uri: str) -> str:
        scheme, sep, rest = uri.partition("://")
        if scheme == "oci" and sep:
            raise ValueError(OCI_REFUSED)
        if not sep or scheme not in STORAGE_SCHEMES or not rest.strip("/"):
            raise ValueError(f"must be a URI KServe can fetch, with scheme {', '.join(STORAGE_SCHEMES)}")
        if scheme == "https" and "/" not in rest.strip("/"):
            # KServe's ClusterStorageContainer `default` takes https://<host>/<path> only; a pod it does not take
            # gets a storage initializer without a securityContext, which the restricted Pod Security refuses.
            raise ValueError("must name a file or directory on the host: https://<host>/<path>")
        return uri

    @field_validator("min_replicas")
    @classmethod
    def _at_least_one(cls, replicas: int) -> int:
        if replicas < 1:
            raise ValueError(
                "must be at least 1: in Standard mode KServe raises 0 to 1 (no scale-to-zero); "
                "remove the InferenceService to free its GPUs"
            )
        return replicas

    @field_validator("runtime_version")
    @classmethod
    def _tag(cls, tag: str | None) -> str | None:
        if tag is not None and (not IMAGE_TAG.match(tag) or tag == "latest"):
            raise ValueError("must be a pinned image tag such as 25.01-py3 (not latest)")
        return tag

    @model_validator(mode="after")
    def _consistent(self) -> InferenceServiceSettings:
        problems = []
        versions = formats_served()[self.model_format]
        if self.model_format_version is not None and self.model_format_version not in versions:
            problems.append(
                Problem(
                    "modelFormatVersion",
                    self.model_format_version,
                    f"the Triton runtime declares {self.model_format} version {' or '.join(versions)} "
                    "(KServe matches versions exactly)",
                )
            )
        if self.model_format == "tensorflow" and (self.model_format_version or "").split(".")[0] == "1":
            problems.append(
                Problem(
                    "modelFormatVersion",
                    self.model_format_version,
                    f"Triton removed TensorFlow 1 in {triton_catalog.TENSORFLOW_1_REMOVED}, so no image this runtime "
                    'can run loads it (the "1" is only KServe\'s label): export the model as a TensorFlow 2 '
                    'SavedModel and write modelFormatVersion: "2", or convert it to ONNX',
                )
            )
        if self.min_replicas > self.max_replicas:
            problems.append(
                Problem("minReplicas", self.min_replicas, f"must be at most maxReplicas ({self.max_replicas})")
            )
        raise_if(problems)
        return self

    @property
    def bucket(self) -> str | None:
        """The GCS bucket of a gs:// storage URI."""
        if not self.storage_uri.startswith("gs://"):
            return None
        return self.storage_uri.removeprefix("gs://").split("/", 1)[0]


def gpu_problems(stack: StackSettings, isvc: InferenceServiceSettings, where: str) -> list[Problem]:
    """Whether the GPUs a replica asks for exist where it will run, in a count a node (or Autopilot) offers."""
    placement, pool, existing = gpu_placement(stack), stack.gpu_node_pool, stack.cluster.existing
    setting = f"{where}.gpus"
    if placement is None:
        if isvc.gpus:
            return [
                Problem(
                    setting,
                    isvc.gpus,
                    "this cluster has no GPU pool, and no GPUs are described (gpuNodePool, cluster.existing.gpuNodes "
                    "or cluster.autopilot.acceleratorType): set gpus: 0 (Triton runs on the CPU)",
                )
            ]
        return []
    if isvc.gpus == 0 and not placement.per_replica:
        return [Problem(setting, 0, "must be at least 1: this stack serves models on its GPU pool")]
    if pool is not None and pool.sharing is not None and isvc.gpus > 1:
        return [
            Problem(
                setting,
                isvc.gpus,
                "a time-shared pool gives each replica one shared GPU slot: GKE rejects more than one "
                "nvidia.com/gpu per container there",
            )
        ]
    if pool is not None and isvc.gpus > pool.gpus_per_node:
        return [
            Problem(
                setting,
                isvc.gpus,
                f"one {pool.machine_type} node has {pool.gpus_per_node} GPU(s); a replica cannot span nodes",
            )
        ]
    if existing is not None and existing.gpu_nodes is not None and isvc.gpus > existing.gpu_nodes.gpus_per_node:
        nodes = existing.gpu_nodes
        return [Problem(setting, isvc.gpus, f"the cluster's GPU nodes have {nodes.gpus_per_node} GPU(s) each")]
    autopilot = stack.cluster.autopilot
    if placement.per_replica and isvc.gpus and autopilot is not None and autopilot.accelerator_type is not None:
        counts = AUTOPILOT_GPU_COUNTS[autopilot.accelerator_type]
        if isvc.gpus not in counts:
            return [
                Problem(
                    setting,
                    isvc.gpus,
                    f"Autopilot gives a Pod {' or '.join(map(str, counts))} {autopilot.accelerator_type} GPUs",
                )
            ]
    return []


def autoscaling_problems(stack: StackSettings, isvc: InferenceServiceSettings, where: str) -> list[Problem]:
    """KServe's and KEDA's rules, refused here rather than by KServe's webhook or a silent non-scaling."""
    problems, setting = [], f"{where}.autoscaling"
    if isvc.autoscaling is not None and isvc.min_replicas == isvc.max_replicas:
        problems.append(
            Problem(
                f"{where}.maxReplicas",
                isvc.max_replicas,
                f"equals minReplicas, so nothing scales and autoscaling is ignored: raise maxReplicas above "
                f"{isvc.min_replicas}, or remove autoscaling",
            )
        )
    scaling = isvc.scaling
    if scaling is None:
        return problems
    if not stack.on_gke and stack.kserve.prometheus_url is None:
        problems.append(
            Problem(
                f"{where}.maxReplicas",
                isvc.max_replicas,
                "autoscaling on Triton's metrics needs a Prometheus that scrapes them: on a cluster other than GKE, "
                "set kserve.prometheusUrl to yours, or set maxReplicas equal to minReplicas",
            )
        )
    if scaling.target is None and SIGNALS[scaling.signal][1] is None:
        problems.append(
            Problem(
                f"{setting}.target",
                None,
                f"{scaling.signal} needs a target: the {SIGNALS[scaling.signal][0]}, measured for this model and "
                "GPU (e.g. with perf_analyzer)",
            )
        )
    if scaling.target is not None and scaling.target <= 0:
        problems.append(Problem(f"{setting}.target", scaling.target, "must be above 0"))
    if scaling.signal == "gpuUtilization" and isvc.gpus == 0:
        problems.append(Problem(f"{setting}.signal", scaling.signal, "this InferenceService has no GPU to measure"))
    if scaling.signal == "gpuUtilization" and scaling.target is not None and scaling.target > 100:
        problems.append(Problem(f"{setting}.target", scaling.target, "is a percentage per GPU: at most 100"))
    if scaling.signal == "pendingRequests":
        image = with_tag(stack.triton.image, isvc.runtime_version) if isvc.runtime_version else stack.triton.image
        parsed = triton_catalog.parse_image(image)
        if parsed is not None and triton_catalog.release_key(parsed.release) < triton_catalog.release_key(
            PENDING_SINCE
        ):
            problems.append(
                Problem(
                    f"{setting}.signal",
                    scaling.signal,
                    f"reads nv_inference_pending_request_count, which Triton has from {PENDING_SINCE} and {image} "
                    f"does not: use {PENDING_SINCE}-py3 or newer, or scale on queueTime",
                )
            )
    return problems


def image_problems(stack: StackSettings, isvc: InferenceServiceSettings, where: str) -> list[Problem]:
    """Whether the image this InferenceService runs (triton.image, or its runtimeVersion's) can load its model
    format on the pool's GPU (catalog/triton_releases.py). An image the catalog does not know is unchecked."""
    image = with_tag(stack.triton.image, isvc.runtime_version) if isvc.runtime_version else stack.triton.image
    reason = (
        triton_catalog.can_serve(image_release(image), isvc.model_format, isvc.model_format_version)
        if (image_release(image))
        else None
    )
    problems = []
    if reason and isvc.runtime_version:
        problems.append(Problem(f"{where}.runtimeVersion", isvc.runtime_version, f"{isvc.model_format}: {reason}"))
    elif reason:
        setting, value = (
            (f"{where}.modelFormatVersion", isvc.model_format_version)
            if isvc.model_format_version is not None
            else (f"{where}.modelFormat", isvc.model_format)
        )
        problems.append(Problem(setting, value, reason))
    if isvc.runtime_version:
        old_gpu = compute_capability_problem(stack, image, f"{where}.runtimeVersion", isvc.runtime_version)
        old_image = too_old_for_the_runtime(image)
        problems += [Problem(f"{where}.runtimeVersion", isvc.runtime_version, old_image)] if old_image else []
        problems += [old_gpu] if old_gpu else []
    return problems


def stack_problems(stack: StackSettings) -> list[Problem]:
    problems: list[Problem] = []
    pool = stack.gpu_node_pool
    seen: set[tuple[str, str]] = set()
    for index, isvc in enumerate(stack.inference_services):
        where = f"inferenceServices[{index}]"
        if (isvc.namespace, isvc.name) in seen:
            problems.append(Problem(f"{where}.name", isvc.name, f"is already used in namespace {isvc.namespace}"))
        seen.add((isvc.namespace, isvc.name))
        problems += gpu_problems(stack, isvc, where)
        if isvc.bucket is not None and isvc.bucket not in stack.model_storage.readable:
            problems.append(
                Problem(
                    f"{where}.storageUri",
                    isvc.storage_uri,
                    f"bucket {isvc.bucket} is in neither modelStorage.buckets (read access is granted) "
                    "nor modelStorage.publicBuckets",
                )
            )
        if stack.kserve.ingress.class_name and len(f"{isvc.name}-predictor-{isvc.namespace}") > 63:
            problems.append(
                Problem(
                    f"{where}.name",
                    isvc.name,
                    "with an Ingress, <name>-predictor-<namespace> must fit a 63-character DNS label; "
                    f"shorten the name or namespace ({isvc.namespace})",
                )
            )
        if isvc.runtime_version is not None and stack.triton.digest_pinned:
            problems.append(
                Problem(
                    f"{where}.runtimeVersion",
                    isvc.runtime_version,
                    "KServe ignores runtimeVersion when triton.image is pinned by digest; pin by tag instead",
                )
            )
        problems += image_problems(stack, isvc, where)
        problems += autoscaling_problems(stack, isvc, where)
        if stack.production and isvc.min_replicas < 2:
            problems.append(
                Problem(
                    f"{where}.minReplicas",
                    isvc.min_replicas,
                    "must be at least 2 in a production stack (one replica is one node failure from downtime)",
                )
            )
    wanted = sum(isvc.min_replicas * isvc.gpus for isvc in stack.inference_services)
    if pool is not None and wanted > pool.gpu_capacity:
        problems.append(
            Problem(
                "inferenceServices",
                f"{wanted} GPUs at minReplicas",
                f"the GPU pool holds at most {pool.gpu_capacity} (gpuNodePool.maxNodes {pool.max_nodes} x "
                f"{pool.gpus_per_node} per node); the rest would never schedule",
            )
        )
    return problems
