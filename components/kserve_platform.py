"""cert-manager and KServe (CRDs, then controller) installed by Helm, in Standard mode.

Install order on a fresh cluster: cert-manager (its webhook must answer before KServe's Issuer and
Certificate are applied) -> kserve-crd -> kserve-resources (controller + webhooks; Helm waits until the
controller is ready). Runtimes and InferenceServices depend on `controller`, so Pulumi creates them after
it and deletes them before it: the InferenceService finalizer needs a running controller.

KServe's built-in runtimes (chart `kserve-runtime-configs`) are deliberately not installed: it always emits
a `kserve-tritonserver` object, and this project declares its own under that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

if TYPE_CHECKING:
    from settings import StackSettings

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


@dataclass(frozen=True)
class KServePlatformArgs:
    kserve_version: str
    cert_manager_version: str
    deployment_mode: str
    ingress_class: str | None
    """None: KServe creates no Ingress; InferenceServices are reachable inside the cluster only."""
    ingress_domain: str
    system_node_selector: dict[str, str] | None
    """Where cert-manager and the KServe controller run; None leaves them to the scheduler."""
    protect_crds: bool

    @classmethod
    def from_settings(cls, stack: StackSettings, system_node_selector: dict[str, str] | None) -> KServePlatformArgs:
        kserve = stack.kserve
        return cls(
            kserve_version=kserve.version,
            cert_manager_version=kserve.cert_manager.version,
            deployment_mode=kserve.deployment_mode,
            ingress_class=kserve.ingress.class_name,
            ingress_domain=kserve.ingress.domain,
            system_node_selector=system_node_selector,
            protect_crds=kserve.protect_crds,
        )


def cert_manager_values(args: KServePlatformArgs) -> dict[str, Any]:
    values: dict[str, Any] = {"crds": {"enabled": True, "keep": True}}
    if args.system_node_selector:
        for component in (values, *(values.setdefault(c, {}) for c in ("webhook", "cainjector", "startupapicheck"))):
            component["nodeSelector"] = dict(args.system_node_selector)
    return values


def kserve_values(args: KServePlatformArgs) -> dict[str, Any]:
    gateway: dict[str, Any] = {
        "domain": args.ingress_domain,
        # No Istio here: without this the controller warns VirtualServiceCRDNotFound on every reconcile.
        "disableIstioVirtualHost": True,
        "disableIngressCreation": args.ingress_class is None,
    }
    if args.ingress_class is not None:
        gateway["ingressGateway"] = {"className": args.ingress_class}
    controller: dict[str, Any] = {
        # The chart defaults to Knative, which needs Knative Serving and Istio.
        "deploymentMode": args.deployment_mode,
        # The tag is pinned by kserve.version, so there is nothing to gain from pulling every start.
        "imagePullPolicy": "IfNotPresent",
        "gateway": gateway,
    }
    if args.system_node_selector:
        controller["nodeSelector"] = dict(args.system_node_selector)
    return {
        "kserve": {
            "version": args.kserve_version,
            "controller": controller,
            # Aggregation and the scraping annotations target Knative's queue-proxy; wrong in Standard mode.
            "metricsaggregator": {"enableMetricAggregation": "false", "enablePrometheusScraping": "false"},
        }
    }


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
            chart="cert-manager",
            version=args.cert_manager_version,
            repository_opts={"repo": CERT_MANAGER_REPO},
            namespace=cert_manager_ns.metadata["name"],
            values=cert_manager_values(args),
            timeout=HELM_TIMEOUT_SECONDS,
            wait_for_jobs=True,
            opts=pulumi.ResourceOptions(parent=self),
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
            chart=f"{KSERVE_CHARTS}/kserve-crd",
            version=args.kserve_version,
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
            chart=f"{KSERVE_CHARTS}/kserve-resources",
            version=args.kserve_version,
            namespace=kserve_ns.metadata["name"],
            values=kserve_values(args),
            timeout=HELM_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cert_manager, self.crds]),
        )

        self.namespace = self.controller.namespace
        self.version = self.controller.version
        self.register_outputs({"namespace": self.namespace, "version": self.version})
