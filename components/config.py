"""The stack configuration: one typed schema with its defaults and documentation.

Every setting a user writes in `Pulumi.<stack>.yaml` is declared here, validated as a whole before the
program registers its first resource, and refused with a message that names the setting, the value and
what is allowed. The README's configuration table and `Pulumi.yaml`'s `config:` block are checked
against this schema by the tests.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components import gcp_catalog

PROJECT = "kserve-triton"


@dataclass(frozen=True)
class Problem:
    """One refused setting: where it is (dotted, camelCase), what it was, and what is allowed."""

    setting: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        if self.value is MISSING:
            return f"{self.setting}: {self.allowed}"
        return f"{self.setting}: {self.value!r} is not allowed: {self.allowed}"


MISSING = object()
"""The value of a required setting that is absent."""


class SettingsError(ValueError):
    """Raised by cross-field checks; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.setting}: {p.allowed}" for p in problems))
        self.problems = problems


class ConfigError(pulumi.RunError):
    """The stack configuration is invalid; nothing has been created.

    A `RunError` makes `pulumi up` print the message without a Python traceback.
    """

    def __init__(self, problems: list[Problem]):
        lines = [f"  - {problem}" for problem in problems]
        super().__init__("Invalid stack configuration (nothing was created):\n" + "\n".join(lines))
        self.problems = problems


class _Settings(BaseModel):
    """Stack settings are camelCase in YAML; unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True, use_attribute_docstrings=True)


_GKE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


class SystemNodePoolSettings(_Settings):
    machine_type: str = "e2-standard-4"
    """Machine type of the small CPU pool that runs cluster services (cert-manager, KServe controller)."""
    min_nodes: int = Field(1, ge=1)
    """Fewest system nodes (across all zones of the pool)."""
    max_nodes: int = Field(3, ge=1)
    """Most system nodes (across all zones of the pool)."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> SystemNodePoolSettings:
        if self.min_nodes > self.max_nodes:
            raise SettingsError([Problem("minNodes", self.min_nodes, f"must be at most maxNodes ({self.max_nodes})")])
        return self


class ClusterSettings(_Settings):
    name: str
    """GKE cluster name: lowercase letters, digits and hyphens, at most 40 characters."""
    location: str
    """A GCP region (regional cluster, control plane in three zones) or a zone (zonal cluster)."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    """GKE release channel; GKE upgrades the control plane and nodes within it."""
    deletion_protection: bool = True
    """GKE's own deletion protection: while true, GKE refuses to delete the cluster."""
    protect: bool = True
    """Pulumi `protect` on the cluster: `pulumi up`/`destroy` refuse to delete or replace it."""
    system_node_pool: SystemNodePoolSettings = SystemNodePoolSettings()
    """The CPU pool for cluster services; GPU nodes are tainted so these never land there."""

    @field_validator("name")
    @classmethod
    def _gke_name(cls, name: str) -> str:
        if not _GKE_NAME.match(name):
            raise ValueError(
                "must be 1-40 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen"
            )
        return name

    @field_validator("location")
    @classmethod
    def _gcp_location(cls, location: str) -> str:
        if gcp_catalog.region_of(location) is None:
            raise ValueError(
                "must be a GCP region (e.g. us-central1) or zone (e.g. us-central1-a); "
                f"known regions: {', '.join(sorted(gcp_catalog.REGIONS))}"
            )
        return location

    @property
    def region(self) -> str:
        region = gcp_catalog.region_of(self.location)
        assert region is not None  # checked by the validator
        return region

    @property
    def is_regional(self) -> bool:
        return not gcp_catalog.is_zone(self.location)


