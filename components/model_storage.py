"""Read-only access to the model buckets for InferenceService pods, through Workload Identity (no keys)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from components.naming import service_account_id

if TYPE_CHECKING:
    from components.gke_cluster import GkeCluster
    from settings import StackSettings

# Get and list objects: what KServe's storage initializer needs to download a model directory.
BUCKET_READ_ROLE = "roles/storage.objectViewer"
# The Kubernetes service account InferenceService pods run as, in every model namespace.
MODEL_READER_KSA = "model-reader"


@dataclass(frozen=True)
class ModelStorageAccessArgs:
    project: str
    cluster_name: str
    buckets: list[str]
    """GCS buckets to grant read-only access to."""
    namespaces: list[str]
    """Namespaces whose `model-reader` Kubernetes service account may act as the model reader."""
    workload_pool_owner: list[pulumi.Resource] = field(default_factory=list)
    """The cluster whose Workload Identity creates `<project>.svc.id.goog`: IAM refuses bindings to a
    workload pool that does not exist yet."""

    @classmethod
    def from_settings(cls, stack: StackSettings, cluster: GkeCluster) -> ModelStorageAccessArgs:
        return cls(
            project=stack.project,
            cluster_name=stack.cluster.gke_name,
            buckets=list(stack.model_storage.buckets),
            namespaces=sorted({isvc.namespace for isvc in stack.inference_services}),
            workload_pool_owner=cluster.workload_pool_owner,
        )


class ModelStorageAccess(pulumi.ComponentResource):
    """A GCP service account that can read the model buckets and nothing else, which the `model-reader`
    Kubernetes service account of each model namespace impersonates through Workload Identity."""

    email: pulumi.Output[str]
    bucket_grants: dict[str, pulumi.Resource]
    """Read access per bucket."""
    namespace_bindings: dict[str, pulumi.Resource]
    """Workload Identity per model namespace (its `model-reader` account may act as the reader)."""

    def grants_for(self, namespace: str, bucket: str | None) -> list[pulumi.Resource]:
        """What a model in `namespace` reading `bucket` needs before its pods download: its namespace's
        Workload Identity binding and its own bucket's grant, and nothing of any other model's."""
        needed = [self.namespace_bindings[namespace]] if namespace in self.namespace_bindings else []
        return needed + ([self.bucket_grants[bucket]] if bucket in self.bucket_grants else [])

    def __init__(self, name: str, args: ModelStorageAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:gcp:ModelStorageAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.service_account = gcp.serviceaccount.Account(
            f"{name}-reader",
            account_id=service_account_id(args.cluster_name, "models"),
            display_name=f"GKE {args.cluster_name} model reader (InferenceServices)",
            project=args.project,
            opts=child,
        )
        self.bucket_grants = {
            bucket: gcp.storage.BucketIAMMember(
                f"{name}-read-{bucket}",
                bucket=bucket,
                role=BUCKET_READ_ROLE,
                member=self.service_account.member,
                opts=child,
            )
            for bucket in args.buckets
        }
        self.namespace_bindings = {
            namespace: gcp.serviceaccount.IAMMember(
                f"{name}-wi-{namespace}",
                service_account_id=self.service_account.name,
                role="roles/iam.workloadIdentityUser",
                member=f"serviceAccount:{args.project}.svc.id.goog[{namespace}/{MODEL_READER_KSA}]",
                opts=pulumi.ResourceOptions(parent=self, depends_on=args.workload_pool_owner),
            )
            for namespace in args.namespaces
        }

        self.email = self.service_account.email
        self.register_outputs({"email": self.email})
