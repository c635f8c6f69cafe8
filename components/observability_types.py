"""Typed custom resources for metrics and autoscaling: GMP's PodMonitoring (monitoring.googleapis.com/v1) and
KEDA's TriggerAuthentication and ScaledObject (keda.sh/v1alpha1).

Like components/kserve_types.py, the classes mirror the CRD fields this project uses (`../shared/crds/`),
snake_case in Python and camelCase on the wire, so a misspelt field is a Python error.
"""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from components.kserve_types import CrdObject, Str

# --- GMP PodMonitoring (monitoring.googleapis.com/v1) ------------------------------------------------------


class LabelSelector(CrdObject):
    match_labels: dict[str, str] | None = None


class ScrapeEndpoint(CrdObject):
    port: str | int
    """A container port's name (or number): a name must match a declared containerPort."""
    interval: str
    path: str | None = None
    timeout: str | None = None


TargetMetadata = Literal["container", "node", "pod", "top_level_controller_name", "top_level_controller_type"]


class TargetLabels(CrdObject):
    metadata: list[TargetMetadata] | None = None
    """Pod metadata set as labels on every scraped series."""


class PodMonitoringSpec(CrdObject):
    selector: LabelSelector
    endpoints: list[ScrapeEndpoint] = Field(min_length=1, max_length=10)
    target_labels: TargetLabels | None = None


class PodMonitoring(k8s.apiextensions.CustomResource):
    """Managed Service for Prometheus scrapes the selected pods of one namespace."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        namespace: pulumi.Input[str],
        spec: PodMonitoringSpec,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            resource_name,
            api_version="monitoring.googleapis.com/v1",
            kind="PodMonitoring",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
            spec=spec.to_wire(),
            opts=opts,
        )
        self.spec_args = spec


# --- KEDA TriggerAuthentication (keda.sh/v1alpha1) -----------------------------------------------------------


class PodIdentity(CrdObject):
    provider: Literal["azure-workload", "gcp", "aws", "aws-eks", "none"]


class TriggerAuthenticationSpec(CrdObject):
    pod_identity: PodIdentity


class TriggerAuthentication(k8s.apiextensions.CustomResource):
    """How KEDA authenticates a scaler's queries; KServe refers to it by name from the InferenceService."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        namespace: Str,
        spec: TriggerAuthenticationSpec,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            resource_name,
            api_version="keda.sh/v1alpha1",
            kind="TriggerAuthentication",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
            spec=spec.to_wire(),
            opts=opts,
        )
        self.spec_args = spec


# --- KEDA ScaledObject (keda.sh/v1alpha1) ---------------------------------------------------------------------


class ScaleTargetRef(CrdObject):
    name: str
    api_version: str | None = "apps/v1"
    kind: str | None = "Deployment"


class HpaScalingPolicy(CrdObject):
    type: Literal["Pods", "Percent"]
    value: int = Field(ge=1)
    period_seconds: int = Field(ge=1, le=1800)


class HpaScalingRules(CrdObject):
    stabilization_window_seconds: int | None = Field(None, ge=0, le=3600)
    select_policy: Literal["Max", "Min", "Disabled"] | None = None
    policies: list[HpaScalingPolicy] | None = None


class HpaBehavior(CrdObject):
    scale_up: HpaScalingRules | None = None
    scale_down: HpaScalingRules | None = None


class HorizontalPodAutoscalerConfig(CrdObject):
    behavior: HpaBehavior | None = None


class AdvancedConfig(CrdObject):
    horizontal_pod_autoscaler_config: HorizontalPodAutoscalerConfig | None = None


class Fallback(CrdObject):
    failure_threshold: int = Field(ge=0)
    replicas: int = Field(ge=0)


class AuthenticationRef(CrdObject):
    name: str


class ScaleTrigger(CrdObject):
    type: str
    metadata: dict[str, str]
    authentication_ref: AuthenticationRef | None = None
    name: str | None = None


class ScaledObjectSpec(CrdObject):
    scale_target_ref: ScaleTargetRef
    min_replica_count: int = Field(ge=0)
    max_replica_count: int = Field(ge=1)
    polling_interval: int | None = Field(None, ge=1)
    fallback: Fallback | None = None
    advanced: AdvancedConfig | None = None
    triggers: list[ScaleTrigger] = Field(min_length=1)


class ScaledObject(k8s.apiextensions.CustomResource):
    """KEDA scales a workload on its triggers through an HPA it owns (keda-hpa-<name>)."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        namespace: Str,
        spec: ScaledObjectSpec,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            resource_name,
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
            spec=spec.to_wire(),
            opts=opts,
        )
        self.spec_args = spec
