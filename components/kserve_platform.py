"""cert-manager and KServe (CRDs, then controller) installed by Helm, in Standard mode.

Install order on a fresh cluster: cert-manager (its webhook must answer before KServe's Issuer and
Certificate are applied) -> kserve-crd -> kserve-resources (controller + webhooks; Helm waits until the
controller is ready). Runtimes and InferenceServices depend on `controller`, so Pulumi creates them after
it and deletes them before it: the InferenceService finalizer needs a running controller.

KServe's built-in runtimes (chart `kserve-runtime-configs`) are deliberately not installed: it always emits
a `kserve-tritonserver` object, and this project declares its own under that name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components.charts import chart_source
from components.image_mirrors import mirror_errors, mirrored

if TYPE_CHECKING:
    from components.existing_cluster import ExistingCluster
    from components.gke_cluster import GkeCluster
    from components.image_cache import ImageCache
    from settings import StackSettings

    Cluster = GkeCluster | ExistingCluster

KSERVE_CHARTS = "oci://ghcr.io/kserve/charts"
CERT_MANAGER_REPO = "https://charts.jetstack.io"
KSERVE_NAMESPACE = "kserve"
CERT_MANAGER_NAMESPACE = "cert-manager"

# Upstream's kserve namespace labels: KServe's pod-mutating webhook skips namespaces labelled
# control-plane, so the controller's own pods never wait on the controller.
KSERVE_NAMESPACE_LABELS = {
    "control-plane": "kserve-controller-manager",
    "controller-tools.k8s.io": "1.0",
    "istio-injection": "disabled",
}

# Helm waits for Deployments (and, for cert-manager, its start-up API check job) before reporting success.
HELM_TIMEOUT_SECONDS = 600

# --- availability (production) ---------------------------------------------------------------------------------
# Replicas for a production stack. KServe's controller elects a leader (`--leader-elect`) and every replica serves
# the admission webhooks (controller-runtime's webhook server does not wait for leadership), so a second replica
# keeps InferenceServices admissible while one is drained. The chart has no replicas value: a server-side apply
# patch of the Deployment sets them. cert-manager: the counts of its "Best Practice" page (High Availability):
# controller 2, webhook 3, cainjector 2, each with a PodDisruptionBudget (the chart's, minAvailable 1).
KSERVE_CONTROLLER = "kserve-controller-manager"
KSERVE_CONTROLLER_REPLICAS = 2
# The controller Deployment's selector (kserve-resources v0.20.0, files/kserve/resources.yaml).
KSERVE_CONTROLLER_SELECTOR = {"control-plane": KSERVE_CONTROLLER, "controller-tools.k8s.io": "1.0"}
CERT_MANAGER_REPLICAS = {"controller": 2, "webhook": 3, "cainjector": 2}
ZONE, HOSTNAME = "topology.kubernetes.io/zone", "kubernetes.io/hostname"

# Requests for every cert-manager workload, whose chart sets none (a pod without requests is BestEffort: evicted
# first, and scheduled as if free). Estimates for a cluster with a handful of Certificates: cert-manager's memory
# grows with the TLS Secrets it caches ("Scaling cert-manager"); the limits bound a leak on the shared system pool.
# No CPU limit: CFS throttling would only slow it down. KServe's controller and kube-rbac-proxy have the chart's
# own (100m / 300Mi each, requested at the limit), as have KEDA's.
CERT_MANAGER_RESOURCES = {
    "controller": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    "webhook": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
    "cainjector": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    "startupapicheck": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
}


def spread(selector: dict[str, str]) -> list[dict[str, Any]]:
    """Replicas over zones, then nodes: preferences (ScheduleAnyway), so a rollout's surge pod or a drain never
    waits for a node the system pool does not have."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
        }
        for key in (ZONE, HOSTNAME)
    ]


