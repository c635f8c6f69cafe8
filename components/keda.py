"""KEDA, installed by its pinned Helm chart before KServe, and the GCP identity it reads metrics with.

Each scaling InferenceService has a KEDA ScaledObject the program declares (components/inference_services.py; the
InferenceService is of KServe's `external` class); KEDA then runs its PromQL against Managed Service for Prometheus,
or the user's own Prometheus off GKE. Facts with sources: ../shared/notes/autoscaling-observability.md §1-2.

- **Before KServe**: KServe's controller watches ScaledObjects only if their CRD existed when it started
  (`controller.go` `IsCrdAvailable`), so kserve-resources depends on this release (which matters to an
  InferenceService still of KServe's own `keda` class from before).
- **Identity**: the `keda-operator` Kubernetes service account acts, through Workload Identity, as a GCP
  service account holding only `roles/monitoring.viewer`; each model namespace's TriggerAuthentication
  (`podIdentity.provider: gcp`) tells KEDA's Prometheus scaler to use it.
- **Always installed**: so that turning autoscaling on later needs no controller restart. The chart carries
  KEDA's CRDs (templates): the release is retained when removed from the program and protected like KServe's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.charts import chart_source
from components.image_mirrors import mirrored
from components.naming import service_account_id

if TYPE_CHECKING:
    from components.existing_cluster import ExistingCluster
    from components.gke_cluster import GkeCluster
    from components.image_cache import ImageCache
    from settings import StackSettings

    Cluster = GkeCluster | ExistingCluster

KEDA_REPO = "https://kedacore.github.io/charts"
KEDA_NAMESPACE = "keda"
OPERATOR_KSA = "keda-operator"
METRICS_READER_ROLE = "roles/monitoring.viewer"
HELM_TIMEOUT_SECONDS = 600
# The chart's images (values.yaml `image.*.registry` + `repository`); the tag is the chart's appVersion.
IMAGE_REGISTRY = "ghcr.io"
IMAGES = {
    "keda": "kedacore/keda",
    "metricsApiServer": "kedacore/keda-metrics-apiserver",
    "webhooks": "kedacore/keda-admission-webhooks",
}
# Production: a standby operator (it elects a leader; KEDA docs, "Cluster": High Availability, supports 2 replicas)
# with a disruption budget, spread over zones. The metrics server stays at 1 (the same page: only one can serve
# external.metrics.k8s.io), as do the admission webhooks (failurePolicy Ignore: nothing waits for them). While no
# operator runs, KEDA's HPAs keep the replicas they have; no model stops serving.
OPERATOR_REPLICAS = 2


@dataclass(frozen=True)
class KedaArgs:
    version: str
    system_node_selector: dict[str, str] | None
    """Where KEDA's operator, metrics server and webhooks run; None leaves them to the scheduler."""
    protect: bool
    """Pulumi `protect` on the release, which carries KEDA's CRDs."""
    image_mirrors: Mapping[str, str] | None = None
    """Upstream registry host -> pull-through prefix (see components/image_mirrors.py)."""
    project: str | None = None
    """On GKE: the project whose Managed Service for Prometheus KEDA queries; None: no GCP identity."""
    cluster_name: str | None = None
    workload_pool_owner: list[pulumi.Resource] = field(default_factory=list)
    """The cluster whose Workload Identity creates `<project>.svc.id.goog`."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    """What the release waits for, e.g. the image proxies and the nodes' read access to them."""
    highly_available: bool = False
    """Production: a standby operator, a disruption budget and zone spread."""
    local_chart: str | None = None
    """An unpacked chart directory to install instead of pulling the chart (`kserve.charts`)."""

    @classmethod
    def from_settings(cls, stack: StackSettings, cluster: Cluster, image_cache: ImageCache | None) -> KedaArgs:
        return cls(
            version=stack.kserve.keda_version,
            system_node_selector=cluster.system_node_selector,
            protect=stack.kserve.protect_crds,
            image_mirrors=image_cache.chart_mirrors if image_cache and stack.mirrors_chart_images else None,
            project=stack.project if stack.on_gke else None,
            cluster_name=stack.cluster.gke_name if stack.on_gke else None,
            workload_pool_owner=cluster.workload_pool_owner,
            depends_on=image_cache.pull_prerequisites if image_cache and stack.mirrors_chart_images else [],
            highly_available=stack.production,
            local_chart=stack.kserve.chart_path("keda"),
        )


