"""KServe and cert-manager: versions, deployment mode, how InferenceServices are reached, and CRD protection."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import field_validator

from settings.base import DNS_SUBDOMAIN, PROJECT_DIR, Flag, Problem, Settings, Text

if TYPE_CHECKING:
    from settings.stack import StackSettings

SUPPORTED_KSERVE = re.compile(r"^v0\.20\.\d+$")
"""KServe versions whose CRDs the typed resources are validated against (../shared/kserve-crds)."""
MIN_CERT_MANAGER_MINOR = 17
"""KServe needs cert-manager >= v1.17.0 (kserve-deps.env, install/dependencies.md)."""

DEPLOYMENT_MODES = {
    "Knative": "needs Knative Serving and Istio, which this stack does not install; use Standard",
    "Serverless": "is the legacy name of Knative mode, which needs Knative Serving and Istio; use Standard",
    "RawDeployment": "is the legacy name of Standard; write Standard",
    "ModelMesh": "needs the ModelMesh controller, which this stack does not install; use Standard",
}


class CertManagerSettings(Settings):
    """cert-manager, which issues the KServe webhook certificates."""

    version: Text = "v1.21.1"
    """cert-manager Helm chart version (jetstack); KServe needs v1.17.0 or newer."""

    @field_validator("version")
    @classmethod
    def _pinned_supported(cls, version: str) -> str:
        match = re.match(r"^v1\.(\d+)\.(\d+)$", version)
        if not match or int(match[1]) < MIN_CERT_MANAGER_MINOR:
            raise ValueError(f"must be a pinned chart version v1.{MIN_CERT_MANAGER_MINOR}.0 or newer, e.g. v1.21.1")
        return version


class IngressSettings(Settings):
    """How InferenceServices are reached from outside the cluster."""

    class_name: Text | None = None
    """Ingress class for KServe to create Ingresses with; unset: no Ingress, services are cluster-local."""
    domain: Text = "example.com"
    """Domain of the Ingress host names (`<isvc>-<namespace>.<domain>`); only used with className."""

    @field_validator("class_name")
    @classmethod
    def _class_name(cls, name: str | None) -> str | None:
        if name is not None and not DNS_SUBDOMAIN.match(name):
            raise ValueError("must be an IngressClass name (lowercase DNS subdomain), e.g. nginx or gce")
        return name

    @field_validator("domain")
    @classmethod
    def _domain(cls, domain: str) -> str:
        if not DNS_SUBDOMAIN.match(domain) or "." not in domain:
            raise ValueError("must be a DNS domain such as models.example.com")
        return domain


class KServeSettings(Settings):
    """KServe (CRDs and controller) and cert-manager, installed by Helm in Standard mode."""

    version: Text = "v0.20.0"
    """KServe version (kserve-crd and kserve-resources charts); v0.20.x, whose CRDs the tests validate against."""
    deployment_mode: Text = "Standard"
    """KServe deployment mode; only Standard (plain Deployments, no Knative or Istio) is installed."""
    ingress: IngressSettings = IngressSettings()
    """How InferenceServices are reached from outside the cluster."""
    cert_manager: CertManagerSettings = CertManagerSettings()
    """cert-manager, which issues the KServe webhook certificates."""
    protect_crds: Flag = True
    """Pulumi `protect` on the KServe CRDs and the KEDA release that carries KEDA's (always retained on delete)."""
    wait_for_ready: Flag = True
    """`pulumi up` returns once every InferenceService is Ready, or fails naming the one that is not (allowing
    triton.startupTimeoutSeconds plus 20 minutes for a node and the image); false: return once they are accepted."""
    keda_version: Text = "2.18.3"
    """KEDA Helm chart version (kedacore), installed before KServe: KServe scales InferenceServices with it."""
    charts: Text | None = None
    """A directory holding the four charts unpacked as `<chart>-<version>/` (cert-manager, kserve-crd,
    kserve-resources, keda; relative to the project directory), installed from there instead of pulled from their
    registries at every `pulumi up`: for clusters without internet access (the embedded stack uses
    ../shared/charts). Unset: oci://ghcr.io/kserve/charts, charts.jetstack.io and kedacore.github.io/charts."""
    prometheus_url: Text | None = None
    """On a cluster other than GKE, where autoscaling reads Triton's metrics: a Prometheus-compatible query endpoint
    (http(s)://host:port[/path]; KEDA appends /api/v1/query) that scrapes the predictors' `metrics` port with
    `namespace` and `pod` labels. On GKE: Managed Service for Prometheus, always."""

    @field_validator("prometheus_url")
    @classmethod
    def _query_endpoint(cls, url: str | None) -> str | None:
        if url is not None and not re.fullmatch(r"https?://[^/\s:]+(:\d{1,5})?(/\S*)?", url):
            raise ValueError(
                "must be an http(s) URL of a Prometheus query endpoint, e.g. http://prometheus.monitoring:9090"
            )
        return url

    def chart_versions(self) -> dict[str, str]:
        """Each chart the program installs, and the version it pins."""
        return {
            "cert-manager": self.cert_manager.version,
            "kserve-crd": self.version,
            "kserve-resources": self.version,
            "keda": self.keda_version,
        }

    def chart_path(self, chart: str) -> str | None:
        """The unpacked chart to install from `charts` (absolute), or None to pull it from its registry."""
        if self.charts is None:
            return None
        return str((PROJECT_DIR / self.charts).resolve() / f"{chart}-{self.chart_versions()[chart]}")

    @field_validator("keda_version")
    @classmethod
    def _keda_pinned(cls, version: str) -> str:
        if not re.match(r"^2\.18\.\d+$", version):
            raise ValueError(
                "must be a pinned 2.18.x chart version (the KEDA minor KServe v0.20 is built and tested with), "
                "e.g. 2.18.3"
            )
        return version

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
            raise ValueError(DEPLOYMENT_MODES.get(mode, "allowed: Standard"))
        return mode


def stack_problems(stack: StackSettings) -> list[Problem]:
    kserve = stack.kserve
    problems = []
    if stack.production and stack.on_gke and not kserve.protect_crds:
        problems.append(Problem("kserve.protectCrds", False, "must be true in a production stack"))
    if kserve.charts is not None:
        problems += chart_problems(kserve)
    if kserve.prometheus_url is not None and stack.on_gke:
        problems.append(
            Problem(
                "kserve.prometheusUrl",
                kserve.prometheus_url,
                "is for clusters other than GKE: a GKE stack reads Triton's metrics from Managed Service for "
                "Prometheus; remove it",
            )
        )
    return problems


def chart_problems(kserve: KServeSettings) -> list[Problem]:
    """Each chart must be in `charts`, at the version the stack pins (Chart.yaml's `version`)."""
    directory = (PROJECT_DIR / (kserve.charts or "")).resolve()
    if not directory.is_dir():
        return [Problem("kserve.charts", kserve.charts, f"is not a directory ({directory})")]
    problems = []
    for chart, version in kserve.chart_versions().items():
        manifest = directory / f"{chart}-{version}" / "Chart.yaml"
        written = (
            re.search(r"^version:\s*['\"]?([^'\"\s]+)", manifest.read_text(), re.M) if manifest.is_file() else None
        )
        if written is None:
            problems.append(
                Problem("kserve.charts", kserve.charts, f"has no chart {chart}-{version}/ (with its Chart.yaml)")
            )
        elif written[1] != version:
            problems.append(
                Problem("kserve.charts", kserve.charts, f"{chart}-{version}/Chart.yaml is version {written[1]}")
            )
    return problems
