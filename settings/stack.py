"""The whole stack: every concern's settings assembled, checked together, and read from Pulumi config.

`load()` is the first thing `__main__.py` does, and the only way settings are read: `pulumi up`,
`python -m kserve_triton validate` and the tests all go through it. It reports every problem at once and
raises before any resource is registered.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

import pulumi
from pydantic import BaseModel, ValidationError, model_validator

from catalog import gcp as gcp_catalog
from settings import (
    cluster,
    gcp,
    gpu_pool,
    image_cache,
    inference_services,
    kserve,
    limits,
    model_loading,
    model_storage,
    triton,
)
from settings.base import MISSING, PROJECT, ConfigError, Flag, Problem, Settings, SettingsError, raise_if, shown
from settings.cluster import ClusterSettings
from settings.gcp import GcpSettings
from settings.gpu_pool import GpuNodePoolSettings
from settings.image_cache import ImageCacheSettings
from settings.inference_services import InferenceServiceSettings
from settings.kserve import KServeSettings
from settings.model_storage import ModelStorageSettings
from settings.triton import TritonSettings

# Each concern's checks against the rest of the stack, in the order their problems are reported.
CONCERN_CHECKS = (
    gcp.stack_problems,
    cluster.stack_problems,
    gpu_pool.stack_problems,
    image_cache.stack_problems,
    kserve.stack_problems,
    triton.stack_problems,
    model_storage.stack_problems,
    inference_services.stack_problems,
    limits.stack_problems,
    model_loading.stack_problems,
)


class StackSettings(Settings):
    """Everything one stack is configured with."""

    production: Flag = False
    """Marks a production stack: refuses a zonal cluster, a channel other than STABLE, fewer than 3 system nodes,
    public nodes, spot GPUs, an unprotected cluster or CRDs, and fewer than 2 replicas; runs KServe's controller,
    cert-manager and KEDA's operator with several replicas, disruption budgets and zone spread."""
    gcp: GcpSettings = GcpSettings()
    """The GCP provider's settings (`gcp:project`, `gcp:region`)."""
    cluster: ClusterSettings
    """The GKE cluster this program creates, or `existing` to install into a cluster you already have."""
    gpu_node_pool: GpuNodePoolSettings | None = None
    """GPU nodes whose NVIDIA driver GKE installs; required for a GKE cluster."""
    kserve: KServeSettings = KServeSettings()
    """KServe (CRDs and controller) and cert-manager, installed by Helm in Standard mode."""
    triton: TritonSettings = TritonSettings()
    """NVIDIA Triton, the `kserve-tritonserver` runtime every InferenceService here is served by."""
    image_cache: ImageCacheSettings = ImageCacheSettings()
    """nvcr.io pull-through cache for image streaming."""
    model_storage: ModelStorageSettings = ModelStorageSettings()
    """Model buckets: granted read-only to InferenceServices through Workload Identity, or public."""
    inference_services: list[InferenceServiceSettings] = []
    """InferenceServices served by Triton."""

    @model_validator(mode="before")
    @classmethod
    def _existing_cluster_ignores_gcp(cls, raw: Any) -> Any:
        """gcp:* may be inherited (an environment, a template): a cluster from a kubeconfig context has no use
        for them, so they are neither required nor checked there."""
        cluster = raw.get("cluster") if isinstance(raw, dict) else None
        existing = cluster.get("existing") if isinstance(cluster, dict) else None
        if isinstance(existing, dict) and "context" in existing:
            return {key: value for key, value in raw.items() if key != "gcp"}
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> StackSettings:
        raise_if([problem for check in CONCERN_CHECKS for problem in check(self)])
        return self

    @property
    def on_gke(self) -> bool:
        """A GKE cluster, created or existing: GCP resources, Workload Identity and Managed Prometheus."""
        return self.cluster.existing is None or self.cluster.existing.is_gke

    @property
    def manages_cluster(self) -> bool:
        """The cluster is this program's (created, protected, and one day deleted, by it)."""
        return self.cluster.existing is None

    @property
    def private_nodes(self) -> bool:
        """Whether the cluster this program creates has private nodes (off for clusters it does not create)."""
        if not self.manages_cluster:
            return False
        return self.cluster.private_nodes if self.cluster.private_nodes is not None else self.production

    @property
    def image_cache_on(self) -> bool:
        """On by default for clusters this program creates; an existing GKE cluster's own nodes may not read it."""
        return self.image_cache.enabled if self.image_cache.enabled is not None else self.manages_cluster

    @property
    def mirrors_chart_images(self) -> bool:
        """cert-manager's, KServe's and KEDA's images through the proxies: only where this program's node
        accounts (which it grants read access) run them."""
        return self.image_cache_on and self.manages_cluster

    @property
    def pulls_from_outside_google(self) -> bool:
        """Whether some node pulls from the internet: images without the proxies, or a model over https://,
        hf:// or s3:// (gs:// and Artifact Registry are reached through Private Google Access)."""
        schemes = {isvc.storage_uri.partition("://")[0] for isvc in self.inference_services}
        return not self.mirrors_chart_images or bool(schemes & {"https", "hf", "s3"})

    @property
    def shm_size(self) -> str:
        """The replicas' memory-backed /dev/shm: triton.shmSize, or derived from the replica's memory."""
        return triton.shm_size(self)

    @property
    def gpu_capacity_fallback(self) -> bool:
        """GPU nodes from a fallback list (a ComputeClass with node pool auto-creation), on a cluster this program
        creates: Standard with gpuNodePool.capacity, or Autopilot with cluster.autopilot.capacity."""
        pool, autopilot = self.gpu_node_pool, self.cluster.autopilot
        if not self.manages_cluster:
            return False
        if pool is not None:
            return pool.capacity is not None
        return self.cluster.is_autopilot and autopilot is not None and autopilot.capacity is not None

    @property
    def replica_size(self) -> gcp_catalog.GpuShare:
        """CPU and memory per GPU of a replica (per replica on a cluster without GPUs)."""
        return triton.replica_size(self)

    @property
    def project(self) -> str:
        """The cluster's project: an existing GKE cluster's own, else gcp:project."""
        existing = self.cluster.existing
        project = existing.project if existing is not None and existing.project else self.gcp.project
        assert project is not None  # required on GKE by gcp.stack_problems
        return project