class GpuNodePoolSettings(_Settings):
    machine_type: str
    """Machine type of the GPU nodes; it must take the accelerator (e.g. g2-standard-8 for nvidia-l4)."""
    accelerator_type: str
    """GKE accelerator name, e.g. nvidia-l4, nvidia-tesla-t4, nvidia-tesla-a100."""
    accelerator_count: int | None = Field(None, ge=1)
    """GPUs per node. Defaults to the count built into the machine type (1 for N1)."""
    driver_version: Literal["DEFAULT", "LATEST"] = "DEFAULT"
    """NVIDIA driver GKE installs: DEFAULT or LATEST for the node's GKE version (COS nodes)."""
    spot: bool = False
    """Spot VMs: 60-90% cheaper, preemptible at any time with 30 s notice."""
    min_nodes: int = Field(0, ge=0)
    """Fewest GPU nodes in the whole pool (0 lets the pool scale to zero)."""
    max_nodes: int = Field(ge=1)
    """Most GPU nodes in the whole pool; bounds cost and GPU quota (maxNodes x acceleratorCount)."""
    zones: list[str] | None = None
    """Zones for the GPU nodes (must offer the GPU). Default: the cluster's zone(s)."""
    disk_size_gb: int = Field(200, ge=50, le=65536)
    """Boot disk size per GPU node in GB; the Triton image alone is about 15 GB unpacked."""

    @property
    def gpus_per_node(self) -> int:
        if self.accelerator_count is not None:
            return self.accelerator_count
        machine = gcp_catalog.MACHINE_TYPES.get(self.machine_type)
        return machine.builtin_count if machine and machine.builtin_accelerator else 1

    @model_validator(mode="after")
    def _pairing(self) -> GpuNodePoolSettings:
        problems = _gpu_pairing_problems(self)
        if self.min_nodes > self.max_nodes:
            problems.append(Problem("minNodes", self.min_nodes, f"must be at most maxNodes ({self.max_nodes})"))
        if problems:
            raise SettingsError(problems)
        return self


def _gpu_pairing_problems(pool: GpuNodePoolSettings) -> list[Problem]:
    accelerator = gcp_catalog.ACCELERATORS.get(pool.accelerator_type)
    if accelerator is None:
        known = ", ".join(t for t, a in gcp_catalog.ACCELERATORS.items() if not a.eol)
        return [Problem("acceleratorType", pool.accelerator_type, f"known accelerators: {known}")]
    if accelerator.eol:
        return [
            Problem(
                "acceleratorType",
                pool.accelerator_type,
                f"{accelerator.display} is end-of-life on Compute Engine; use nvidia-tesla-t4 or nvidia-l4",
            )
        ]
    machine = gcp_catalog.MACHINE_TYPES.get(pool.machine_type)
    if machine is None or machine.family not in gcp_catalog.GPU_FAMILIES:
        return [
            Problem(
                "machineType",
                pool.machine_type,
                f"{pool.accelerator_type} attaches to: {', '.join(gcp_catalog.machines_for(pool.accelerator_type))}",
            )
        ]
    counts = gcp_catalog.allowed_gpu_counts(machine, pool.accelerator_type)
    if not counts:
        return [
            Problem(
                "acceleratorType",
                pool.accelerator_type,
                f"{pool.accelerator_type} cannot attach to {machine.name} ({machine.family} family); "
                f"it attaches to: {', '.join(gcp_catalog.machines_for(pool.accelerator_type))}"
                + (
                    f"; {machine.name} comes with {machine.builtin_count} {machine.builtin_accelerator}"
                    if machine.builtin_accelerator
                    else ""
                ),
            )
        ]
    if pool.gpus_per_node not in counts:
        if machine.builtin_accelerator:
            allowed = f"{machine.name} comes with exactly {machine.builtin_count} {pool.accelerator_type}"
        else:
            allowed = f"{machine.name} takes {' or '.join(map(str, counts))} {pool.accelerator_type}"
        return [Problem("acceleratorCount", pool.gpus_per_node, allowed)]
    return []


_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# KServe versions whose CRDs the typed resources are validated against (../shared/kserve-crds).
SUPPORTED_KSERVE = re.compile(r"^v0\.20\.\d+$")
# KServe needs cert-manager >= v1.17.0 (kserve-deps.env, install/dependencies.md).
MIN_CERT_MANAGER_MINOR = 17

_DEPLOYMENT_MODES = {
    "Knative": "needs Knative Serving and Istio, which this stack does not install; use Standard",
    "Serverless": "is the legacy name of Knative mode, which needs Knative Serving and Istio; use Standard",
    "RawDeployment": "is the legacy name of Standard; write Standard",
    "ModelMesh": "needs the ModelMesh controller, which this stack does not install; use Standard",
}


