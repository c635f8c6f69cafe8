"""Typed custom resources for metrics and autoscaling: GMP's PodMonitoring (monitoring.googleapis.com/v1) and
KEDA's TriggerAuthentication (keda.sh/v1alpha1).

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


class PodMonitoringSpec(CrdObject):
    selector: LabelSelector
    endpoints: list[ScrapeEndpoint] = Field(min_length=1, max_length=10)


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