# Every image the charts pull, by the value that names it, with the chart's default; set only when a mirror
# rewrites it. Tags stay the charts' (kserve.version, cert-manager's appVersion), except kube-rbac-proxy's,
# which the chart gives in one reference. Tests compare the defaults with the values.yaml of kserve-resources
# v0.20.0 and cert-manager v1.19.6 and v1.21.1, and check that the rendered charts pull no other image.
KSERVE_IMAGES: dict[tuple[str, ...], str] = {
    ("controller", "image"): "kserve/kserve-controller",
    ("controller", "rbacProxyImage"): "quay.io/brancz/kube-rbac-proxy:v0.18.0",
    # The storage initializer runs in every predictor pod: the ClusterStorageContainer `default` and the
    # `storageInitializer` config both take this value.
    ("storage", "image"): "kserve/storage-initializer",
    ("agent", "image"): "kserve/agent",  # the agent, batcher and logger sidecars
    ("router", "image"): "kserve/router",  # InferenceGraph routers
    ("localmodel", "defaultJobImage"): "kserve/storage-initializer",  # LocalModel download jobs
    ("servingruntime", "art", "image"): "kserve/art-explainer",  # ART explainers
}
CERT_MANAGER_IMAGES: dict[tuple[str, ...], str] = {
    # `image.repository`, which v1.19.6 and v1.21.1 both have; v1.21's `imageRegistry` is missing from v1.19.
    ("image", "repository"): "quay.io/jetstack/cert-manager-controller",
    ("webhook", "image", "repository"): "quay.io/jetstack/cert-manager-webhook",
    ("cainjector", "image", "repository"): "quay.io/jetstack/cert-manager-cainjector",
    ("startupapicheck", "image", "repository"): "quay.io/jetstack/cert-manager-startupapicheck",
    # Not a pod of the release: the controller's --acme-http01-solver-image, for ACME HTTP-01 challenges.
    ("acmesolver", "image", "repository"): "quay.io/jetstack/cert-manager-acmesolver",
}


@dataclass(frozen=True)
class KServePlatformArgs:
    kserve_version: str
    cert_manager_version: str
    deployment_mode: str
    ingress_class: str | None
    """None: KServe creates no Ingress; InferenceServices are reachable inside the cluster only."""
    ingress_domain: str
    """Host names of the Ingresses (`<isvc>-<namespace>.<domain>`); only used with an ingress class."""
    system_node_selector: dict[str, str] | None
    """Where cert-manager and the KServe controller run; None leaves them to the scheduler."""
    protect_crds: bool
    image_mirrors: Mapping[str, str] | None = None
    """Upstream registry host (`docker.io`, `quay.io`) -> the prefix its images are pulled through, e.g. an
    Artifact Registry remote repository `us-central1-docker.pkg.dev/<project>/dockerhub-remote`; every image
    of cert-manager and KServe from that registry is rewritten. None or empty: pull from upstream."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    """What the releases must wait for, e.g. the mirror repositories and the nodes' read access to them: Helm
    waits for the pods, which cannot pull their images before."""
    watched_crds: list[pulumi.Resource] = field(default_factory=list)
    """Releases whose CRDs the controller must find when it starts: KEDA's (it watches ScaledObjects only if
    their CRD existed then)."""
    highly_available: bool = False
    """Production: KServe's controller and cert-manager with several replicas, disruption budgets and zone spread."""
    local_charts: Mapping[str, str] = field(default_factory=dict)
    """Chart name -> an unpacked chart directory to install instead of pulling it (`kserve.charts`)."""

    def __post_init__(self):
        errors = mirror_errors(self.image_mirrors or {})
        if errors:
            raise ValueError(f"image_mirrors: {'; '.join(errors)}")

    @classmethod
    def from_settings(
        cls, stack: StackSettings, cluster: Cluster, image_cache: ImageCache | None, keda: pulumi.Resource
    ) -> KServePlatformArgs:
        kserve = stack.kserve
        return cls(
            kserve_version=kserve.version,
            cert_manager_version=kserve.cert_manager.version,
            deployment_mode=kserve.deployment_mode,
            ingress_class=kserve.ingress.class_name,
            ingress_domain=kserve.ingress.domain,
            system_node_selector=cluster.system_node_selector,
            protect_crds=kserve.protect_crds,
            image_mirrors=image_cache.chart_mirrors if image_cache and stack.mirrors_chart_images else None,
            depends_on=image_cache.pull_prerequisites if image_cache and stack.mirrors_chart_images else [],
            watched_crds=[keda],
            highly_available=stack.production,
            local_charts={
                chart: path
                for chart in ("cert-manager", "kserve-crd", "kserve-resources")
                if (path := kserve.chart_path(chart)) is not None
            },
        )


