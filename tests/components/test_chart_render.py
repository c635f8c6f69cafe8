"""The four Helm releases rendered by a real `helm template` of the upstream charts (../shared/charts), with
exactly the chart, version, release name, namespace and values each `helm.v3.Release` of the program carries:
what the program relies on is in the render, and every value it sets changes the render or is a documented pin.
"""

from __future__ import annotations

import functools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.image_mirrors import mirrored
from components.kserve_platform import KServePlatform, KServePlatformArgs
from kserve_triton.offline import OfflineRun, run_stack
from tests.support.chart_values import FREE_FORM, reference_values, unknown_keys
from tests.support.helm import RenderError, chart_dir, needs_helm, render, render_text
from tests.support.platform import HUB, MIRRORS, QUAY, RELEASE, SYSTEM, platform_args
from tests.support.schemas import KSERVE_VERSION, builtin_errors
from tests.support.stacks import PROJECT_OVERRIDE, shared_dir

pytestmark = needs_helm

# Values that repeat the chart's default on purpose, as pins against a future default change (the program
# says why next to each). Every other value the program sets must change the render.
PINS = {
    "cert-manager": {
        "crds.keep",  # deleting cert-manager's CRDs deletes every Certificate and Issuer
    },
    "kserve-resources": {
        "kserve.metricsaggregator.enableMetricAggregation",  # Knative queue-proxy only
        "kserve.metricsaggregator.enablePrometheusScraping",
    },
}

# Every image the charts make a cluster pull, as the charts name them: what a registry mirror has to serve.
UPSTREAM_IMAGES = {
    "cert-manager": {
        "quay.io/jetstack/cert-manager-controller:v1.21.1",
        "quay.io/jetstack/cert-manager-webhook:v1.21.1",
        "quay.io/jetstack/cert-manager-cainjector:v1.21.1",
        "quay.io/jetstack/cert-manager-startupapicheck:v1.21.1",
        "quay.io/jetstack/cert-manager-acmesolver:v1.21.1",
    },
    "kserve-crd": set(),
    "kserve-resources": {
        "kserve/kserve-controller:v0.20.0",
        "quay.io/brancz/kube-rbac-proxy:v0.18.0",
        "kserve/storage-initializer:v0.20.0",
        "kserve/agent:v0.20.0",
        "kserve/router:v0.20.0",
        "kserve/art-explainer:v0.20.0",
    },
    "keda": {
        "ghcr.io/kedacore/keda:2.18.3",
        "ghcr.io/kedacore/keda-metrics-apiserver:2.18.3",
        "ghcr.io/kedacore/keda-admission-webhooks:2.18.3",
    },
}
# The scenarios that run the whole program (the others build the KServe component alone, without KEDA).
STACKS = ["dev", "prod", "local"]

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
CUSTOM_GROUPS = ("cert-manager.io/", "acme.cert-manager.io/", "serving.kserve.io/")


