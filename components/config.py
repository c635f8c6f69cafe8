"""The stack configuration: one typed schema with its defaults and documentation.

Every setting a user writes in `Pulumi.<stack>.yaml` is declared here, validated as a whole before the
program registers its first resource, and refused with a message that names the setting, the value and
what is allowed. The README's configuration table and `Pulumi.yaml`'s `config:` block are checked
against this schema by the tests.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components import gcp_catalog
from components.triton_runtime import formats_served

PROJECT = "kserve-triton"


@dataclass(frozen=True)
class Problem:
    """One refused setting: where it is (dotted, camelCase), what it was, and what is allowed."""

    setting: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        if self.value is MISSING:
            return f"{self.setting}: {self.allowed}"
        return f"{self.setting}: {self.value!r} is not allowed: {self.allowed}"


MISSING = object()
"""The value of a required setting that is absent."""


class SettingsError(ValueError):
    """Raised by cross-field checks; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.setting}: {p.allowed}" for p in problems))
        self.problems = problems


class ConfigError(pulumi.RunError):
    """The stack configuration is invalid; nothing has been created.

    A `RunError` makes `pulumi up` print the message without a Python traceback.
    """

    def __init__(self, problems: list[Problem]):
        lines = [f"  - {problem}" for problem in problems]
        super().__init__("Invalid stack configuration (nothing was created):\n" + "\n".join(lines))
        self.problems = problems


class _Settings(BaseModel):
    """Stack settings are camelCase in YAML; unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True, use_attribute_docstrings=True)


_DISK_IMAGE = re.compile(r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/)?global/images/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_GKE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


class SystemNodePoolSettings(_Settings):
    machine_type: str = "e2-standard-4"
    """Machine type of the small CPU pool that runs cluster services (cert-manager, KServe controller)."""
    min_nodes: int = Field(1, ge=1)
    """Fewest system nodes (across all zones of the pool)."""
    max_nodes: int = Field(3, ge=1)
    """Most system nodes (across all zones of the pool)."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> SystemNodePoolSettings:
        if self.min_nodes > self.max_nodes:
            raise SettingsError([Problem("minNodes", self.min_nodes, f"must be at most maxNodes ({self.max_nodes})")])
        return self


class ExistingClusterSettings(_Settings):
    context: str
    """kubeconfig context of the cluster to install into ($KUBECONFIG or ~/.kube/config), e.g. kind-kserve."""


class ClusterSettings(_Settings):
    name: str | None = None
    """GKE cluster name: lowercase letters, digits and hyphens, at most 40 characters. Required unless existing."""
    location: str | None = None
    """A GCP region (regional cluster) or zone (zonal cluster). Required unless existing."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    """GKE release channel; GKE upgrades the control plane and nodes within it."""
    deletion_protection: bool = True
    """GKE's own deletion protection: while true, GKE refuses to delete the cluster."""
    protect: bool = True
    """Pulumi `protect` on the cluster: `pulumi up`/`destroy` refuse to delete or replace it."""
    system_node_pool: SystemNodePoolSettings = SystemNodePoolSettings()
    """The CPU pool for cluster services; GPU nodes are tainted so these never land there."""
    existing: ExistingClusterSettings | None = None
    """Use an existing cluster instead of creating one on GKE: no GCP resources and no GPUs."""

    @field_validator("name")
    @classmethod
    def _gke_name(cls, name: str | None) -> str | None:
        if name is not None and not _GKE_NAME.match(name):
            raise ValueError(
                "must be 1-40 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen"
            )
        return name

    @field_validator("location")
    @classmethod
    def _gcp_location(cls, location: str | None) -> str | None:
        if location is not None and gcp_catalog.region_of(location) is None:
            raise ValueError(
                "must be a GCP region (e.g. us-central1) or zone (e.g. us-central1-a); "
                f"known regions: {', '.join(sorted(gcp_catalog.REGIONS))}"
            )
        return location

    @model_validator(mode="after")
    def _gke_or_existing(self) -> ClusterSettings:
        problems = []
        if self.existing is not None:
            for field in sorted(self.model_fields_set - {"existing"}):
                alias = type(self).model_fields[field].alias or field
                problems.append(Problem(alias, getattr(self, field), "is a GKE setting; remove it, or remove existing"))
        else:
            problems += [
                Problem(field, MISSING, "is required (or set existing to use an existing cluster)")
                for field in ("name", "location")
                if getattr(self, field) is None
            ]
        if problems:
            raise SettingsError(problems)
        return self

    @property
    def region(self) -> str:
        region = gcp_catalog.region_of(self.location or "")
        assert region is not None  # checked by the validators
        return region

    @property
    def is_regional(self) -> bool:
        return not gcp_catalog.is_zone(self.location or "")


