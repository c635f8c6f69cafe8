"""The volume an InferenceService's replicas read their model from, instead of KServe downloading it into each pod:

- **gcsFuse**: a PersistentVolume of GKE's Cloud Storage FUSE CSI driver for the model's bucket, mounted read-only,
  limited to the model's prefix (`only-dir`), owned by Triton's user, with a file cache filled by parallel downloads;
  a PersistentVolumeClaim bound to it. The pods carry `gke-gcsfuse/volumes: "true"`, so GKE's webhook injects the
  FUSE sidecar, and the driver authenticates as the pod's own Kubernetes service account (`model-reader`, Workload
  Identity): no key anywhere.
- **hyperdiskMl**: a StorageClass of Hyperdisk ML volumes in the GPU zone, a `GCPDataSource` naming the model's
  folder and `model-reader`, and a ReadOnlyMany PersistentVolumeClaim whose `dataSourceRef` makes GKE's Volume
  Populator copy the folder into a new volume once; every replica attaches it read-only.

KServe mounts either claim (`storageUri: pvc://<claim>`) at /mnt/models, read-only, with no init container
(catalog/model_loading.py has the sources)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from catalog import model_loading as loading
from components.gke_types import CloudStorageSource, GCPDataSource, GCPDataSourceSpec

HYPERDISK_ML_CLASS = "kserve-triton-hyperdisk-ml"
ACCESS = ["ReadOnlyMany"]


def claim_name(isvc: str) -> str:
    return f"{isvc}-model"


def split_gs(uri: str) -> tuple[str, str]:
    """(bucket, prefix without slashes) of a gs:// URI."""
    bucket, _, prefix = uri.removeprefix("gs://").partition("/")
    return bucket, prefix.strip("/")


def fuse_annotations(cache_mb: int, autopilot: bool) -> dict[str, str]:
    """The pod's FUSE annotations: inject the sidecar, with the webhook's default CPU and memory requests and no CPU
    or memory limit (so parallel downloads may use the node's idle cores while Triton loads), and ephemeral storage
    for the file cache. Autopilot sets limits to requests: they are given equal there."""
    names = loading.FUSE_SIDECAR_ANNOTATIONS
    defaults = loading.FUSE_SIDECAR_DEFAULTS
    storage = f"{-(-cache_mb // 1000) + 1}G"
    annotations = {
        loading.FUSE_VOLUMES_ANNOTATION: "true",
        names["cpu-request"]: defaults["cpu"],
        names["memory-request"]: defaults["memory"],
        names["ephemeral-storage-request"]: storage,
    }
    if autopilot:
        annotations |= {
            names["cpu-limit"]: defaults["cpu"],
            names["memory-limit"]: defaults["memory"],
            names["ephemeral-storage-limit"]: storage,
        }
    else:
        annotations |= {names["cpu-limit"]: "0", names["memory-limit"]: "0", names["ephemeral-storage-limit"]: "0"}
    return annotations


def fuse_volume_spec(storage_uri: str, namespace: str, name: str, cache_mb: int) -> dict:
    bucket, prefix = split_gs(storage_uri)
    return {
        "accessModes": ACCESS,
        "capacity": {"storage": f"{-(-cache_mb // 1000)}G"},
        "storageClassName": "",
        "persistentVolumeReclaimPolicy": "Retain",
        "mountOptions": loading.fuse_mount_options(prefix, cache_mb),
        "csi": {"driver": loading.FUSE_DRIVER, "volumeHandle": bucket, "readOnly": True},
        "claimRef": {"namespace": namespace, "name": claim_name(name)},
    }


def hyperdisk_class_spec(zones: list[str] | None) -> dict:
    """The StorageClass's fields (StorageClass has no spec), as pulumi_kubernetes takes them."""
    spec: dict = {
        "provisioner": loading.PD_DRIVER,
        "parameters": {
            "type": loading.HYPERDISK_ML,
            "provisioned-throughput-on-create": f"{loading.HYPERDISK_ML_THROUGHPUT_MIB_S}Mi",
        },
        "allow_volume_expansion": False,
        "reclaim_policy": "Delete",
        # The populator starts copying when the claim is created, not when the first replica is scheduled.
        "volume_binding_mode": "Immediate",
    }
    if zones:
        spec["allowed_topologies"] = [{"matchLabelExpressions": [{"key": "topology.gke.io/zone", "values": zones}]}]
    return spec


@dataclass(frozen=True)
class ModelVolumeArgs:
    name: str
    namespace: str
    namespace_output: pulumi.Input[str]
    storage_uri: str
    mode: str
    size_gb: float
    service_account: str
    depends_on: list[pulumi.Resource]


def model_volume(
    resource_prefix: str, args: ModelVolumeArgs, parent: pulumi.Resource, storage_class: pulumi.Resource | None
) -> list:
    """The resources of one model's volume; the claim last (KServe mounts it by name)."""
    from settings.model_loading import cache_megabytes, disk_gib

    child = pulumi.ResourceOptions(parent=parent, depends_on=args.depends_on)
    claim = claim_name(args.name)
    if args.mode == "gcsFuse":
        cache_mb = cache_megabytes(args.size_gb)
        spec = fuse_volume_spec(args.storage_uri, args.namespace, args.name, cache_mb)
        volume = k8s.core.v1.PersistentVolume(
            f"{resource_prefix}-{args.namespace}-{args.name}-fuse-pv",
            metadata={"name": f"{args.namespace}-{claim}"},
            spec=spec,
            opts=child,
        )
        bound = k8s.core.v1.PersistentVolumeClaim(
            f"{resource_prefix}-{args.namespace}-{args.name}-fuse-pvc",
            metadata={"name": claim, "namespace": args.namespace_output},
            spec={
                "accessModes": ACCESS,
                "storageClassName": "",
                "volumeName": f"{args.namespace}-{claim}",
                "resources": {"requests": {"storage": spec["capacity"]["storage"]}},
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[volume, *args.depends_on]),
        )
        return [volume, bound]
    bucket, folder = split_gs(args.storage_uri)
    source = GCPDataSource(
        f"{resource_prefix}-{args.namespace}-{args.name}-source",
        name=claim,
        namespace=args.namespace_output,
        spec=GCPDataSourceSpec(
            cloud_storage=CloudStorageSource(
                service_account_name=args.service_account, uri=f"gs://{bucket}/{folder + '/' if folder else ''}"
            )
        ),
        opts=child,
    )
    # Depends on its source, so Pulumi deletes the claim first (a claim whose source is gone never finishes deleting).
    bound = k8s.core.v1.PersistentVolumeClaim(
        f"{resource_prefix}-{args.namespace}-{args.name}-hdml-pvc",
        metadata={"name": claim, "namespace": args.namespace_output},
        spec={
            "accessModes": ACCESS,
            "storageClassName": HYPERDISK_ML_CLASS,
            "resources": {"requests": {"storage": f"{disk_gib(args.size_gb)}Gi"}},
            "dataSourceRef": {"apiGroup": loading.POPULATOR_GROUP, "kind": loading.POPULATOR_KIND, "name": claim},
        },
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[source, *([storage_class] if storage_class else []), *args.depends_on]
        ),
    )
    return [source, bound]
