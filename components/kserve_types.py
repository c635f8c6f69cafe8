"""Typed KServe custom resources: ClusterServingRuntime (v1alpha1) and InferenceService (v1beta1).

The classes mirror the CRD fields this project uses (`../shared/kserve-crds/v0.20.0/`), snake_case in
Python and camelCase on the wire, so a misspelt field is a Python error at construction instead of a field
the API server silently prunes. Kubernetes core types (containers, tolerations, volumes, resources) are
pulumi_kubernetes' own typed `...Args` classes. Values may be Pulumi Inputs (Outputs are passed through).
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

API_GROUP = "serving.kserve.io"

ProtocolVersion = Literal["v1", "v2", "grpc-v1", "grpc-v2"]
Str = str | pulumi.Output
Tolerations = list[k8s.core.v1.TolerationArgs]


class CrdObject(BaseModel):
    """A nested object of a KServe spec. Unknown fields are refused; unset ones are left out."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, validate_by_name=True, frozen=True, arbitrary_types_allowed=True
    )

    def to_wire(self) -> dict[str, Any]:
        """The object as the API server takes it: camelCase keys, unset fields omitted."""
        return {
            (field.alias or name): _wire(value)
            for name, field in type(self).model_fields.items()
            if (value := getattr(self, name)) is not None
        }


def _wire(value: Any) -> Any:
    if isinstance(value, CrdObject):
        return value.to_wire()
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    return value


# --- ClusterServingRuntime (serving.kserve.io/v1alpha1) ------------------------------------------------


class SupportedModelFormat(CrdObject):
    name: str
    version: str | None = None
    auto_select: bool | None = None
    priority: int | None = Field(None, ge=1)


class ServingRuntimeSpec(CrdObject):
    supported_model_formats: list[SupportedModelFormat]
    protocol_versions: list[ProtocolVersion]
    containers: list[k8s.core.v1.ContainerArgs]
    annotations: dict[str, str] | None = None
    """Added to the predictor pods' metadata."""
    labels: dict[str, str] | None = None
    node_selector: dict[str, str] | None = None
    tolerations: Tolerations | None = None
    volumes: list[k8s.core.v1.VolumeArgs] | None = None
    image_pull_secrets: list[k8s.core.v1.LocalObjectReferenceArgs] | None = None
    disabled: bool | None = None
    multi_model: bool | None = None


class ClusterServingRuntime(k8s.apiextensions.CustomResource):
    """A cluster-wide KServe serving runtime."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        spec: ServingRuntimeSpec,
        annotations: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            resource_name,
            api_version=f"{API_GROUP}/v1alpha1",
            kind="ClusterServingRuntime",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, annotations=annotations),
            spec=spec.to_wire(),
            opts=opts,
        )
        self.spec_args = spec
        self.runtime_name = name


# --- InferenceService (serving.kserve.io/v1beta1) ------------------------------------------------------


class ModelFormat(CrdObject):
    name: str
    version: str | None = None


class ModelSpec(CrdObject):
    """`spec.predictor.model`: the model to serve, merged by KServe into the runtime's kserve-container."""

    model_format: ModelFormat
    storage_uri: Str
    runtime: str | None = None
    runtime_version: str | None = None
    protocol_version: ProtocolVersion | None = None
    resources: k8s.core.v1.ResourceRequirementsArgs | None = None
    env: list[k8s.core.v1.EnvVarArgs] | None = None
    args: list[str] | None = None


class RollingUpdate(CrdObject):
    max_surge: int | str
    max_unavailable: int | str


class DeploymentStrategy(CrdObject):
    type: Literal["RollingUpdate", "Recreate"]
    rolling_update: RollingUpdate | None = None


class AuthenticationRef(CrdObject):
    name: str
    """A KEDA TriggerAuthentication in the InferenceService's namespace (KServe passes only the name)."""


class ExtMetricAuthentication(CrdObject):
    authentication_ref: AuthenticationRef
    auth_modes: str | None = None


class ExternalMetrics(CrdObject):
    backend: Literal["prometheus", "graphite"]
    server_address: str
    query: str
    namespace: str | None = None


class MetricTarget(CrdObject):
    type: Literal["Utilization", "Value", "AverageValue"]
    value: str | None = None
    average_value: str | None = None
    average_utilization: int | None = None


class ExternalMetricSource(CrdObject):
    metric: ExternalMetrics
    target: MetricTarget
    authentication_ref: ExtMetricAuthentication | None = None


class MetricsSpec(CrdObject):
    type: Literal["Resource", "External", "PodMetric"]
    external: ExternalMetricSource | None = None


class ScalingRules(CrdObject):
    stabilization_window_seconds: int | None = None


class ScalingBehavior(CrdObject):
    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None


class AutoScalingSpec(CrdObject):
    """`spec.predictor.autoScaling`: the metrics KServe's autoscaler class (here KEDA) scales on."""

    metrics: list[MetricsSpec]
    behavior: ScalingBehavior | None = None


class PredictorSpec(CrdObject):
    """`spec.predictor`: the model, KServe's component settings, and the fields of a Kubernetes PodSpec, which KServe
    merges over the runtime's pod (strategic merge: the InferenceService wins, lists such as tolerations replace)."""

    model: ModelSpec
    min_replicas: int | None = Field(None, ge=0)
    max_replicas: int | None = Field(None, ge=0)
    service_account_name: Str | None = None
    tolerations: Tolerations | None = None
    node_selector: dict[str, str] | None = None
    security_context: k8s.core.v1.PodSecurityContextArgs | None = None
    """The predictor pod's securityContext: applies to every container KServe puts in the pod, the storage
    initializer included."""
    termination_grace_period_seconds: int | None = Field(None, ge=0)
    topology_spread_constraints: list[k8s.core.v1.TopologySpreadConstraintArgs] | None = None
    deployment_strategy: DeploymentStrategy | None = None
    auto_scaling: AutoScalingSpec | None = None
    annotations: dict[str, str] | None = None
    """Added to the predictor pods' metadata."""
    labels: dict[str, str] | None = None


class InferenceServiceSpec(CrdObject):
    predictor: PredictorSpec


class InferenceService(k8s.apiextensions.CustomResource):
    """A KServe InferenceService in a namespace."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        namespace: pulumi.Input[str],
        spec: InferenceServiceSpec,
        annotations: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            resource_name,
            api_version=f"{API_GROUP}/v1beta1",
            kind="InferenceService",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, annotations=annotations, labels=labels),
            spec=spec.to_wire(),
            opts=opts,
        )
        self.spec_args = spec