@dataclass(frozen=True)
class Release:
    """One `helm.v3.Release` of the program, as Helm would template it."""

    name: str
    chart: Path
    namespace: str
    values: dict[str, Any]

    def objects(self, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return render(self.chart, self.name, self.namespace, self.values if values is None else values)

    def text(self, values: dict[str, Any]) -> str:
        return render_text(self.chart, self.name, self.namespace, values)


@dataclass(frozen=True)
class Scenario:
    args: KServePlatformArgs
    releases: dict[str, Release]
    monitor: Any
    """What the program registered (the patch and budgets beside the releases)."""


def _releases(monitor) -> dict[str, Release]:
    releases = {}
    for node in monitor.of_type(RELEASE):
        inputs = node.inputs
        releases[inputs["name"]] = Release(
            name=inputs["name"],
            chart=chart_dir(inputs["chart"], inputs["version"]),
            namespace=inputs["namespace"],
            values=inputs.get("values") or {},
        )
    assert {"cert-manager", "kserve-crd", "kserve-resources"} <= set(releases) <= set(UPSTREAM_IMAGES)
    return releases


def _capturing_args(run) -> tuple[KServePlatformArgs, OfflineRun]:
    seen: list[KServePlatformArgs] = []
    original = KServePlatform.__init__

    def spy(self, name, args, opts=None):
        seen.append(args)
        original(self, name, args, opts)

    with mock.patch.object(KServePlatform, "__init__", spy):
        harness = run()
    (args,) = seen
    return args, harness


def _component(**overrides) -> OfflineRun:
    harness = OfflineRun()

    def program():
        provider = k8s.Provider("cluster", kubeconfig="{}")
        KServePlatform("kserve", platform_args(**overrides), opts=pulumi.ResourceOptions(providers=[provider]))

    harness.run(program)
    return harness


# The stacks run through __main__.py, and the component with what no stack file sets yet.
SCENARIOS = {
    "dev": lambda: run_stack("dev", overrides=PROJECT_OVERRIDE),
    "prod": lambda: run_stack("prod", overrides=PROJECT_OVERRIDE),
    "local": lambda: run_stack("local"),  # an existing cluster: no system pool
    "ingress": lambda: _component(ingress_class="nginx", ingress_domain="models.example.org"),
    "mirrors": lambda: _component(image_mirrors=MIRRORS),
}


@functools.cache
def scenario(name: str) -> Scenario:
    args, harness = _capturing_args(SCENARIOS[name])
    return Scenario(args, _releases(harness.monitor), harness.monitor)


def test_the_dev_stack_puts_kserve_and_cert_manager_on_the_system_pool():
    assert scenario("dev").args.system_node_selector == SYSTEM


# --- what the program relies on -------------------------------------------------------------------------------


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`<Kind>/<name>` -> pod spec of every workload."""
    specs = {}
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
            specs[f"{obj['kind']}/{obj['metadata']['name']}"] = spec["template"]["spec"]
    return specs


@pytest.mark.parametrize("name", ["dev", "prod", "ingress", "mirrors"])
def test_every_cert_manager_workload_and_the_kserve_controller_run_on_the_system_pool(name):
    releases = scenario(name).releases
    cert_manager = pod_specs(releases["cert-manager"].objects())
    kserve = pod_specs(releases["kserve-resources"].objects())
    assert sorted(cert_manager) == [
        "Deployment/cert-manager",
        "Deployment/cert-manager-cainjector",
        "Deployment/cert-manager-webhook",
        "Job/cert-manager-startupapicheck",
    ]
    assert sorted(kserve) == ["Deployment/kserve-controller-manager"]
    assert pod_specs(releases["kserve-crd"].objects()) == {}
    for workload, spec in {**cert_manager, **kserve}.items():
        assert spec.get("nodeSelector", {}).items() >= SYSTEM.items(), workload


def test_without_a_system_pool_no_workload_is_pinned_to_one():
    releases = scenario("local").releases
    for release in ("cert-manager", "kserve-resources"):
        for workload, spec in pod_specs(releases[release].objects()).items():
            assert "kserve-triton/node-role" not in spec.get("nodeSelector", {}), workload


def inferenceservice_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (config,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "inferenceservice-config"]
    return {key: json.loads(value) for key, value in config["data"].items() if key != "_example"}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_controller_config_says_standard_mode_without_istio(name):
    config = inferenceservice_config(scenario(name).releases["kserve-resources"].objects())
    assert config["deploy"] == {"defaultDeploymentMode": "Standard"}
    assert config["ingress"]["disableIstioVirtualHost"] is True
    assert config["ingress"]["enableGatewayApi"] is False
    assert config["metricsAggregator"] == {"enableMetricAggregation": "false", "enablePrometheusScraping": "false"}


@pytest.mark.parametrize("name", ["dev", "prod", "local", "mirrors"])
def test_without_an_ingress_class_kserve_creates_no_ingress(name):
    ingress = inferenceservice_config(scenario(name).releases["kserve-resources"].objects())["ingress"]
    assert ingress["disableIngressCreation"] is True


def test_an_ingress_class_and_domain_reach_the_controller_config():
    ingress = inferenceservice_config(scenario("ingress").releases["kserve-resources"].objects())["ingress"]
    assert ingress["disableIngressCreation"] is False
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["ingressDomain"] == "models.example.org"
    assert ingress["domainTemplate"] == "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_no_istio_knative_or_gateway_objects(name):
    for release in scenario(name).releases.values():
        for obj in release.objects():
            group = obj["apiVersion"].rpartition("/")[0]
            assert not group.endswith(("istio.io", "knative.dev")), f"{release.name}: {obj['kind']}"
            assert group != "gateway.networking.k8s.io", f"{release.name}: {obj['kind']}"
            assert obj["kind"] != "Ingress", f"{release.name}: KServe creates Ingresses per InferenceService"


def test_kserve_webhooks_use_the_certificate_cert_manager_issues():
    objects = scenario("dev").releases["kserve-resources"].objects()
    (certificate,) = [o for o in objects if o["kind"] == "Certificate"]
    (issuer,) = [o for o in objects if o["kind"] == "Issuer"]
    assert certificate["spec"]["issuerRef"]["name"] == issuer["metadata"]["name"]
    assert "selfSigned" in issuer["spec"], "no ACME: the acmesolver image is never pulled by KServe's certificate"
    webhooks = [o for o in objects if o["kind"].endswith("WebhookConfiguration")]
    assert len(webhooks) == 6
    for webhook in webhooks:
        assert webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "kserve/serving-cert"


def test_the_crd_release_installs_the_crds_the_declared_objects_are_validated_against():
    crds = {o["metadata"]["name"]: o for o in scenario("dev").releases["kserve-crd"].objects()}
    assert all(o["kind"] == "CustomResourceDefinition" for o in crds.values())
    assert "clusterstoragecontainers.serving.kserve.io" in crds, "kserve-resources declares ClusterStorageContainer"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted((shared_dir() / "kserve-crds" / KSERVE_VERSION).glob("*.yaml")):
        reference = yaml.load(path.read_text(), Loader=loader)
        assert crds[reference["metadata"]["name"]]["spec"] == reference["spec"], path.name


def test_cert_manager_installs_its_crds_and_helm_keeps_them():
    crds = [o for o in scenario("dev").releases["cert-manager"].objects() if o["kind"] == "CustomResourceDefinition"]
    assert sorted(o["spec"]["names"]["kind"] for o in crds) == [
        "Certificate",
        "CertificateRequest",
        "Challenge",
        "ClusterIssuer",
        "Issuer",
        "Order",
    ]
    for crd in crds:
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", crd["metadata"]["name"]


@pytest.mark.parametrize("name", ["dev", "local", "mirrors"])
@pytest.mark.parametrize("release", ["cert-manager", "kserve-resources"])
def test_rendered_builtin_objects_are_valid(name, release):
    for obj in scenario(name).releases[release].objects():
        if obj["kind"] == "CustomResourceDefinition" or obj["apiVersion"].startswith(CUSTOM_GROUPS):
            continue
        assert builtin_errors(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


# --- images ---------------------------------------------------------------------------------------------------


def _strings(value: Any):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def images(objects: list[dict[str, Any]]) -> set[str]:
    """Every image reference a cluster may pull because of these objects."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "image" and isinstance(item, str):
                    found.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for obj in objects:
        if obj["kind"] == "CustomResourceDefinition":
            continue
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "inferenceservice-config":
            config = inferenceservice_config([obj])
            for explainer in config.pop("explainers").values():  # image and tag given apart
                found.add(f"{explainer['image']}:{explainer['defaultImageVersion']}")
            found.add(config["localModel"].pop("defaultJobImage"))
            walk(config)
            continue
        walk(obj)
        for spec in pod_specs([obj]).values():  # images handed to a controller in flags
            for container in spec.get("containers", []):
                for arg in container.get("args", []):
                    flag, _, value = arg.partition("=")
                    if flag.endswith("-image"):
                        found.add(value)
    return found


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# A tagged (or digest-pinned) reference with a namespace, as github.com/distribution/reference parses them.
TAGGED_IMAGE = re.compile(
    rf"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})+"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)


def unaccounted_image_like_strings(objects: list[dict[str, Any]], known: set[str]) -> set[str]:
    """Words in the render that read as a tagged image reference and are not in `known`: an image `images` missed."""
    suspects = set()
    for obj in objects:
        if obj["kind"] == "CustomResourceDefinition":
            continue
        body = obj
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "inferenceservice-config":
            body = inferenceservice_config([obj])
        for string in _strings(body):
            for word in string.replace("=", " ").replace('"', " ").split():
                if TAGGED_IMAGE.match(word) and (":" in word.rsplit("/", 1)[-1] or "@" in word) and word not in known:
                    suspects.add(word)
    return suspects


@pytest.mark.parametrize("release", ["cert-manager", "kserve-crd", "kserve-resources", "keda"])
def test_the_charts_pull_these_images_and_no_other(release):
    objects = scenario("local").releases[release].objects()
    assert images(objects) == UPSTREAM_IMAGES[release]
    assert unaccounted_image_like_strings(objects, UPSTREAM_IMAGES[release]) == set()


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("release", ["cert-manager", "kserve-resources"])
def test_every_image_comes_from_the_registry_the_program_intends(name, release):
    chosen = scenario(name)
    objects = chosen.releases[release].objects()
    expected = {mirrored(image, chosen.args.image_mirrors) for image in UPSTREAM_IMAGES[release]}
    assert images(objects) == expected
    assert unaccounted_image_like_strings(objects, expected) == set()


def test_mirrors_rewrite_every_image_and_keep_the_tags():
    releases = scenario("mirrors").releases
    pulled = images(releases["cert-manager"].objects()) | images(releases["kserve-resources"].objects())
    assert pulled == {
        f"{QUAY}/jetstack/cert-manager-controller:v1.21.1",
        f"{QUAY}/jetstack/cert-manager-webhook:v1.21.1",
        f"{QUAY}/jetstack/cert-manager-cainjector:v1.21.1",
        f"{QUAY}/jetstack/cert-manager-startupapicheck:v1.21.1",
        f"{QUAY}/jetstack/cert-manager-acmesolver:v1.21.1",
        f"{HUB}/kserve/kserve-controller:v0.20.0",
        f"{QUAY}/brancz/kube-rbac-proxy:v0.18.0",
        f"{HUB}/kserve/storage-initializer:v0.20.0",
        f"{HUB}/kserve/agent:v0.20.0",
        f"{HUB}/kserve/router:v0.20.0",
        f"{HUB}/kserve/art-explainer:v0.20.0",
    }
    objects = releases["kserve-resources"].objects()
    (storage,) = [o for o in objects if o["kind"] == "ClusterStorageContainer"]
    assert storage["spec"]["container"]["image"] == f"{HUB}/kserve/storage-initializer:v0.20.0"
    assert inferenceservice_config(objects)["storageInitializer"]["image"] == storage["spec"]["container"]["image"]


# --- every value counts ---------------------------------------------------------------------------------------


def leaves(values: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of the values set: scalars, lists and free-form maps (a node selector is one value)."""
    found = []
    for key, value in values.items():
        if isinstance(value, dict) and value and key not in FREE_FORM:
            found.extend(leaves(value, (*path, key)))
        else:
            found.append((*path, key))
    return found


def without(values: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """`values` without the value at `path` (and without maps that become empty)."""
    head, *rest = path
    copy = dict(values)
    if rest:
        copy[head] = without(values[head], tuple(rest))
        if copy[head]:
            return copy
    del copy[head]
    return copy


def ineffective_values(release: Release, values: dict[str, Any]) -> list[str]:
    """Dotted paths of the values whose removal leaves the render unchanged."""
    paths = leaves(values)
    with ThreadPoolExecutor(max_workers=8) as pool:
        full, *variants = pool.map(release.text, [values, *(without(values, path) for path in paths)])
    return [".".join(path) for path, text in zip(paths, variants, strict=True) if text == full]


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("release", ["cert-manager", "kserve-resources"])
def test_every_value_the_program_sets_changes_the_render_or_is_a_pin(name, release):
    chosen = scenario(name).releases[release]
    ineffective = set(ineffective_values(chosen, chosen.values))
    set_here = {".".join(path) for path in leaves(chosen.values)}
    assert ineffective - PINS[release] == set(), "values that repeat the chart's default: drop them, or pin them"
    assert (PINS[release] & set_here) - ineffective == set(), "pins that now change the render are no pins"


def test_the_kserve_crd_release_sets_no_values():
    assert scenario("dev").releases["kserve-crd"].values == {}


def _kserve_dev_values_with(extra: dict[str, Any]) -> dict[str, Any]:
    values = json.loads(json.dumps(scenario("dev").releases["kserve-resources"].values))
    kserve = values["kserve"]
    for key, value in extra.items():
        kserve.setdefault(key, {}).update(value)
    return values


def test_a_misspelt_kserve_value_is_caught_by_the_render_and_the_key_check():
    release = scenario("dev").releases["kserve-resources"]
    values = json.loads(json.dumps(release.values))
    values["kserve"]["controller"]["gateway"]["disableIngresCreation"] = True  # typo: chart has no schema
    assert release.text(values) == release.text(release.values), "Helm accepts it silently"
    assert "kserve.controller.gateway.disableIngresCreation" in ineffective_values(release, values)
    reference = reference_values(shared_dir(), "kserve-resources", "v0.20.0")
    assert unknown_keys(values, reference) == ["kserve.controller.gateway.disableIngresCreation"]


def test_a_known_but_ineffective_value_is_caught_by_the_render_only():
    """`certManager.enabled` is `X | default createSharedResources`: sprig's default swallows false, so KServe's
    Issuer and Certificate stay. The key exists, so only the render shows that it does nothing."""
    release = scenario("dev").releases["kserve-resources"]
    values = _kserve_dev_values_with({"certManager": {"enabled": False}})
    assert unknown_keys(values, reference_values(shared_dir(), "kserve-resources", "v0.20.0")) == []
    assert "kserve.certManager.enabled" in ineffective_values(release, values)
    assert {o["kind"] for o in release.objects(values)} >= {"Issuer", "Certificate"}


def test_a_misspelt_cert_manager_value_fails_the_chart_schema():
    release = scenario("dev").releases["cert-manager"]
    values = json.loads(json.dumps(release.values))
    values["webhook"]["nodeSelectr"] = values["webhook"].pop("nodeSelector")
    with pytest.raises(RenderError, match="additional properties 'nodeSelectr' not allowed"):
        release.objects(values)


# --- KEDA ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_keda_workload_runs_on_the_system_pool(name):
    keda = pod_specs(scenario(name).releases["keda"].objects())
    assert sorted(keda) == [
        "Deployment/keda-admission-webhooks",
        "Deployment/keda-operator",
        "Deployment/keda-operator-metrics-apiserver",
    ]
    for workload, spec in keda.items():
        assert spec.get("nodeSelector", {}).items() >= SYSTEM.items(), workload


@pytest.mark.parametrize("name", STACKS)
def test_keda_images_come_from_the_registry_the_program_intends(name):
    chosen = scenario(name)
    objects = chosen.releases["keda"].objects()
    expected = {mirrored(image, chosen.args.image_mirrors) for image in UPSTREAM_IMAGES["keda"]}
    assert images(objects) == expected
    assert unaccounted_image_like_strings(objects, expected) == set()
    if name != "local":
        assert all(image.startswith("us-central1-docker.pkg.dev/example-project/ghcr-remote/") for image in expected)


def test_on_gke_the_keda_operator_acts_as_the_metrics_reader_account():
    """Workload Identity: the chart annotates only keda-operator's service account (podIdentity.gcp)."""
    accounts = {
        o["metadata"]["name"]: o["metadata"].get("annotations") or {}
        for o in scenario("dev").releases["keda"].objects()
        if o["kind"] == "ServiceAccount"
    }
    annotation = "iam.gke.io/gcp-service-account"
    assert accounts["keda-operator"][annotation] == "kserve-triton-dev-keda@example-project.iam.gserviceaccount.com"
    assert [name for name, annotations in accounts.items() if annotation in annotations] == ["keda-operator"]
    local = scenario("local").releases["keda"].objects()
    assert not [o for o in local if annotation in (o["metadata"].get("annotations") or {})]


@pytest.mark.parametrize("name", STACKS)
def test_every_keda_value_the_program_sets_changes_the_render(name):
    chosen = scenario(name).releases["keda"]
    assert ineffective_values(chosen, chosen.values) == []
    reference = reference_values(shared_dir(), "keda", "2.18.3")
    assert unknown_keys(chosen.values, reference) == []


@pytest.mark.parametrize("name", ["dev", "local"])
def test_rendered_keda_objects_are_valid(name):
    for obj in scenario(name).releases["keda"].objects():
        if obj["kind"] in ("CustomResourceDefinition", "APIService", "ValidatingWebhookConfiguration"):
            continue
        assert builtin_errors(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


# --- availability and requests, as rendered -------------------------------------------------------------------


def workloads(objects: list[dict[str, Any]], kind: str = "Deployment") -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def budgets(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "PodDisruptionBudget"}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) == {"matchLabels"}, selector
    return labels.items() >= selector["matchLabels"].items()


CERT_MANAGER_DEPLOYMENTS = {"cert-manager": 2, "cert-manager-webhook": 3, "cert-manager-cainjector": 2}


@pytest.mark.parametrize(
    ("name", "release"),
    [(n, r) for n in SCENARIOS for r in ("cert-manager", "kserve-resources", "keda") if n in STACKS or r != "keda"],
)
def test_every_container_of_every_workload_requests_cpu_and_memory(name, release):
    chosen = scenario(name).releases
    for workload, spec in pod_specs(chosen[release].objects()).items():
        for container in spec.get("initContainers", []) + spec["containers"]:
            requests = (container.get("resources") or {}).get("requests") or {}
            assert {"cpu", "memory"} <= set(requests), f"{workload} {container['name']}"


def test_in_production_cert_manager_runs_several_replicas_each_with_a_budget_and_zone_spread():
    objects = scenario("prod").releases["cert-manager"].objects()
    deployments, found = workloads(objects), budgets(objects)
    assert {name: d["spec"]["replicas"] for name, d in deployments.items()} == CERT_MANAGER_DEPLOYMENTS
    assert set(found) == set(CERT_MANAGER_DEPLOYMENTS)
    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        assert found[name]["minAvailable"] == 1, name
        assert selects(found[name]["selector"], template["metadata"]["labels"]), name
        spread = template["spec"]["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in spread] == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        assert all(selects(c["labelSelector"], template["metadata"]["labels"]) for c in spread), name
        # ...and no other cert-manager Deployment's pods
        others = [d for n, d in deployments.items() if n != name]
        assert not any(selects(found[name]["selector"], d["spec"]["template"]["metadata"]["labels"]) for d in others)


@pytest.mark.parametrize("name", ["dev", "local"])
def test_outside_production_cert_manager_keeps_one_replica_of_each_and_no_budget(name):
    objects = scenario(name).releases["cert-manager"].objects()
    assert {n: d["spec"]["replicas"] for n, d in workloads(objects).items()} == dict.fromkeys(
        CERT_MANAGER_DEPLOYMENTS, 1
    )
    assert budgets(objects) == {}


@pytest.mark.parametrize("name", STACKS)
def test_cert_manager_leases_in_its_own_namespace(name):
    objects = scenario(name).releases["cert-manager"].objects()
    (controller,) = [c for c in workloads(objects)["cert-manager"]["spec"]["template"]["spec"]["containers"]]
    assert "--leader-election-namespace=cert-manager" in controller["args"]
    lease_roles = [o for o in objects if o["kind"] == "Role" and o["metadata"]["name"].endswith(":leaderelection")]
    assert lease_roles and {o["metadata"]["namespace"] for o in lease_roles} == {"cert-manager"}


def kserve_budgets(chosen: Scenario) -> list[Any]:
    """The program's PodDisruptionBudgets in KServe's namespace (the others are the InferenceServices')."""
    found = chosen.monitor.of_type("kubernetes:policy/v1:PodDisruptionBudget")
    return [n for n in found if n.inputs["metadata"]["namespace"] == "kserve"]


def _kserve_controller(name: str) -> dict[str, Any]:
    (deployment,) = workloads(scenario(name).releases["kserve-resources"].objects()).values()
    return deployment


@pytest.mark.parametrize("name", STACKS)
def test_the_chart_renders_no_controller_replicas_so_the_patch_alone_owns_them(name):
    """Helm's three-way merge never touches a field its manifests never had: the patch's replicas stay."""
    assert "replicas" not in _kserve_controller(name)["spec"]


def test_in_production_the_patched_kserve_controller_has_two_replicas_a_budget_and_zone_spread():
    chosen = scenario("prod")
    deployment = _kserve_controller("prod")
    (patch,) = chosen.monitor.of_type("kubernetes:apps/v1:DeploymentPatch")
    patch = patch.inputs
    # The patch names the Deployment the chart renders, and the result is a valid Deployment with two replicas.
    assert (patch["apiVersion"], patch["kind"]) == (deployment["apiVersion"], deployment["kind"])
    assert patch["metadata"]["name"] == deployment["metadata"]["name"] == "kserve-controller-manager"
    assert patch["metadata"]["namespace"] == chosen.releases["kserve-resources"].namespace
    patched = {**deployment, "spec": {**deployment["spec"], **patch["spec"]}}
    assert patched["spec"]["replicas"] == 2
    assert builtin_errors(patched) == []
    (budget,) = kserve_budgets(chosen)
    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget.inputs["metadata"]["namespace"] == "kserve"
    assert budget.inputs["spec"]["selector"] == deployment["spec"]["selector"]
    assert selects(budget.inputs["spec"]["selector"], template_labels)
    assert budget.inputs["spec"]["minAvailable"] == 1
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    assert all(selects(c["labelSelector"], template_labels) for c in spread)


@pytest.mark.parametrize("name", ["dev", "local"])
def test_outside_production_the_kserve_controller_is_left_at_one_replica(name):
    chosen = scenario(name)
    assert chosen.monitor.of_type("kubernetes:apps/v1:DeploymentPatch") == []
    assert kserve_budgets(chosen) == []
    assert "topologySpreadConstraints" not in _kserve_controller(name)["spec"]["template"]["spec"]


@pytest.mark.parametrize("name", STACKS)
def test_kserve_workloads_request_at_their_limits(name):
    """The chart's own requests (100m / 300Mi for the manager and for kube-rbac-proxy), kept."""
    for container in _kserve_controller(name)["spec"]["template"]["spec"]["containers"]:
        assert (
            container["resources"]["requests"] == container["resources"]["limits"] == {"cpu": "100m", "memory": "300Mi"}
        )


def test_in_production_keda_runs_a_standby_operator_with_a_budget():
    objects = scenario("prod").releases["keda"].objects()
    replicas = {n: d["spec"]["replicas"] for n, d in workloads(objects).items()}
    assert replicas == {"keda-operator": 2, "keda-operator-metrics-apiserver": 1, "keda-admission-webhooks": 1}
    found = budgets(objects)
    assert set(found) == {"keda-operator"}
    assert found["keda-operator"]["minAvailable"] == 1
    operator = workloads(objects)["keda-operator"]["spec"]["template"]
    assert selects(found["keda-operator"]["selector"], operator["metadata"]["labels"])
    assert [c["topologyKey"] for c in operator["spec"]["topologySpreadConstraints"]] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]


@pytest.mark.parametrize("name", ["dev", "local"])
def test_outside_production_keda_runs_one_of_each(name):
    objects = scenario(name).releases["keda"].objects()
    assert set(n for n, d in workloads(objects).items() if d["spec"]["replicas"] != 1) == set()
    assert budgets(objects) == {}


@pytest.mark.parametrize("name", ["prod"])
@pytest.mark.parametrize("release", ["cert-manager", "kserve-resources", "keda"])
def test_production_renders_are_valid(name, release):
    for obj in scenario(name).releases[release].objects():
        if obj["kind"] in ("CustomResourceDefinition", "APIService", "ValidatingWebhookConfiguration"):
            continue
        if obj["apiVersion"].startswith(CUSTOM_GROUPS):
            continue
        assert builtin_errors(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("name", STACKS)
def test_the_storage_initializer_gets_a_seccomp_profile_and_keeps_the_charts_settings(name):
    objects = scenario(name).releases["kserve-resources"].objects()
    (storage,) = [o for o in objects if o["kind"] == "ClusterStorageContainer"]
    assert storage["spec"]["container"]["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