class CertManagerSettings(_Settings):
    version: str = "v1.21.1"
    """cert-manager Helm chart version (jetstack); KServe needs v1.17.0 or newer."""

    @field_validator("version")
    @classmethod
    def _pinned_supported(cls, version: str) -> str:
        match = re.match(r"^v1\.(\d+)\.(\d+)$", version)
        if not match or int(match[1]) < MIN_CERT_MANAGER_MINOR:
            raise ValueError(f"must be a pinned chart version v1.{MIN_CERT_MANAGER_MINOR}.0 or newer, e.g. v1.21.1")
        return version


class IngressSettings(_Settings):
    class_name: str | None = None
    """Ingress class for KServe to create Ingresses with; unset: no Ingress, services are cluster-local."""
    domain: str = "example.com"
    """Domain of the Ingress host names (`<isvc>-<namespace>.<domain>`); only used with className."""

    @field_validator("class_name")
    @classmethod
    def _class_name(cls, name: str | None) -> str | None:
        if name is not None and not _DNS_SUBDOMAIN.match(name):
            raise ValueError("must be an IngressClass name (lowercase DNS subdomain), e.g. nginx or gce")
        return name

    @field_validator("domain")
    @classmethod
    def _domain(cls, domain: str) -> str:
        if not _DNS_SUBDOMAIN.match(domain) or "." not in domain:
            raise ValueError("must be a DNS domain such as models.example.com")
        return domain


class KServeSettings(_Settings):
    version: str = "v0.20.0"
    """KServe version (kserve-crd and kserve-resources charts); v0.20.x, whose CRDs the tests validate against."""
    deployment_mode: str = "Standard"
    """KServe deployment mode; only Standard (plain Deployments, no Knative or Istio) is installed."""
    ingress: IngressSettings = IngressSettings()
    """How InferenceServices are reached from outside the cluster."""
    cert_manager: CertManagerSettings = CertManagerSettings()
    """cert-manager, which issues the KServe webhook certificates."""
    protect_crds: bool = True
    """Pulumi `protect` on the KServe CRDs (they are always retained on delete)."""

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
            reason = _DEPLOYMENT_MODES.get(mode, "allowed: Standard")
            raise ValueError(reason)
        return mode


class GcpSettings(_Settings):
    """Provider settings, read from the `gcp:` namespace as pulumi-gcp does."""

    project: str
    """The GCP project ID (`gcp:project`)."""
    region: str
    """The default GCP region (`gcp:region`); the cluster's location must be in it."""

    @field_validator("project")
    @classmethod
    def _project_id(cls, project: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", project):
            raise ValueError("must be a GCP project ID: 6-30 lowercase letters, digits or hyphens")
        return project

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if region not in gcp_catalog.REGIONS:
            raise ValueError(f"must be a GCP region; known: {', '.join(sorted(gcp_catalog.REGIONS))}")
        return region


class StackSettings(_Settings):
    """Everything one stack is configured with."""

    gcp: GcpSettings
    cluster: ClusterSettings
    gpu_node_pool: GpuNodePoolSettings
    kserve: KServeSettings = KServeSettings()

    @model_validator(mode="after")
    def _consistent(self) -> StackSettings:
        problems: list[Problem] = []
        if self.cluster.region != self.gcp.region:
            problems.append(
                Problem(
                    "cluster.location",
                    self.cluster.location,
                    f"must be gcp:region ({self.gcp.region}) or one of its zones",
                )
            )
        for index, zone in enumerate(self.gpu_node_pool.zones or []):
            if not gcp_catalog.is_zone(zone) or gcp_catalog.region_of(zone) != self.cluster.region:
                problems.append(
                    Problem(
                        f"gpuNodePool.zones[{index}]",
                        zone,
                        f"must be a zone of the cluster's region {self.cluster.region} (e.g. {self.cluster.region}-a)",
                    )
                )
        if problems:
            raise SettingsError(problems)
        return self


# Settings read from the project's namespace (`kserve-triton:<key>`), and from `gcp:`.
PROJECT_KEYS = ("cluster", "gpuNodePool", "kserve")
GCP_KEYS = ("project", "region")


def parse(raw: dict[str, Any]) -> StackSettings:
    """Validate raw settings (camelCase keys, as in the stack file) or raise ConfigError."""
    try:
        return StackSettings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_problems(error, raw)) from None