class GpuNodePoolSettings(_Settings):
    machine_type: str
    """Machine type of the GPU nodes; it must take the accelerator (e.g. g2-standard-8 for nvidia-l4)."""
    accelerator_type: str
    """GKE accelerator name, e.g. nvidia-l4, nvidia-tesla-t4, nvidia-tesla-a100."""
    accelerator_count: int | None = Field(None, ge=1)
    """GPUs per node. Defaults to the count built into the machine type (1 for N1)."""
    driver_version: Literal["DEFAULT", "LATEST"] = "DEFAULT"
    """NVIDIA driver GKE installs: DEFAULT or LATEST for the node's GKE version (COS nodes)."""
    spot: bool = False
    """Spot VMs: 60-90% cheaper, preemptible at any time with 30 s notice."""
    min_nodes: int = Field(0, ge=0)
    """Fewest GPU nodes in the whole pool (0 lets the pool scale to zero)."""
    max_nodes: int = Field(ge=1)
    """Most GPU nodes in the whole pool; bounds cost and GPU quota (maxNodes x acceleratorCount)."""
    zones: list[str] | None = None
    """Zones for the GPU nodes (must offer the GPU). Default: the cluster's zone(s)."""
    disk_size_gb: int = Field(200, ge=50, le=65536)
    """Boot disk size per GPU node in GB; the Triton image alone is about 15 GB unpacked."""
    secondary_boot_disk: str | None = None
    """Disk image with the Triton image preloaded (global/images/NAME or projects/P/global/images/NAME),
    attached in container-image-cache mode; needs imageCache."""

    @field_validator("secondary_boot_disk")
    @classmethod
    def _disk_image(cls, image: str | None) -> str | None:
        if image is not None and not _DISK_IMAGE.match(image):
            raise ValueError(
                "must be a Compute Engine disk image: global/images/NAME or projects/PROJECT/global/images/NAME "
                "(NAME: lowercase letters, digits and hyphens, at most 63)"
            )
        return image

    @property
    def gpus_per_node(self) -> int:
        if self.accelerator_count is not None:
            return self.accelerator_count
        machine = gcp_catalog.MACHINE_TYPES.get(self.machine_type)
        return machine.builtin_count if machine and machine.builtin_accelerator else 1

    @model_validator(mode="after")
    def _pairing(self) -> GpuNodePoolSettings:
        problems = _gpu_pairing_problems(self)
        if self.min_nodes > self.max_nodes:
            problems.append(Problem("minNodes", self.min_nodes, f"must be at most maxNodes ({self.max_nodes})"))
        if problems:
            raise SettingsError(problems)
        return self