PROJECT_KEYS = tuple(field.alias or name for name, field in StackSettings.model_fields.items() if name != "gcp")
"""Settings read from the project's namespace (`kserve-triton:<key>`)."""
GCP_KEYS = tuple(GcpSettings.model_fields)
"""Settings read from `gcp:`."""
OTHER_NAMESPACES = ("gcp", "kubernetes", "pulumi")
"""Namespaces of providers and the engine, which may hold settings this program does not read."""


def parse(raw: dict[str, Any]) -> StackSettings:
    """Validate raw settings (camelCase keys, as in the stack file; `gcp` for the gcp: namespace)."""
    try:
        return StackSettings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_problems(error)) from None


def load() -> StackSettings:
    """Read and validate this stack's whole configuration before any resource is registered."""
    configured = _configured_keys()
    problems = _namespace_problems(configured)
    raw: dict[str, Any] = {}
    empty: list[str] = []
    for key in PROJECT_KEYS:
        # A project setting written under another namespace is reported above, and its content still checked.
        namespaces = [PROJECT, *(full.partition(":")[0] for full in sorted(configured) if full.endswith(f":{key}"))]
        text = next((pulumi.Config(ns).get(key) for ns in namespaces if pulumi.Config(ns).get(key) is not None), None)
        if text is None:
            continue
        if not text.strip():  # `kserve-triton:triton:` with nothing under it: the CLI passes an empty string
            empty.append(key)
            problems.append(
                Problem(
                    key,
                    MISSING,
                    "is empty: write its settings under it (key: value, indented), or remove the line"
                    + ("" if StackSettings.model_fields[_field_name(key)].is_required() else " for the defaults"),
                )
            )
            continue
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except ValueError:  # a plain string (`pulumi config set kserve-triton:production yes`): let the schema say
            value = text
        if value == {} and not StackSettings.model_fields[_field_name(key)].is_required():
            continue  # Pulumi.yaml's default for a setting the stack leaves out (settings.reference.pulumi_config)
        raw[key] = value
    gcp_config = pulumi.Config("gcp")
    gcp_settings = {key: gcp_config.get(key) for key in GCP_KEYS if gcp_config.get(key) is not None}
    if gcp_settings:
        raw["gcp"] = gcp_settings
    try:
        settings = parse(raw)
    except ConfigError as refused:
        later = [p for p in refused.problems if not (p.setting in empty and p.value is MISSING)]  # said above
        raise ConfigError(problems + later) from None
    if problems:
        raise ConfigError(problems)
    return settings