def keda_values(args: KedaArgs, gcp_service_account: pulumi.Input[str] | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        # The tag is pinned by the chart version: nothing to gain from pulling on every start.
        "image": {"pullPolicy": "IfNotPresent"},
    }
    for component, repository in IMAGES.items():
        upstream = f"{IMAGE_REGISTRY}/{repository}"
        through = mirrored(upstream, args.image_mirrors)
        if through != upstream:
            values["image"][component] = {"registry": through.removesuffix(f"/{repository}")}
    if args.system_node_selector:
        values["nodeSelector"] = dict(args.system_node_selector)
    if gcp_service_account is not None:
        values["podIdentity"] = {"gcp": {"enabled": True, "gcpIAMServiceAccount": gcp_service_account}}
    if args.highly_available:
        operator = {"app": "keda-operator"}  # the operator Deployment's selector (templates/manager/deployment.yaml)
        values["operator"] = {"replicaCount": OPERATOR_REPLICAS}
        values["podDisruptionBudget"] = {"operator": {"minAvailable": 1}}
        values["topologySpreadConstraints"] = {
            "operator": [
                {
                    "maxSkew": 1,
                    "topologyKey": key,
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": operator},
                }
                for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
            ]
        }
    return values


class Keda(pulumi.ComponentResource):
    """KEDA's Helm release, and on GKE the GCP account its operator queries Managed Prometheus as.
    Pass the cluster's provider in `opts.providers` (it applies to the Kubernetes resources only)."""

    release: k8s.helm.v3.Release
    """KServe's controller must start after this."""
    service_account_email: pulumi.Output[str] | None

    def __init__(self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:kserve:Keda", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.service_account_email = None
        grants: list[pulumi.Resource] = []
        if args.project is not None:
            assert args.cluster_name is not None
            account = gcp.serviceaccount.Account(
                f"{name}-metrics-reader",
                account_id=service_account_id(args.cluster_name, "keda"),
                display_name=f"GKE {args.cluster_name} KEDA (reads Managed Prometheus)",
                project=args.project,
                opts=child,
            )
            grants = [
                gcp.projects.IAMMember(
                    f"{name}-metrics-viewer",
                    project=args.project,
                    role=METRICS_READER_ROLE,
                    member=account.member,
                    opts=child,
                ),
                gcp.serviceaccount.IAMMember(
                    f"{name}-workload-identity",
                    service_account_id=account.name,
                    role="roles/iam.workloadIdentityUser",
                    member=f"serviceAccount:{args.project}.svc.id.goog[{KEDA_NAMESPACE}/{OPERATOR_KSA}]",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=args.workload_pool_owner),
                ),
            ]
            self.service_account_email = account.email
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns", metadata={"name": KEDA_NAMESPACE}, opts=pulumi.ResourceOptions(parent=self)
        )
        self.release = k8s.helm.v3.Release(
            name,
            name="keda",
            **chart_source("keda", args.version, KEDA_REPO, args.local_chart),
            namespace=namespace.metadata["name"],
            values=keda_values(args, self.service_account_email),
            timeout=HELM_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*grants, *args.depends_on],
                protect=args.protect,
                # The chart holds KEDA's CRDs: deleting it deletes every ScaledObject in the cluster.
                retain_on_delete=True,
            ),
        )
        self.register_outputs({"namespace": KEDA_NAMESPACE, "serviceAccountEmail": self.service_account_email})
