"""Typed GKE custom resources: ComputeClass (cloud.google.com/v1) and the Volume Populator's GCPDataSource
(datalayer.gke.io/v1).

Like components/kserve_types.py, the classes mirror the CRD fields this project uses, snake_case in Python and
camelCase on the wire, so a misspelt field is a Python error. ComputeClass: the schema a GKE cluster serves
(read as datreeio/CRDs-catalog `cloud.google.com/computeclass_v1.json` collects it; the fields used here are
modelled in tests/upstream/compute_class.py, which tests/components/test_gpu_capacity.py validates every object
against). GCPDataSource: the CRD reference in GKE's docs (`spec.cloudStorage.serviceAccountName`, `.uri`); GKE owns both
CRDs on a cluster.
"""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from components.kserve_types import CrdObject, Str

# --- ComputeClass (cloud.google.com/v1) ---------------------------------------------------------------------


class GpuRule(CrdObject):
    type: str
    count: int | None = Field(None, ge=1)
    driver_version: Literal["default", "latest"] | None = None


class SpecificReservation(CrdObject):
    name: str
    project: str | None = None
    zones: list[str] | None = None


class Reservations(CrdObject):
    affinity: Literal["Specific", "AnyBestEffort", "None"]
    specific: list[SpecificReservation] | None = None


class FlexStart(CrdObject):
    enabled: bool


class Location(CrdObject):
    zones: list[str] | None = None
    location_policy: Literal["ANY", "BALANCED"] | None = None


class Priority(CrdObject):
    """One way of getting a node, tried in list order."""

    machine_type: str | None = None
    machine_family: str | None = None
    gpu: GpuRule | None = None
    spot: bool | None = None
    flex_start: FlexStart | None = None
    reservations: Reservations | None = None
    max_run_duration_seconds: int | None = Field(None, ge=1)


class PriorityDefaults(CrdObject):
    location: Location | None = None


class Enabled(CrdObject):
    enabled: bool


class NodePoolConfig(CrdObject):
    service_account: Str | None = None
    image_type: Literal["cos_containerd", "ubuntu_containerd"] | None = None
    image_streaming: Enabled | None = None
    node_labels: dict[str, str] | None = None


class ActiveMigration(CrdObject):
    optimize_rule_priority: bool


class ComputeClassSpec(CrdObject):
    priorities: list[Priority] = Field(min_length=1)
    when_unsatisfiable: Literal["ScaleUpAnyway", "DoNotScaleUp"]
    node_pool_auto_creation: Enabled | None = None
    node_pool_config: NodePoolConfig | None = None
    priority_defaults: PriorityDefaults | None = None
    active_migration: ActiveMigration | None = None
    description: str | None = None


class ComputeClass(k8s.apiextensions.CustomResource):
    """A cluster-scoped GKE ComputeClass: the node configurations GKE's autoscaler tries, in order."""

    def __init__(
        self, resource_name: str, *, name: str, spec: ComputeClassSpec, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(
            resource_name,
            api_version="cloud.google.com/v1",
            kind="ComputeClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name),
            spec=spec.to_wire(),
            opts=opts,
        )
        self.spec_args = spec


# --- GCPDataSource (datalayer.gke.io/v1) --------------------------------------------------------------------


class CloudStorageSource(CrdObject):
    service_account_name: str
    """A Kubernetes service account of the namespace, bound by Workload Identity to a reader of the bucket."""
    uri: str
    """gs://bucket/path/ (a folder ends with a slash)."""


class GCPDataSourceSpec(CrdObject):
    cloud_storage: CloudStorageSource


class GCPDataSource(k8s.apiextensions.CustomResource):
    """What GKE's Volume Populator copies into a new volume: a PVC names it in its dataSourceRef."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        namespace: Str,
        spec: GCPDataSourceSpec,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            resource_name,
            api_version="datalayer.gke.io/v1",
            kind="GCPDataSource",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
            spec=spec.to_wire(),
            opts=opts,
        )
        self.spec_args = spec