def load() -> StackSettings:
    """Read and validate this stack's whole configuration before any resource is registered."""
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    for key in _configured_keys(PROJECT):
        if key not in PROJECT_KEYS:
            problems.append(Problem(f"{PROJECT}:{key}", key, f"unknown setting; known: {', '.join(PROJECT_KEYS)}"))
    project_config = pulumi.Config(PROJECT)
    for key in PROJECT_KEYS:
        try:
            value = project_config.get_object(key)
        except pulumi.ConfigTypeError:
            problems.append(Problem(key, project_config.get(key), "must be a YAML object or list"))
            continue
        if value is not None:
            raw[key] = value
    gcp_config = pulumi.Config("gcp")
    raw["gcp"] = {key: gcp_config.get(key) for key in GCP_KEYS if gcp_config.get(key) is not None}
    if problems:
        raise ConfigError(problems)
    return parse(raw)


def _configured_keys(namespace: str) -> set[str]:
    """Keys set in the stack's config under `namespace:` (from the engine, or PULUMI_CONFIG)."""
    configured = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    prefix = f"{namespace}:"
    return {key[len(prefix) :] for key in configured if key.startswith(prefix)}


def _problems(error: ValidationError, raw: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for detail in error.errors():
        location = _dotted(detail["loc"])
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, SettingsError):
            for problem in cause.problems:
                setting = f"{location}.{problem.setting}" if location else problem.setting
                problems.append(Problem(setting, problem.value, problem.allowed))
            continue
        setting = location.replace("gcp.", "gcp:", 1) if location.startswith("gcp.") else location
        if detail["type"] == "missing":
            problems.append(Problem(setting, MISSING, "is required"))
        elif detail["type"] == "extra_forbidden":
            known = _known_keys(detail["loc"][:-1])
            problems.append(Problem(setting, detail["input"], f"unknown setting; known: {known}"))
        else:
            message = detail["msg"].removeprefix("Value error, ")
            problems.append(Problem(setting, detail["input"], message))
    return problems


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _known_keys(loc: tuple[str | int, ...]) -> str:
    """The setting names allowed at `loc`, for 'unknown setting' messages."""
    model: type[BaseModel] = StackSettings
    for part in loc:
        if isinstance(part, int):
            continue
        field = next(f for name, f in model.model_fields.items() if (f.alias or name) == part)
        model = _model_in(field.annotation)
    return ", ".join(f.alias or name for name, f in model.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        try:
            return _model_in(arg)
        except TypeError:
            continue
    raise TypeError(f"no settings model in {annotation!r}")


def reference() -> list[tuple[str, str, str]]:
    """(setting, default, description) for every setting, as the README's configuration table shows them."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            alias = field.alias or name
            path = f"{prefix}{alias}"
            try:
                nested = _model_in(field.annotation)
            except TypeError:
                nested = None
            if nested is not None and nested is not model:
                is_list = "list" in str(field.annotation)
                walk(nested, f"{path}[]." if is_list else f"{path}.")
                continue
            if field.is_required():
                default = "required"
            elif field.default is None:
                default = "—"
            else:
                default = f"`{field.default if not isinstance(field.default, bool) else str(field.default).lower()}`"
            rows.append((path.replace("gcp.", "gcp:", 1), default, field.description or ""))

    walk(StackSettings, "")
    return rows


def reference_table() -> str:
    lines = ["| Setting | Default | What it does |", "|---|---|---|"]
    lines += [f"| `{setting}` | {default} | {text} |" for setting, default, text in reference()]
    return "\n".join(lines)


def update_readme(readme: Path) -> None:
    """Rewrite the configuration table between the README's config-table markers."""
    start, end = "<!-- config-table:start -->", "<!-- config-table:end -->"
    text = readme.read_text()
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{reference_table()}\n{end}{tail}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-readme"]:
        update_readme(Path(__file__).resolve().parent.parent / "README.md")
    else:
        print(reference_table())