def _gpu_pairing_problems(pool: GpuNodePoolSettings) -> list[Problem]:
    accelerator = gcp_catalog.ACCELERATORS.get(pool.accelerator_type)
    if accelerator is None:
        known = ", ".join(t for t, a in gcp_catalog.ACCELERATORS.items() if not a.eol)
        return [Problem("acceleratorType", pool.accelerator_type, f"known accelerators: {known}")]
    if accelerator.eol:
        return [
            Problem(
                "acceleratorType",
                pool.accelerator_type,
                f"{accelerator.display} is end-of-life on Compute Engine; use nvidia-tesla-t4 or nvidia-l4",
            )
        ]
    machine = gcp_catalog.MACHINE_TYPES.get(pool.machine_type)
    if machine is None or machine.family not in gcp_catalog.GPU_FAMILIES:
        return [
            Problem(
                "machineType",
                pool.machine_type,
                f"{pool.accelerator_type} attaches to: {', '.join(gcp_catalog.machines_for(pool.accelerator_type))}",
            )
        ]
    counts = gcp_catalog.allowed_gpu_counts(machine, pool.accelerator_type)
    if not counts:
        return [
            Problem(
                "acceleratorType",
                pool.accelerator_type,
                f"{pool.accelerator_type} cannot attach to {machine.name} ({machine.family} family); "
                f"it attaches to: {', '.join(gcp_catalog.machines_for(pool.accelerator_type))}"
                + (
                    f"; {machine.name} comes with {machine.builtin_count} {machine.builtin_accelerator}"
                    if machine.builtin_accelerator
                    else ""
                ),
            )
        ]
    if pool.gpus_per_node not in counts:
        if machine.builtin_accelerator:
            allowed = f"{machine.name} comes with exactly {machine.builtin_count} {pool.accelerator_type}"
        else:
            allowed = f"{machine.name} takes {' or '.join(map(str, counts))} {pool.accelerator_type}"
        return [Problem("acceleratorCount", pool.gpus_per_node, allowed)]
    return []


_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# KServe versions whose CRDs the typed resources are validated against (../shared/kserve-crds).
SUPPORTED_KSERVE = re.compile(r"^v0\.20\.\d+$")
# KServe needs cert-manager >= v1.17.0 (kserve-deps.env, install/dependencies.md).
MIN_CERT_MANAGER_MINOR = 17

_DEPLOYMENT_MODES = {
    "Knative": "needs Knative Serving and Istio, which this stack does not install; use Standard",
    "Serverless": "is the legacy name of Knative mode, which needs Knative Serving and Istio; use Standard",
    "RawDeployment": "is the legacy name of Standard; write Standard",
    "ModelMesh": "needs the ModelMesh controller, which this stack does not install; use Standard",
}


class CertManagerSettings(_Settings):
    version: str = "v1.21.1"
    """cert-manager Helm chart version (jetstack); KServe needs v1.17.0 or newer."""

    @field_validator("version")
    @classmethod
    def _pinned_supported(cls, version: str) -> str:
        match = re.match(r"^v1\.(\d+)\.(\d+)$", version)
        if not match or int(match[1]) < MIN_CERT_MANAGER_MINOR:
            raise ValueError(f"must be a pinned chart version v1.{MIN_CERT_MANAGER_MINOR}.0 or newer, e.g. v1.21.1")
        return version


class IngressSettings(_Settings):
    class_name: str | None = None
    """Ingress class for KServe to create Ingresses with; unset: no Ingress, services are cluster-local."""
    domain: str = "example.com"
    """Domain of the Ingress host names (`<isvc>-<namespace>.<domain>`); only used with className."""

    @field_validator("class_name")
    @classmethod
    def _class_name(cls, name: str | None) -> str | None:
        if name is not None and not _DNS_SUBDOMAIN.match(name):
            raise ValueError("must be an IngressClass name (lowercase DNS subdomain), e.g. nginx or gce")
        return name

    @field_validator("domain")
    @classmethod
    def _domain(cls, domain: str) -> str:
        if not _DNS_SUBDOMAIN.match(domain) or "." not in domain:
            raise ValueError("must be a DNS domain such as models.example.com")
        return domain


class KServeSettings(_Settings):
    version: str = "v0.20.0"
    """KServe version (kserve-crd and kserve-resources charts); v0.20.x, whose CRDs the tests validate against."""
    deployment_mode: str = "Standard"
    """KServe deployment mode; only Standard (plain Deployments, no Knative or Istio) is installed."""
    ingress: IngressSettings = IngressSettings()
    """How InferenceServices are reached from outside the cluster."""
    cert_manager: CertManagerSettings = CertManagerSettings()
    """cert-manager, which issues the KServe webhook certificates."""
    protect_crds: bool = True
    """Pulumi `protect` on the KServe CRDs (they are always retained on delete)."""

    @field_validator("version")
    @classmethod
    def _supported_version(cls, version: str) -> str:
        if not SUPPORTED_KSERVE.match(version):
            raise ValueError(
                "must be a v0.20.x release (the CRDs the typed resources are validated against); "
                "see 'Upgrading KServe' in the README"
            )
        return version

    @field_validator("deployment_mode")
    @classmethod
    def _servable_mode(cls, mode: str) -> str:
        if mode != "Standard":
            reason = _DEPLOYMENT_MODES.get(mode, "allowed: Standard")
            raise ValueError(reason)
        return mode