def _mirror_images(
    values: dict[str, Any], images: dict[tuple[str, ...], str], mirrors: Mapping[str, str] | None
) -> None:
    for path, default in images.items():
        image = mirrored(default, mirrors)
        if image != default:
            node = values
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = image


def cert_manager_values(args: KServePlatformArgs) -> dict[str, Any]:
    # crds.keep repeats the chart's default, pinned: deleting cert-manager's CRDs deletes every Certificate
    # and Issuer in the cluster, KServe's webhook certificate among them.
    values: dict[str, Any] = {
        "crds": {"enabled": True, "keep": True},
        # The leader-election leases in cert-manager's own namespace rather than kube-system (the chart's default),
        # which GKE Autopilot does not let workloads write to (cert-manager docs, "Installing on GKE Autopilot").
        "global": {"leaderElection": {"namespace": CERT_MANAGER_NAMESPACE}},
    }
    components = {"controller": values} | {c: values.setdefault(c, {}) for c in ("webhook", "cainjector")}
    for name, component in {**components, "startupapicheck": values.setdefault("startupapicheck", {})}.items():
        if args.system_node_selector:
            component["nodeSelector"] = dict(args.system_node_selector)
        component["resources"] = CERT_MANAGER_RESOURCES[name]
    if args.highly_available:
        for name, component in components.items():
            component["replicaCount"] = CERT_MANAGER_REPLICAS[name]
            # The chart's budget: minAvailable 1 when neither minAvailable nor maxUnavailable is given.
            component["podDisruptionBudget"] = {"enabled": True}
            component["topologySpreadConstraints"] = spread(
                {"app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": name}
            )
    _mirror_images(values, CERT_MANAGER_IMAGES, args.image_mirrors)
    return values


