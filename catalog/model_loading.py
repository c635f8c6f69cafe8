"""How a replica gets its model, and how long that takes: KServe's storage initializer (a download per pod), Cloud
Storage FUSE through GKE's CSI driver, a Hyperdisk ML volume populated from the bucket, and KServe's LocalModelCache.

Sources (each fact below names its own):

- FUSE: GoogleCloudPlatform/gcs-fuse-csi-driver at tag v1.24.4 (commit 32396eb): `pkg/webhook/mutatingwebhook.go`
  (the annotations), `pkg/webhook/sidecar_spec.go` (the injected sidecar: name, security context, volumes),
  `pkg/webhook/injection.go` (a native sidecar, at initContainers[0], from Kubernetes 1.29), `cmd/webhook/main.go`
  (the sidecar's default resources), `pkg/webhook/config.go` (a limit of "0" means none), `deploy/base/setup/
  csi_driver.yaml` (the CSIDriver: `tokenRequests` for `<project>.svc.id.goog`, so the kubelet hands the driver a
  token of the pod's own Kubernetes service account, whether or not the pod mounts one), `pkg/cloud_provider/
  clientset/clientset.go` and `pkg/cloud_provider/auth/token_sources.go` (a service account annotated
  `iam.gke.io/gcp-service-account` is impersonated with GenerateAccessToken), `pkg/csi_driver/utils.go`
  (volume attributes), `pkg/cloud_provider/storage/storage.go` (the bucket access check needs
  storage.objects.list), `docs/releases.md` (GKE versions per feature), `docs/authentication.md` (uid/gid mount
  flags for non-root containers), `examples/static/sub-dir-mount` (`only-dir=` in a PersistentVolume's
  mountOptions), `docs/known-issues.md` (graceful node shutdown on GPU and spot VMs: no node restart support).
- Hyperdisk ML and the GKE Volume Populator: GKE docs, "Automate data transfer from Cloud Storage to a Hyperdisk ML
  volume using GKE Volume Populator" (the StorageClass, the PVC with `dataSourceRef`, the `GCPDataSource`, the
  transfer Job's compute class `gcs-to-hdml-compute-class` and its need for node pool auto-creation or a labelled
  pool, GKE 1.33.2-gke.4780000 in the guide, volumes larger than 4 Gi), and the `GCPDataSource` CRD reference
  (`cloudStorage.serviceAccountName`, `cloudStorage.uri`).
- KServe v0.20.0 (tag commit 1fb7810): `pkg/webhook/admission/pod/storage_initializer_injector.go` and
  `pkg/utils/storage.go` (a pvc:// URI is mounted at /mnt/models, read-only, with no init container),
  `pkg/apis/serving/v1beta1/inference_service_defaults.go` (LocalModelCache matching, in any deployment mode),
  `charts/kserve-resources/values.yaml` (`kserve.localmodel`: its controller and node agent are another chart).
- Figures: GoogleCloudPlatform/accelerated-platforms `use-cases/inferencing/cost-optimization/gcsfuse/README.md`
  (Llama-3.3-70B-Instruct on an a2-highgpu-8g through FUSE: weights loaded in about 1200 s untuned, about 35 s
  tuned; pod Scheduled to Ready about 20 min and about 3 min). The model's size: 70.6 billion bf16 parameters,
  141 GB (its Hugging Face model card gives 70.6B parameters; 2 bytes each).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Cloud Storage FUSE (GKE's CSI driver) -------------------------------------------------------------------

FUSE_DRIVER = "gcsfuse.csi.storage.gke.io"
FUSE_VOLUMES_ANNOTATION = "gke-gcsfuse/volumes"
"""Pod annotation that makes GKE's webhook inject the FUSE sidecar ("true")."""
FUSE_SIDECAR = "gke-gcsfuse-sidecar"
FUSE_SIDECAR_ANNOTATIONS = {
    "cpu-request": "gke-gcsfuse/cpu-request",
    "cpu-limit": "gke-gcsfuse/cpu-limit",
    "memory-request": "gke-gcsfuse/memory-request",
    "memory-limit": "gke-gcsfuse/memory-limit",
    "ephemeral-storage-request": "gke-gcsfuse/ephemeral-storage-request",
    "ephemeral-storage-limit": "gke-gcsfuse/ephemeral-storage-limit",
}
FUSE_SIDECAR_DEFAULTS = {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "5Gi"}
"""The webhook's defaults for the sidecar's requests and limits (cmd/webhook/main.go flags); "0" as a limit means
none, and a request left unset then takes the default (pkg/webhook/config.go, populateResource)."""
FUSE_SIDECAR_UID = 65534
"""The sidecar runs as nobody (sidecar_spec.go, NobodyUID), non-root, RuntimeDefault seccomp, no capabilities."""
FUSE_NATIVE_SIDECAR_SINCE = "1.29.3-gke.1093000"
"""GKE version from which the sidecar is a native sidecar (an init container with restartPolicy Always)."""
FUSE_FILE_CACHE_SINCE = "1.29.3-gke.1093000"
"""File cache and volume attributes (1.27.12-gke.1190000, 1.28.8-gke.1175000, 1.29.3-gke.1093000 or later)."""
FUSE_PARALLEL_DOWNLOADS_SINCE = "1.30.2-gke.1394000"
"""Parallel downloads of the file cache (1.29.6-gke.1254000, 1.30.2-gke.1394000 or later)."""
FUSE_CACHE_VOLUME = "gke-gcsfuse-cache"
"""The webhook's emptyDir for the file cache (the node's boot disk, or its local SSDs when the pool uses them for
ephemeral storage); it lives as long as the pod: a new pod starts with an empty cache."""
TRITON_UID = 1000
TRITON_GID = 1000
"""The NGC Triton image's triton-server user and group; the FUSE docs require uid/gid mount flags for a non-root
container."""


