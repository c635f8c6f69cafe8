"""Clusters this program does not create, only reads: never replaced, never deleted.

- Any cluster (kind, minikube, EKS...) reached by a kubeconfig context: no GCP resources.
- An existing GKE cluster, by project, location and name: read through the GKE API at every `pulumi up`
  (`gcp.container.get_cluster`), reached with gke-gcloud-auth-plugin like a cluster of this program's, and
  refused, before anything is created in it, when it lacks what the program needs (Workload Identity; Standard
  mode for a GPU pool of this program's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.gke_cluster import kubeconfig

if TYPE_CHECKING:
    from settings import StackSettings


@dataclass(frozen=True)
class ExistingClusterArgs:
    context: str
    """The kubeconfig context to use, from $KUBECONFIG or ~/.kube/config."""


class ExistingCluster(pulumi.ComponentResource):
    """The Kubernetes provider for an existing cluster; it has no system pool to select."""

    provider: k8s.Provider
    system_node_selector: dict[str, str] | None = None
    workload_pool_owner: list[pulumi.Resource] = []

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:k8s:ExistingCluster", name, None, opts)
        self.provider = k8s.Provider(f"{name}-k8s", context=args.context, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"context": args.context})


@dataclass(frozen=True)
class ExistingGkeClusterArgs:
    project: str
    location: str
    name: str
    adds_node_pool: bool
    """This program adds its GPU pool: the cluster must be Standard, not Autopilot."""
    uses_gcs_fuse: bool = False
    """An InferenceService reads its model through Cloud Storage FUSE: the cluster must have GKE's CSI driver on."""

    @classmethod
    def from_settings(cls, stack: StackSettings) -> ExistingGkeClusterArgs:
        from settings.model_loading import uses

        return cls(
            project=stack.project,
            location=stack.cluster.gke_location,
            name=stack.cluster.gke_name,
            adds_node_pool=stack.gpu_node_pool is not None,
            uses_gcs_fuse=uses(stack, "gcsFuse"),
        )


class ExistingClusterRefused(pulumi.RunError):
    """The existing GKE cluster lacks something the program needs; nothing was created in it."""


def requirements_problems(cluster: Any, args: ExistingGkeClusterArgs) -> list[str]:
    """What the cluster, as the GKE API describes it (`get_cluster`), lacks for this program."""
    where = f"GKE cluster {args.name} ({args.project}, {args.location})"
    problems = []
    pools = [config.workload_pool for config in cluster.workload_identity_configs or []]
    if not any(pools):
        problems.append(
            f"{where} has no Workload Identity, which model access and KEDA need: "
            f"gcloud container clusters update {args.name} --location {args.location} --project {args.project} "
            f"--workload-pool={args.project}.svc.id.goog"
        )
    if args.adds_node_pool and cluster.enable_autopilot:
        problems.append(f"{where} is an Autopilot cluster, which takes no node pool: remove gpuNodePool")
    fuse = [
        config.enabled for addons in cluster.addons_configs or [] for config in addons.gcs_fuse_csi_driver_configs or []
    ]
    if args.uses_gcs_fuse and not cluster.enable_autopilot and not any(fuse):
        problems.append(
            f"{where} has no Cloud Storage FUSE CSI driver, which modelLoading gcsFuse needs: "
            f"gcloud container clusters update {args.name} --location {args.location} --project {args.project} "
            "--update-addons GcsFuseCsiDriver=ENABLED (or use modelLoading download)"
        )
    return problems


class ExistingGkeCluster(pulumi.ComponentResource):
    """An existing GKE cluster, read and checked; the Kubernetes provider for it."""

    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    cluster_id: str
    system_node_selector: dict[str, str] | None = None
    """Unknown: cert-manager and KServe go where the cluster's scheduler puts them."""
    workload_pool_owner: list[pulumi.Resource] = []
    """The cluster exists, and with it its workload pool."""
    node_service_account = None
    """Its nodes' accounts are the cluster's own."""

    def __init__(self, name: str, args: ExistingGkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:gke:ExistingGkeCluster", name, None, opts)
        self.cluster_id = f"projects/{args.project}/locations/{args.location}/clusters/{args.name}"
        found = gcp.container.get_cluster_output(
            name=args.name, location=args.location, project=args.project, opts=pulumi.InvokeOptions(parent=self)
        )

        def checked(cluster: Any) -> str:
            problems = requirements_problems(cluster, args)
            if problems:
                raise ExistingClusterRefused("\n".join(problems))
            (auth,) = cluster.master_auths
            return kubeconfig(args.name, cluster.endpoint, auth.cluster_ca_certificate, args.project, args.location)

        # Every in-cluster resource uses this provider, so a refused cluster stops them all, preview included.
        self.kubeconfig = pulumi.Output.secret(found.apply(checked))
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"clusterId": self.cluster_id, "kubeconfig": self.kubeconfig})