def kserve_values(args: KServePlatformArgs) -> dict[str, Any]:
    # kserve.version is not set: the chart's default is its own version, which is kserve_version.
    gateway: dict[str, Any] = {
        # No Istio here: without this the controller warns VirtualServiceCRDNotFound on every reconcile.
        "disableIstioVirtualHost": True,
    }
    if args.ingress_class is None:
        gateway["disableIngressCreation"] = True
    else:  # the chart's defaults create Ingresses, of class `istio` under example.com
        gateway["ingressGateway"] = {"className": args.ingress_class}
        gateway["domain"] = args.ingress_domain
    controller: dict[str, Any] = {
        # The chart defaults to Knative, which needs Knative Serving and Istio.
        "deploymentMode": args.deployment_mode,
        # The chart's default is Always; the tag is pinned by kserve.version, so there is nothing to gain from
        # pulling (from a rate-limited Docker Hub) every time the pod starts.
        "imagePullPolicy": "IfNotPresent",
        "gateway": gateway,
    }
    if args.system_node_selector:
        controller["nodeSelector"] = dict(args.system_node_selector)
    if args.highly_available:  # the replicas themselves: KServePlatform's DeploymentPatch
        controller["topologySpreadConstraints"] = spread(KSERVE_CONTROLLER_SELECTOR)
    values: dict[str, Any] = {
        "controller": controller,
        # Both repeat the chart's defaults, pinned: aggregation and the scraping annotations target Knative's
        # queue-proxy, which Standard mode does not have.
        "metricsaggregator": {"enableMetricAggregation": "false", "enablePrometheusScraping": "false"},
        # The storage initializer (the ClusterStorageContainer `default`) runs in every predictor pod; the chart's
        # securityContext for it lacks a seccomp profile, which the restricted Pod Security Standard requires
        # (Helm merges this into the chart's map: the other settings stay).
        "storage": {"containerSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}}},
    }
    _mirror_images(values, KSERVE_IMAGES, args.image_mirrors)
    return {"kserve": values}


class KServePlatform(pulumi.ComponentResource):
    """cert-manager plus KServe's CRDs and controller; pass the cluster's provider in `opts.provider`."""

    namespace: pulumi.Output[str]
    version: pulumi.Output[str]
    controller: k8s.helm.v3.Release
    """The KServe controller release: runtimes and InferenceServices must depend on it."""
    crds: k8s.helm.v3.Release

    def __init__(self, name: str, args: KServePlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:kserve:KServePlatform", name, None, opts)

        cert_manager_ns = k8s.core.v1.Namespace(
            f"{name}-cert-manager-ns",
            metadata={"name": CERT_MANAGER_NAMESPACE},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cert_manager = k8s.helm.v3.Release(
            f"{name}-cert-manager",
            name="cert-manager",
            **chart_source(
                "cert-manager", args.cert_manager_version, CERT_MANAGER_REPO, args.local_charts.get("cert-manager")
            ),
            namespace=cert_manager_ns.metadata["name"],
            values=cert_manager_values(args),
            timeout=HELM_TIMEOUT_SECONDS,
            wait_for_jobs=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on),
        )

        kserve_ns = k8s.core.v1.Namespace(
            f"{name}-kserve-ns",
            metadata={"name": KSERVE_NAMESPACE, "labels": KSERVE_NAMESPACE_LABELS},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Deleting the CRDs deletes every InferenceService in the cluster, so no config change or refactor
        # may do it: the release is retained when removed from the program, and protected unless disabled.
        self.crds = k8s.helm.v3.Release(
            f"{name}-crd",
            name="kserve-crd",
            **chart_source("kserve-crd", args.kserve_version, KSERVE_CHARTS, args.local_charts.get("kserve-crd")),
            namespace=kserve_ns.metadata["name"],
            timeout=HELM_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.cert_manager],
                protect=args.protect_crds,
                retain_on_delete=True,
            ),
        )
        self.controller = k8s.helm.v3.Release(
            f"{name}-resources",
            name="kserve-resources",
            **chart_source(
                "kserve-resources", args.kserve_version, KSERVE_CHARTS, args.local_charts.get("kserve-resources")
            ),
            namespace=kserve_ns.metadata["name"],
            values=kserve_values(args),
            timeout=HELM_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.cert_manager, self.crds, *args.depends_on, *args.watched_crds]
            ),
        )

        if args.highly_available:
            after_release = pulumi.ResourceOptions(parent=self, depends_on=[self.controller])
            # Server-side apply of spec.replicas only, under this patch's own field manager: the chart renders no
            # replicas, so Helm's upgrades never touch the field; forced, so a `kubectl scale` is taken back.
            self.controller_replicas = k8s.apps.v1.DeploymentPatch(
                f"{name}-controller-replicas",
                metadata={
                    "name": KSERVE_CONTROLLER,
                    "namespace": kserve_ns.metadata["name"],
                    "annotations": {"pulumi.com/patchForce": "true"},
                },
                spec={"replicas": KSERVE_CONTROLLER_REPLICAS},
                opts=after_release,
            )
            self.controller_budget = k8s.policy.v1.PodDisruptionBudget(
                f"{name}-controller-pdb",
                metadata={"name": KSERVE_CONTROLLER, "namespace": kserve_ns.metadata["name"]},
                spec={
                    "minAvailable": 1,
                    "selector": {"matchLabels": dict(KSERVE_CONTROLLER_SELECTOR)},
                    "unhealthyPodEvictionPolicy": "AlwaysAllow",
                },
                opts=after_release,
            )

        self.namespace = self.controller.namespace
        self.version = self.controller.version
        self.register_outputs({"namespace": self.namespace, "version": self.version})