def fuse_mount_options(prefix: str, cache_mb: int) -> list[str]:
    """A PersistentVolume's mountOptions for a read-only model directory: only the model's prefix, the owner Triton
    runs as, a file cache of `cache_mb` filled by parallel downloads, and metadata cached for the pod's life (the
    model does not change under a running replica). Options with ':' are gcsfuse config keys, '=' flags
    (sidecar_mounter_config.go); the cache options are those of GKE's "Optimize Cloud Storage FUSE CSI driver"
    page and accelerated-platforms' tuned manifests."""
    options = ["implicit-dirs", f"uid={TRITON_UID}", f"gid={TRITON_GID}"]
    if prefix:
        options.append(f"only-dir={prefix}")
    return [
        *options,
        f"file-cache:max-size-mb:{cache_mb}",
        "file-cache:cache-file-for-range-read:true",
        "file-cache:enable-parallel-downloads:true",
        "metadata-cache:ttl-secs:-1",
        "metadata-cache:stat-cache-max-size-mb:-1",
        "metadata-cache:type-cache-max-size-mb:-1",
    ]


# --- Hyperdisk ML through the GKE Volume Populator ------------------------------------------------------------

PD_DRIVER = "pd.csi.storage.gke.io"
HYPERDISK_ML = "hyperdisk-ml"
HYPERDISK_ML_THROUGHPUT_MIB_S = 2400
"""provisioned-throughput-on-create of the guide's StorageClass, MiB/s: what the program provisions."""
HYPERDISK_ML_MIN_GIB = 5
"""Volumes must be larger than 4 Gi (the populator guide)."""
POPULATOR_GROUP = "datalayer.gke.io"
POPULATOR_KIND = "GCPDataSource"
POPULATOR_COMPUTE_CLASS = "gcs-to-hdml-compute-class"
"""The ComputeClass the populator's transfer Job selects; its name is fixed."""
POPULATOR_SINCE = "1.33.2-gke.4780000"


# --- KServe ---------------------------------------------------------------------------------------------------

KSERVE_PVC_VOLUME = "kserve-pvc-source"
"""KServe mounts a pvc:// model as this volume at /mnt/models, read-only, without an init container."""


# --- the stage model ------------------------------------------------------------------------------------------

LLAMA_70B_GB = 141.2
"""Llama-3.3-70B-Instruct's weights: 70.6e9 bf16 parameters x 2 bytes."""
FUSE_UNTUNED_LOAD_S = 1200
FUSE_TUNED_LOAD_S = 35
ONE_STREAM_MB_S = LLAMA_70B_GB * 1000 / FUSE_UNTUNED_LOAD_S
"""≈118 MB/s: reading a bucket one file, one stream at a time (FUSE untuned reads sequentially). KServe's storage
initializer also downloads one blob after another (kserve_storage.py, `_download_gcs`), so it is taken at this
rate: no published figure for it exists."""
PARALLEL_MB_S = LLAMA_70B_GB * 1000 / FUSE_TUNED_LOAD_S
"""≈4,000 MB/s: FUSE with parallel downloads into the file cache, on an a2-highgpu-8g (smaller machines have less
network bandwidth, so take it as an upper bound)."""
HYPERDISK_ML_MB_S = HYPERDISK_ML_THROUGHPUT_MIB_S * 2**20 / 1e6
"""≈2,517 MB/s: the provisioned throughput of the volume (all its readers share it)."""
FUSE_DEFAULT_FROM_GB = 1.0
"""From this model size the default loading mode is FUSE: below it, one stream downloads it in under 10 s, within
the noise of the rest of a cold start, and the download needs no sidecar and no volume."""

MODES = ("download", "gcsFuse", "hyperdiskMl", "localModelCache")


@dataclass(frozen=True)
class LoadingEstimate:
    """Seconds one new replica spends getting its model, by where it goes: the init container (download), or
    Triton's own model load (reads through FUSE or from the disk), which the startup probe must cover."""

    mode: str
    init_container_s: float
    triton_read_s: float
    note: str

    @property
    def total_s(self) -> float:
        return self.init_container_s + self.triton_read_s


def estimate(mode: str, size_gb: float, *, warm: bool = False) -> LoadingEstimate:
    """The model-size-dependent part of a cold start for one replica (the image pulls and the node are apart)."""
    megabytes = size_gb * 1000
    if mode == "download":
        return LoadingEstimate(mode, megabytes / ONE_STREAM_MB_S, 0.0, "one blob after another, then from local disk")
    if mode == "gcsFuse" and warm:
        return LoadingEstimate(mode, 0.0, 0.0, "file cache already filled: the same pod's Triton restarted")
    if mode == "gcsFuse":
        return LoadingEstimate(mode, 0.0, megabytes / PARALLEL_MB_S, "parallel downloads into the file cache")
    if mode == "hyperdiskMl":
        return LoadingEstimate(mode, 0.0, megabytes / HYPERDISK_ML_MB_S, "read from the populated volume")
    raise ValueError(f"no estimate for loading mode {mode}")


def default_mode(size_gb: float | None, *, fuse_available: bool, gcs: bool) -> str:
    """The loading mode the stage model picks when an InferenceService names none."""
    if not fuse_available or not gcs or size_gb is None or size_gb < FUSE_DEFAULT_FROM_GB:
        return "download"
    return "gcsFuse"