def _field_name(key: str) -> str:
    return next(name for name, field in StackSettings.model_fields.items() if (field.alias or name) == key)


def _no_constant(name: str) -> Any:
    """JSON has no NaN or Infinity; Python's json module would read them: a setting given as JSON text is text."""
    raise ValueError(f"{name} is not JSON")


def _configured_keys() -> set[str]:
    """Every `namespace:key` set in the stack's config (from the engine, or PULUMI_CONFIG)."""
    return {*pulumi.runtime.config.get_config_env(), *pulumi.runtime.config.CONFIG.get()}


def _namespace_problems(configured: set[str]) -> list[Problem]:
    """Unknown keys in the project's namespace, and project settings written under another namespace."""
    problems = []
    for full_key in sorted(configured):
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT:
            if key not in PROJECT_KEYS:
                close = difflib.get_close_matches(key, PROJECT_KEYS, n=1)
                hint = f"did you mean {PROJECT}:{close[0]}? " if close else ""
                problems.append(Problem(full_key, key, f"unknown setting; {hint}known: {', '.join(PROJECT_KEYS)}"))
        elif namespace not in OTHER_NAMESPACES and (
            key in PROJECT_KEYS or difflib.get_close_matches(namespace, [PROJECT], n=1, cutoff=0.75)
        ):
            problems.append(
                Problem(
                    full_key,
                    MISSING,
                    f"is in namespace {namespace!r}, which this program does not read; "
                    f"its settings are {PROJECT}:<key> (write {PROJECT}:{key})",
                )
            )
    return problems


_TYPE_MESSAGES = {
    "model_type": "must be a YAML object (key: value settings)",
    "dict_type": "must be a YAML object (key: value settings)",
    "list_type": "must be a YAML list",
    # The YAML scalar rule (settings/base.py) in words a stack file's author recognises.
    "bool_type": "must be true or false",
    "int_type": "must be a whole number, e.g. 2",
    "int_from_float": "must be a whole number, e.g. 2",
    "string_type": "must be text, e.g. a quoted string",
    "float_type": "must be a number, e.g. 50 or 0.5",
    "finite_number": "must be a finite number, e.g. 50 or 0.5",
}


def _problems(error: ValidationError) -> list[Problem]:
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
            known = ", ".join(_known_keys(detail["loc"][:-1]))
            close = difflib.get_close_matches(str(detail["loc"][-1]), _known_keys(detail["loc"][:-1]), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            problems.append(Problem(setting, detail["input"], f"unknown setting; {hint}known: {known}"))
        elif detail["type"] in _TYPE_MESSAGES:
            problems.append(Problem(setting, _plain(detail["input"]), _TYPE_MESSAGES[detail["type"]]))
        else:
            message = detail["msg"].removeprefix("Value error, ")
            problems.append(Problem(setting, _plain(detail["input"]), message))
    return problems


def _plain(value: Any) -> Any:
    """An input value as YAML would show it (pydantic may hand back a model for a nested input)."""
    return json.loads(shown(value)) if isinstance(value, BaseModel) else value


def _dotted(loc: tuple[str | int, ...]) -> str:
    """A setting's place, as in `pulumi config set --path`: `gpuNodePool.zones[0]`; a key that is not a plain name
    is quoted (`cluster["a b"]`), so a problem stays one line. The tags of a capacity tier's union are left out."""
    from settings.capacity import TIER_TAGS

    text = ""
    for part in loc:
        if part in TIER_TAGS:
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        elif not re.fullmatch(r"[A-Za-z0-9_:-]+", str(part)):
            text += f"[{json.dumps(str(part), ensure_ascii=False)}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _known_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The setting names allowed at `loc`, for 'unknown setting' messages."""
    from settings.capacity import TIER_TAGS

    model: type[BaseModel] = StackSettings
    for part in loc:
        if isinstance(part, int) or part in TIER_TAGS:
            continue
        field = next(f for name, f in model.model_fields.items() if (f.alias or name) == part)
        model = model_in(field.annotation)
    return [f.alias or name for name, f in model.model_fields.items()]


def model_in(annotation: Any) -> type[BaseModel]:
    """The settings model a field holds (through Optional and list), or TypeError."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        try:
            return model_in(arg)
        except TypeError:
            continue
    raise TypeError(f"no settings model in {annotation!r}")