_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")

# Schemes KServe's storage initializer fetches (gs, s3, https, hf), plus pvc:// (mounted) and oci:// (modelcar).
STORAGE_SCHEMES = ("gs", "s3", "https", "pvc", "hf", "oci")
# The predictor Service is <name>-predictor, a DNS-1035 label of at most 63 characters.
MAX_ISVC_NAME = 63 - len("-predictor")
# KServe's pod mutator (which adds the model download) skips namespaces labelled control-plane, like kserve.
RESERVED_NAMESPACES = ("kserve", "cert-manager", "kube-system", "kube-public", "kube-node-lease", "gke-managed-system")


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    return repository, tag or None, digest or None


def cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def memory_mib(quantity: str) -> int:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
    unit = quantity[-2:]
    return int(float(quantity[:-2]) * units[unit])


class TritonSettings(_Settings):
    image: str = "nvcr.io/nvidia/tritonserver:25.01-py3"
    """Triton image, pinned by tag (YY.MM-py3) or digest; never `latest`. Needs a driver the GPU pool installs."""
    shm_size: str = "1Gi"
    """Size of the memory-backed /dev/shm (Python backend, large tensors); counts against the pod's memory."""
    startup_timeout_seconds: int = Field(900, ge=60, le=7200)
    """How long a replica may take to start and load its models before Kubernetes restarts it."""
    cpu: str | None = None
    """CPU per GPU of a replica (per replica without GPUs), e.g. 4 or 500m. Default: one GPU's share of the GPU
    machine, or 1 on a cluster without GPUs."""
    memory: str | None = None
    """Memory per GPU of a replica (per replica without GPUs), e.g. 16Gi. Default: one GPU's share of the GPU
    machine, or 2Gi on a cluster without GPUs."""

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, cpu: str | None) -> str | None:
        if cpu is not None and (not re.match(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$", cpu) or cpu_millis(cpu) < 100):
            raise ValueError("must be a CPU quantity of at least 100m, such as 500m, 2 or 3.5")
        return cpu

    @field_validator("memory")
    @classmethod
    def _memory(cls, memory: str | None) -> str | None:
        if memory is not None and (not re.match(r"^[0-9]+(\.[0-9]+)?(Mi|Gi)$", memory) or memory_mib(memory) < 256):
            raise ValueError("must be a memory quantity of at least 256Mi, in Mi or Gi, such as 512Mi or 16Gi")
        return memory

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        repository, tag, digest = split_image(image)
        if digest is not None:
            if not re.match(r"^sha256:[0-9a-f]{64}$", digest):
                raise ValueError("the digest must be sha256:<64 hex digits>")
            return image
        if tag is None or tag == "latest" or not repository:
            raise ValueError(
                "must be pinned to a tag or digest, e.g. nvcr.io/nvidia/tritonserver:25.01-py3 (not latest)"
            )
        if not _IMAGE_TAG.match(tag):
            raise ValueError(f"{tag!r} is not a valid image tag")
        return image

    @field_validator("shm_size")
    @classmethod
    def _quantity(cls, size: str) -> str:
        if not _QUANTITY.match(size):
            raise ValueError("must be a Kubernetes quantity such as 512Mi or 2Gi")
        return size


class ImageCacheSettings(_Settings):
    enabled: bool | None = None
    """Pull nvcr.io images through an Artifact Registry proxy in the cluster's region, streamed to GPU nodes.
    Default: on for GKE stacks; unavailable on an existing cluster."""
    repository: str = "nvcr-remote"
    """Artifact Registry repository ID of the nvcr.io proxy."""

    @field_validator("repository")
    @classmethod
    def _repository_id(cls, repository: str) -> str:
        if not _REPOSITORY_ID.match(repository):
            raise ValueError("must be an Artifact Registry repository ID: lowercase letters, digits and hyphens")
        return repository


class ModelStorageSettings(_Settings):
    buckets: list[str] = []
    """GCS buckets the models are read from; the model service account gets read-only access to each."""
    public_buckets: list[str] = ["kfserving-examples"]
    """World-readable GCS buckets (nothing to grant), e.g. KServe's public sample models."""

    @field_validator("buckets", "public_buckets")
    @classmethod
    def _bucket_names(cls, buckets: list[str]) -> list[str]:
        for bucket in buckets:
            if not _BUCKET.match(bucket):
                raise ValueError(f"{bucket!r} is not a GCS bucket name (3-63 lowercase letters, digits, . _ -)")
        return buckets


class InferenceServiceSettings(_Settings):
    name: str
    """InferenceService name: a DNS-1035 label of at most 53 characters."""
    namespace: str = "models"
    """Namespace of the InferenceService (created if needed); not kserve or a system namespace."""
    model_format: str
    """Model format Triton serves: triton (a Triton model repository), tensorrt, onnx, tensorflow, pytorch."""
    model_format_version: str | None = None
    """Format version, matched exactly: tensorrt 8, onnx 1, tensorflow 1 or 2, pytorch 1, triton 2."""
    storage_uri: str
    """Where the model repository is: gs://, s3://, https://, pvc://, hf:// or oci://."""
    gpus: int = Field(1, ge=0)
    """GPUs per replica; at most what one GPU node has (0 on a cluster without GPUs)."""
    min_replicas: int = 1
    """Fewest replicas (at least 1: Standard mode has no scale-to-zero)."""
    max_replicas: int = Field(1, ge=1)
    """Most replicas the autoscaler may run."""
    runtime_version: str | None = None
    """Triton image tag for this InferenceService only (overrides the tag of triton.image)."""

    @field_validator("name")
    @classmethod
    def _dns_1035(cls, name: str) -> str:
        if not _DNS_LABEL.match(name) or len(name) > MAX_ISVC_NAME:
            raise ValueError(
                f"must be a DNS-1035 label of at most {MAX_ISVC_NAME} characters (KServe names the Service "
                "<name>-predictor): lowercase letters, digits and hyphens, starting with a letter"
            )
        return name

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, namespace: str) -> str:
        if not _DNS_LABEL.match(namespace) or len(namespace) > 63:
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
        if not sep or scheme not in STORAGE_SCHEMES or not rest.strip("/"):
            raise ValueError(f"must be a URI KServe can fetch, with scheme {', '.join(STORAGE_SCHEMES)}")
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
        if tag is not None and (not _IMAGE_TAG.match(tag) or tag == "latest"):
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
        if self.min_replicas > self.max_replicas:
            problems.append(
                Problem("minReplicas", self.min_replicas, f"must be at most maxReplicas ({self.max_replicas})")
            )
        if problems:
            raise SettingsError(problems)
        return self

    @property
    def bucket(self) -> str | None:
        """The GCS bucket of a gs:// storage URI."""
        if not self.storage_uri.startswith("gs://"):
            return None
        return self.storage_uri.removeprefix("gs://").split("/", 1)[0]


class GcpSettings(_Settings):
    """Provider settings, read from the `gcp:` namespace as pulumi-gcp does."""

    project: str
    """The GCP project ID (`gcp:project`)."""
    region: str
    """The default GCP region (`gcp:region`); the cluster's location must be in it."""

    @field_validator("project")
    @classmethod
    def _project_id(cls, project: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", project):
            raise ValueError("must be a GCP project ID: 6-30 lowercase letters, digits or hyphens")
        return project

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if region not in gcp_catalog.REGIONS:
            raise ValueError(f"must be a GCP region; known: {', '.join(sorted(gcp_catalog.REGIONS))}")
        return region


# What a Triton replica gets on a cluster without GPUs, unless triton.cpu/memory say otherwise.
CPU_ONLY_REPLICA = gcp_catalog.GpuShare(cpu_millis=1000, memory_mib=2048)


class StackSettings(_Settings):
    """Everything one stack is configured with."""

    production: bool = False
    """Marks a production stack: refuses spot GPUs, unprotected cluster or CRDs, and fewer than 2 replicas."""
    gcp: GcpSettings | None = None
    cluster: ClusterSettings
    gpu_node_pool: GpuNodePoolSettings | None = None
    kserve: KServeSettings = KServeSettings()
    triton: TritonSettings = TritonSettings()
    image_cache: ImageCacheSettings = ImageCacheSettings()
    model_storage: ModelStorageSettings = ModelStorageSettings()
    inference_services: list[InferenceServiceSettings] = []

    @property
    def on_gke(self) -> bool:
        return self.cluster.existing is None

    @property
    def image_cache_on(self) -> bool:
        return self.image_cache.enabled if self.image_cache.enabled is not None else self.on_gke

    @property
    def replica_size(self) -> gcp_catalog.GpuShare:
        """CPU and memory per GPU of a replica (per replica on a cluster without GPUs)."""
        pool = self.gpu_node_pool
        default = gcp_catalog.gpu_share(pool.machine_type, pool.gpus_per_node) if pool else CPU_ONLY_REPLICA
        return gcp_catalog.GpuShare(
            cpu_millis(self.triton.cpu) if self.triton.cpu else default.cpu_millis,
            memory_mib(self.triton.memory) if self.triton.memory else default.memory_mib,
        )

    @model_validator(mode="after")
    def _consistent(self) -> StackSettings:
        problems = self._gke_problems() if self.on_gke else self._existing_cluster_problems()
        problems += self._inference_service_problems()
        if self.production:
            problems += self._production_problems()
        if problems:
            raise SettingsError(problems)
        return self

    def _gke_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.gcp is None:
            problems.append(Problem("gcp:project", MISSING, "is required for a GKE cluster (and gcp:region)"))
        if self.gpu_node_pool is None:
            problems.append(Problem("gpuNodePool", MISSING, "is required for a GKE cluster"))
        if problems:
            return problems
        assert self.gcp is not None and self.gpu_node_pool is not None
        if self.cluster.region != self.gcp.region:
            problems.append(
                Problem(
                    "cluster.location",
                    self.cluster.location,
                    f"must be gcp:region ({self.gcp.region}) or one of its zones",
                )
            )
        for index, zone in enumerate(self.gpu_node_pool.zones or []):
            if not gcp_catalog.is_zone(zone) or gcp_catalog.region_of(zone) != self.cluster.region:
                problems.append(
                    Problem(
                        f"gpuNodePool.zones[{index}]",
                        zone,
                        f"must be a zone of the cluster's region {self.cluster.region} (e.g. {self.cluster.region}-a)",
                    )
                )
        if self.gpu_node_pool.secondary_boot_disk and not self.image_cache_on:
            problems.append(
                Problem(
                    "gpuNodePool.secondaryBootDisk",
                    self.gpu_node_pool.secondary_boot_disk,
                    "needs image streaming, which comes with imageCache: turn imageCache.enabled on",
                )
            )
        share = gcp_catalog.gpu_share(self.gpu_node_pool.machine_type, self.gpu_node_pool.gpus_per_node)
        if self.triton.cpu and cpu_millis(self.triton.cpu) > share.cpu_millis:
            problems.append(
                Problem("triton.cpu", self.triton.cpu, f"one GPU of the pool's machine comes with {share.cpu_millis}m")
            )
        if self.triton.memory and memory_mib(self.triton.memory) > share.memory_mib:
            problems.append(
                Problem(
                    "triton.memory",
                    self.triton.memory,
                    f"one GPU of the pool's machine comes with {share.memory_mib}Mi",
                )
            )
        return problems

    def _existing_cluster_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.image_cache.enabled:
            problems.append(
                Problem("imageCache.enabled", True, "the image cache is an Artifact Registry proxy for GKE nodes")
            )
        if self.gpu_node_pool is not None:
            problems.append(
                Problem(
                    "gpuNodePool", "set", "an existing cluster gets no GKE node pool; remove it, or cluster.existing"
                )
            )
        if self.model_storage.buckets:
            problems.append(
                Problem(
                    "modelStorage.buckets",
                    self.model_storage.buckets,
                    "granting bucket access needs GKE Workload Identity; use modelStorage.publicBuckets",
                )
            )
        for index, isvc in enumerate(self.inference_services):
            if isvc.gpus:
                problems.append(
                    Problem(
                        f"inferenceServices[{index}].gpus",
                        isvc.gpus,
                        "this cluster has no GPU pool: set gpus: 0 (Triton runs on the CPU)",
                    )
                )
        return problems

    def _production_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if not self.on_gke:
            return [Problem("production", True, "a production stack must run on a GKE cluster this program manages")]
        if self.gpu_node_pool is not None and self.gpu_node_pool.spot:
            problems.append(Problem("gpuNodePool.spot", True, "production GPUs must be on-demand (spot is preempted)"))
        for setting, value in (
            ("cluster.deletionProtection", self.cluster.deletion_protection),
            ("cluster.protect", self.cluster.protect),
            ("kserve.protectCrds", self.kserve.protect_crds),
        ):
            if not value:
                problems.append(Problem(setting, value, "must be true in a production stack"))
        for index, isvc in enumerate(self.inference_services):
            if isvc.min_replicas < 2:
                problems.append(
                    Problem(
                        f"inferenceServices[{index}].minReplicas",
                        isvc.min_replicas,
                        "must be at least 2 in a production stack (one replica is one node failure from downtime)",
                    )
                )
        return problems

    def _inference_service_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        pool = self.gpu_node_pool
        seen: set[tuple[str, str]] = set()
        readable = set(self.model_storage.buckets) | set(self.model_storage.public_buckets)
        _, _, image_digest = split_image(self.triton.image)
        for index, isvc in enumerate(self.inference_services):
            where = f"inferenceServices[{index}]"
            if (isvc.namespace, isvc.name) in seen:
                problems.append(Problem(f"{where}.name", isvc.name, f"is already used in namespace {isvc.namespace}"))
            seen.add((isvc.namespace, isvc.name))
            if pool is not None and isvc.gpus == 0:
                problems.append(
                    Problem(f"{where}.gpus", 0, "must be at least 1: this stack serves models on its GPU pool")
                )
            if pool is not None and isvc.gpus > pool.gpus_per_node:
                problems.append(
                    Problem(
                        f"{where}.gpus",
                        isvc.gpus,
                        f"one {pool.machine_type} node has {pool.gpus_per_node} GPU(s); a replica cannot span nodes",
                    )
                )
            if isvc.bucket is not None and isvc.bucket not in readable:
                problems.append(
                    Problem(
                        f"{where}.storageUri",
                        isvc.storage_uri,
                        f"bucket {isvc.bucket} is in neither modelStorage.buckets (read access is granted) "
                        "nor modelStorage.publicBuckets",
                    )
                )
            if self.kserve.ingress.class_name and len(f"{isvc.name}-predictor-{isvc.namespace}") > 63:
                problems.append(
                    Problem(
                        f"{where}.name",
                        isvc.name,
                        f"with an Ingress, <name>-predictor-<namespace> must fit a 63-character DNS label; "
                        f"shorten the name or namespace ({isvc.namespace})",
                    )
                )
            if isvc.runtime_version is not None and image_digest is not None:
                problems.append(
                    Problem(
                        f"{where}.runtimeVersion",
                        isvc.runtime_version,
                        "KServe ignores runtimeVersion when triton.image is pinned by digest; pin by tag instead",
                    )
                )
        wanted = sum(isvc.min_replicas * isvc.gpus for isvc in self.inference_services)
        capacity = pool.max_nodes * pool.gpus_per_node if pool else 0
        if pool is not None and wanted > capacity:
            problems.append(
                Problem(
                    "inferenceServices",
                    f"{wanted} GPUs at minReplicas",
                    f"the GPU pool holds at most {capacity} (gpuNodePool.maxNodes {pool.max_nodes} x "
                    f"{pool.gpus_per_node} per node); the rest would never schedule",
                )
            )
        return problems


# Settings read from the project's namespace (`kserve-triton:<key>`), and from `gcp:`.
PROJECT_KEYS = (
    "production",
    "cluster",
    "gpuNodePool",
    "kserve",
    "triton",
    "imageCache",
    "modelStorage",
    "inferenceServices",
)
GCP_KEYS = ("project", "region")


def parse(raw: dict[str, Any]) -> StackSettings:
    """Validate raw settings (camelCase keys, as in the stack file) or raise ConfigError."""
    try:
        return StackSettings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_problems(error, raw)) from None


def load() -> StackSettings:
    """Read and validate this stack's whole configuration before any resource is registered."""
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    for key in _configured_keys(PROJECT):
        if key not in PROJECT_KEYS:
            problems.append(Problem(f"{PROJECT}:{key}", key, f"unknown setting; known: {', '.join(PROJECT_KEYS)}"))
    project_config = pulumi.Config(PROJECT)
    for key in PROJECT_KEYS:
        try:
            value = project_config.get_object(key)
        except pulumi.ConfigTypeError:
            problems.append(Problem(key, project_config.get(key), "must be YAML (an object, a list or true/false)"))
            continue
        if value is not None:
            raw[key] = value
    gcp_config = pulumi.Config("gcp")
    gcp = {key: gcp_config.get(key) for key in GCP_KEYS if gcp_config.get(key) is not None}
    if gcp:
        raw["gcp"] = gcp
    if problems:
        raise ConfigError(problems)
    return parse(raw)


def _configured_keys(namespace: str) -> set[str]:
    """Keys set in the stack's config under `namespace:` (from the engine, or PULUMI_CONFIG)."""
    configured = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    prefix = f"{namespace}:"
    return {key[len(prefix) :] for key in configured if key.startswith(prefix)}


def _problems(error: ValidationError, raw: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for detail in error.errors():
        location = _dotted(detail["loc"])
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, SettingsError):
            for problem in cause.problems:
                setting = f"{location}.{problem.setting}" if location else problem.setting
                problems.append(Problem(setting, problem.value, problem.allowed))
            continue
        setting = location.replace("gcp.", "gcp:", 1) if location.startswith("gcp.") else location
        if detail["type"] == "missing":
            problems.append(Problem(setting, MISSING, "is required"))
        elif detail["type"] == "extra_forbidden":
            known = _known_keys(detail["loc"][:-1])
            problems.append(Problem(setting, detail["input"], f"unknown setting; known: {known}"))
        else:
            message = detail["msg"].removeprefix("Value error, ")
            problems.append(Problem(setting, detail["input"], message))
    return problems


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _known_keys(loc: tuple[str | int, ...]) -> str:
    """The setting names allowed at `loc`, for 'unknown setting' messages."""
    model: type[BaseModel] = StackSettings
    for part in loc:
        if isinstance(part, int):
            continue
        field = next(f for name, f in model.model_fields.items() if (f.alias or name) == part)
        model = _model_in(field.annotation)
    return ", ".join(f.alias or name for name, f in model.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        try:
            return _model_in(arg)
        except TypeError:
            continue
    raise TypeError(f"no settings model in {annotation!r}")


def reference() -> list[tuple[str, str, str]]:
    """(setting, default, description) for every setting, as the README's configuration table shows them."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            alias = field.alias or name
            path = f"{prefix}{alias}"
            try:
                nested = _model_in(field.annotation)
            except TypeError:
                nested = None
            if nested is not None and nested is not model:
                is_list = "list" in str(field.annotation)
                walk(nested, f"{path}[]." if is_list else f"{path}.")
                continue
            if field.is_required():
                default = "required"
            elif field.default is None:
                default = "—"
            elif isinstance(field.default, bool | list):
                default = f"`{json.dumps(field.default)}`"
            else:
                default = f"`{field.default}`"
            description = " ".join((field.description or "").split())
            rows.append((path.replace("gcp.", "gcp:", 1), default, description))

    walk(StackSettings, "")
    return rows


def reference_table() -> str:
    lines = ["| Setting | Default | What it does |", "|---|---|---|"]
    lines += [f"| `{setting}` | {default} | {text} |" for setting, default, text in reference()]
    return "\n".join(lines)


def update_readme(readme: Path) -> None:
    """Rewrite the configuration table between the README's config-table markers."""
    start, end = "<!-- config-table:start -->", "<!-- config-table:end -->"
    text = readme.read_text()
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{reference_table()}\n{end}{tail}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-readme"]:
        update_readme(Path(__file__).resolve().parent.parent / "README.md")
    else:
        print(reference_table())
