"""The KServe platform: cert-manager and KServe by Helm, pinned, in Standard mode, safely ordered."""

from __future__ import annotations

import re

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.kserve_platform import CERT_MANAGER_IMAGES, KSERVE_IMAGES, KServePlatform
from settings import ConfigError
from tests.support.chart_values import reference_values, unknown_keys
from tests.support.platform import HUB, MIRRORS, QUAY, RELEASE, SYSTEM, platform_args
from tests.support.schemas import builtin_errors
from tests.support.stacks import shared_dir, shared_missing


def build(harness, **overrides):
    def program():
        provider = k8s.Provider("cluster", kubeconfig="{}")
        KServePlatform("kserve", platform_args(**overrides), opts=pulumi.ResourceOptions(providers=[provider]))

    harness.run(program)
    return harness.monitor


@pytest.fixture
def installed(pulumi_mocks):
    return build(pulumi_mocks)


def test_cert_manager_chart_pinned_with_crds_on_the_system_pool(installed):
    release = installed.one(RELEASE, "kserve-cert-manager").inputs
    assert (release["name"], release["chart"], release["version"]) == ("cert-manager", "cert-manager", "v1.21.1")
    assert release["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert release["namespace"] == "cert-manager"
    values = release["values"]
    assert values["crds"] == {"enabled": True, "keep": True}
    for component in (values, values["webhook"], values["cainjector"], values["startupapicheck"]):
        assert component["nodeSelector"] == SYSTEM
    assert release["waitForJobs"] is True


def test_kserve_charts_from_the_oci_registry_at_the_pinned_version(installed):
    crd = installed.one(RELEASE, "kserve-crd").inputs
    resources = installed.one(RELEASE, "kserve-resources").inputs
    assert (crd["name"], crd["chart"], crd["version"]) == (
        "kserve-crd",
        "oci://ghcr.io/kserve/charts/kserve-crd",
        "v0.20.0",
    )
    assert (resources["name"], resources["chart"], resources["version"]) == (
        "kserve-resources",
        "oci://ghcr.io/kserve/charts/kserve-resources",
        "v0.20.0",
    )
    assert crd["namespace"] == resources["namespace"] == "kserve"


def test_kserve_runs_in_standard_mode_without_istio_or_ingress_by_default(installed):
    kserve = installed.one(RELEASE, "kserve-resources").inputs["values"]["kserve"]
    controller = kserve["controller"]
    assert "version" not in kserve, "the chart's default is its own version, the one the release installs"
    assert controller["deploymentMode"] == "Standard"
    assert controller["gateway"]["disableIstioVirtualHost"] is True
    assert controller["gateway"]["disableIngressCreation"] is True
    assert "ingressGateway" not in controller["gateway"]
    assert controller["nodeSelector"] == SYSTEM
    assert controller["imagePullPolicy"] == "IfNotPresent"
    assert kserve["metricsaggregator"] == {"enableMetricAggregation": "false", "enablePrometheusScraping": "false"}


def test_an_ingress_class_turns_ingress_creation_on(pulumi_mocks):
    monitor = build(pulumi_mocks, ingress_class="nginx", ingress_domain="models.example.org")
    gateway = monitor.one(RELEASE, "kserve-resources").inputs["values"]["kserve"]["controller"]["gateway"]
    assert "disableIngressCreation" not in gateway, "the chart's default creates Ingresses"
    assert gateway["ingressGateway"] == {"className": "nginx"}
    assert gateway["domain"] == "models.example.org"


def test_no_node_selector_when_the_cluster_has_no_system_pool(pulumi_mocks):
    monitor = build(pulumi_mocks, system_node_selector=None)
    assert "nodeSelector" not in monitor.one(RELEASE, "kserve-resources").inputs["values"]["kserve"]["controller"]
    assert "nodeSelector" not in monitor.one(RELEASE, "kserve-cert-manager").inputs["values"]


def test_the_builtin_runtimes_chart_is_not_installed(installed):
    charts = [r.inputs["chart"] for r in installed.of_type(RELEASE)]
    assert not any("runtime-configs" in chart for chart in charts), "it would own kserve-tritonserver"
    assert len(charts) == 3


def test_install_order_cert_manager_then_crds_then_controller(installed):
    cert_manager = installed.one(RELEASE, "kserve-cert-manager")
    crds = installed.one(RELEASE, "kserve-crd")
    controller = installed.one(RELEASE, "kserve-resources")
    assert cert_manager.urn in crds.dependencies
    assert crds.urn in controller.dependencies
    assert cert_manager.urn in controller.dependencies
    assert not installed.depends_on(cert_manager, crds)


def test_the_releases_that_pull_images_wait_for_what_they_are_given(pulumi_mocks):
    def program():
        provider = k8s.Provider("cluster", kubeconfig="{}")
        registry = pulumi.CustomResource("test:index:Repository", "mirror")
        args = platform_args(image_mirrors=MIRRORS, depends_on=[registry])
        KServePlatform("kserve", args, opts=pulumi.ResourceOptions(providers=[provider]))

    pulumi_mocks.run(program)
    monitor = pulumi_mocks.monitor
    registry = monitor.one("test:index:Repository")
    assert registry.urn in monitor.one(RELEASE, "kserve-cert-manager").dependencies
    assert registry.urn in monitor.one(RELEASE, "kserve-resources").dependencies


def test_crds_are_retained_and_protected(installed):
    crds = installed.one(RELEASE, "kserve-crd")
    assert crds.retain_on_delete is True
    assert crds.protect is True
    controller = installed.one(RELEASE, "kserve-resources")
    assert not controller.retain_on_delete, "the controller must really go on destroy, after the ISVCs"


def test_crd_protection_can_be_turned_off_but_retention_cannot(pulumi_mocks):
    crds = build(pulumi_mocks, protect_crds=False).one(RELEASE, "kserve-crd")
    assert crds.protect is False
    assert crds.retain_on_delete is True


def test_kserve_namespace_carries_upstream_labels(installed):
    namespace = installed.one("kubernetes:core/v1:Namespace", "kserve-kserve-ns").inputs["metadata"]
    assert namespace["name"] == "kserve"
    assert namespace["labels"]["control-plane"] == "kserve-controller-manager"


def test_every_kubernetes_resource_uses_the_given_provider(installed):
    provider = installed.one("pulumi:providers:kubernetes")
    component = installed.one("kserve-triton:kserve:KServePlatform")
    children = installed.children_of(component)
    assert len(children) == 5
    for child in children:
        assert installed.provider_of(child) is provider, f"{child.name} must use the cluster's provider"


def test_outputs_namespace_and_version(installed):
    outputs = installed.one("kserve-triton:kserve:KServePlatform").registered_outputs
    assert outputs == {"namespace": "kserve", "version": "v0.20.0"}


def _leaves(values: dict, path: tuple[str, ...] = ()):
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key), value


def test_without_mirrors_no_image_is_set(installed):
    for name in ("kserve-cert-manager", "kserve-resources"):
        values = installed.one(RELEASE, name).inputs["values"]
        assert not [path for path, _ in _leaves(values) if "image" in path or "rbacProxyImage" in path]


def test_mirrors_rewrite_every_image_of_both_charts(pulumi_mocks):
    monitor = build(pulumi_mocks, image_mirrors=MIRRORS)
    kserve = monitor.one(RELEASE, "kserve-resources").inputs["values"]["kserve"]
    assert kserve["controller"]["image"] == f"{HUB}/kserve/kserve-controller"
    assert kserve["controller"]["rbacProxyImage"] == f"{QUAY}/brancz/kube-rbac-proxy:v0.18.0"
    assert kserve["storage"] == {
        "image": f"{HUB}/kserve/storage-initializer",
        "containerSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
    }
    assert kserve["agent"] == {"image": f"{HUB}/kserve/agent"}
    assert kserve["router"] == {"image": f"{HUB}/kserve/router"}
    assert kserve["localmodel"] == {"defaultJobImage": f"{HUB}/kserve/storage-initializer"}
    assert kserve["servingruntime"] == {"art": {"image": f"{HUB}/kserve/art-explainer"}}
    cert_manager = monitor.one(RELEASE, "kserve-cert-manager").inputs["values"]
    for component, values in [("controller", cert_manager)] + [
        (c, cert_manager[c]) for c in ("webhook", "cainjector", "startupapicheck", "acmesolver")
    ]:
        assert values["image"] == {"repository": f"{QUAY}/jetstack/cert-manager-{component}"}
    assert cert_manager["webhook"]["nodeSelector"] == SYSTEM, "mirrors and node selectors share a component"


def test_a_mirror_for_one_registry_leaves_the_others_upstream(pulumi_mocks):
    monitor = build(pulumi_mocks, image_mirrors={"docker.io": HUB})
    kserve = monitor.one(RELEASE, "kserve-resources").inputs["values"]["kserve"]
    assert kserve["controller"]["image"] == f"{HUB}/kserve/kserve-controller"
    assert "rbacProxyImage" not in kserve["controller"]
    assert "image" not in monitor.one(RELEASE, "kserve-cert-manager").inputs["values"]


def test_a_malformed_mirror_map_is_refused():
    message = "image_mirrors: 'index.docker.io': write Docker Hub as 'docker.io'"
    with pytest.raises(ValueError, match=re.escape(message)):
        platform_args(image_mirrors={"index.docker.io": HUB})


SHARED = shared_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason=shared_missing("chart values"))


@needs_shared
@pytest.mark.parametrize("cert_manager_version", ["v1.19.6", "v1.21.1"])
@pytest.mark.parametrize(("ingress_class", "image_mirrors"), [(None, None), ("nginx", None), (None, MIRRORS)])
def test_every_values_key_exists_in_the_charts(pulumi_mocks, cert_manager_version, ingress_class, image_mirrors):
    monitor = build(
        pulumi_mocks,
        cert_manager_version=cert_manager_version,
        ingress_class=ingress_class,
        image_mirrors=image_mirrors,
    )
    cert_manager = monitor.one(RELEASE, "kserve-cert-manager").inputs["values"]
    kserve = monitor.one(RELEASE, "kserve-resources").inputs["values"]
    assert unknown_keys(cert_manager, reference_values(SHARED, "cert-manager", cert_manager_version)) == []
    assert unknown_keys(kserve, reference_values(SHARED, "kserve-resources", "v0.20.0")) == []


@needs_shared
def test_the_values_check_catches_a_misspelt_key():
    reference = reference_values(SHARED, "kserve-resources", "v0.20.0")
    misspelt = {"kserve": {"controller": {"gateway": {"disableIstioVirtualHosts": True}}}}
    assert unknown_keys(misspelt, reference) == ["kserve.controller.gateway.disableIstioVirtualHosts"]
    assert unknown_keys({"kserve": {"controller": {"nodeSelector": {"any/label": "x"}}}}, reference) == []


def _value(values: dict, path: tuple[str, ...]):
    for key in path:
        values = values[key]
    return values


@needs_shared
def test_the_kserve_images_rewritten_are_the_charts_defaults():
    reference = reference_values(SHARED, "kserve-resources", "v0.20.0")["kserve"]
    assert {path: _value(reference, path) for path in KSERVE_IMAGES} == KSERVE_IMAGES


@needs_shared
@pytest.mark.parametrize("version", ["v1.19.6", "v1.21.1"])
def test_the_cert_manager_images_rewritten_are_the_charts_defaults(version):
    reference = reference_values(SHARED, "cert-manager", version)
    for path, default in CERT_MANAGER_IMAGES.items():
        image = _value(reference, path[:-1])
        # v1.19.6 gives the repository in full; v1.21.1 computes it from registry, namespace and name.
        computed = f"{reference.get('imageRegistry')}/{reference.get('imageNamespace')}/{image.get('name')}"
        assert (image["repository"] or computed) == default, path


# --- availability ---------------------------------------------------------------------------------------------

DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"


def test_every_cert_manager_workload_requests_resources_and_leases_in_its_own_namespace(installed):
    values = installed.one(RELEASE, "kserve-cert-manager").inputs["values"]
    assert values["global"] == {"leaderElection": {"namespace": "cert-manager"}}
    for component in (values, values["webhook"], values["cainjector"], values["startupapicheck"]):
        resources = component["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"memory"}, "no CPU limit: no CFS throttling"


def test_outside_production_one_replica_of_each_and_no_patch_or_budget(installed):
    values = installed.one(RELEASE, "kserve-cert-manager").inputs["values"]
    assert not {"replicaCount", "podDisruptionBudget", "topologySpreadConstraints"} & set(values)
    assert (
        "topologySpreadConstraints"
        not in installed.one(RELEASE, "kserve-resources").inputs["values"]["kserve"]["controller"]
    )
    assert not installed.of_type(DEPLOYMENT_PATCH) and not installed.of_type(PDB)


@pytest.fixture
def highly_available(pulumi_mocks):
    return build(pulumi_mocks, highly_available=True)


def test_in_production_cert_manager_runs_its_best_practice_replicas_with_budgets_and_spread(highly_available):
    values = highly_available.one(RELEASE, "kserve-cert-manager").inputs["values"]
    for name, component, replicas in [
        ("controller", values, 2),
        ("webhook", values["webhook"], 3),
        ("cainjector", values["cainjector"], 2),
    ]:
        assert component["replicaCount"] == replicas
        assert component["podDisruptionBudget"] == {"enabled": True}
        selector = {"app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": name}
        assert [
            (c["topologyKey"], c["whenUnsatisfiable"], c["labelSelector"]["matchLabels"])
            for c in component["topologySpreadConstraints"]
        ] == [
            ("topology.kubernetes.io/zone", "ScheduleAnyway", selector),
            ("kubernetes.io/hostname", "ScheduleAnyway", selector),
        ]
    assert "replicaCount" not in values["startupapicheck"], "a Job"


def test_in_production_the_kserve_controller_gets_two_replicas_by_patch_and_a_budget(highly_available):
    patch = highly_available.one(DEPLOYMENT_PATCH)
    release = highly_available.one(RELEASE, "kserve-resources")
    assert patch.inputs["metadata"] == {
        "name": "kserve-controller-manager",
        "namespace": "kserve",
        "annotations": {"pulumi.com/patchForce": "true"},
    }
    assert patch.inputs["spec"] == {"replicas": 2}, "only the replicas: the rest is Helm's"
    budget = highly_available.one(PDB)
    assert budget.inputs["metadata"] == {"name": "kserve-controller-manager", "namespace": "kserve"}
    assert budget.inputs["spec"] == {
        "minAvailable": 1,
        "selector": {"matchLabels": {"control-plane": "kserve-controller-manager", "controller-tools.k8s.io": "1.0"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    for node in (patch, budget):
        assert release.urn in node.dependencies, "the Deployment exists once the release does"
    spread = release.inputs["values"]["kserve"]["controller"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]


def test_the_budget_is_a_valid_kubernetes_object(highly_available):
    assert builtin_errors(highly_available.one(PDB).inputs) == []


@needs_shared
@pytest.mark.parametrize("cert_manager_version", ["v1.19.6", "v1.21.1"])
def test_every_production_values_key_exists_in_the_charts(pulumi_mocks, cert_manager_version):
    monitor = build(pulumi_mocks, cert_manager_version=cert_manager_version, highly_available=True)
    cert_manager = monitor.one(RELEASE, "kserve-cert-manager").inputs["values"]
    kserve = monitor.one(RELEASE, "kserve-resources").inputs["values"]
    assert unknown_keys(cert_manager, reference_values(SHARED, "cert-manager", cert_manager_version)) == []
    assert unknown_keys(kserve, reference_values(SHARED, "kserve-resources", "v0.20.0")) == []


# --- charts from a directory (kserve.charts) ----------------------------------------------------------------------


def charts_directory(tmp_path, **versions):
    """A directory of unpacked charts, each a Chart.yaml naming its version."""
    wanted = {"cert-manager": "v1.21.1", "kserve-crd": "v0.20.0", "kserve-resources": "v0.20.0", "keda": "2.18.3"}
    for chart, version in {**wanted, **versions}.items():
        directory = tmp_path / f"{chart}-{wanted[chart]}"
        directory.mkdir()
        (directory / "Chart.yaml").write_text(f"apiVersion: v2\nname: {chart}\nversion: {version}\n")
    return tmp_path


def local_stack(charts) -> dict:
    return {
        "kserve-triton:cluster": {"existing": {"context": "kind"}},
        "kserve-triton:kserve": {"charts": str(charts)},
        "kserve-triton:inferenceServices": [
            {"name": "m", "modelFormat": "onnx", "storageUri": "gs://kfserving-examples/m", "gpus": 0}
        ],
    }


def test_every_release_installs_from_the_charts_directory_without_pulling(pulumi_mocks, tmp_path):
    charts = charts_directory(tmp_path)
    pulumi_mocks.configure(local_stack(charts))
    pulumi_mocks.run_main()
    releases = {n.inputs["name"]: n.inputs for n in pulumi_mocks.monitor.of_type(RELEASE)}
    assert {name: (r["chart"], r["version"]) for name, r in releases.items()} == {
        "cert-manager": (str(charts / "cert-manager-v1.21.1"), "v1.21.1"),
        "kserve-crd": (str(charts / "kserve-crd-v0.20.0"), "v0.20.0"),
        "kserve-resources": (str(charts / "kserve-resources-v0.20.0"), "v0.20.0"),
        "keda": (str(charts / "keda-2.18.3"), "2.18.3"),
    }
    assert all("repositoryOpts" not in r for r in releases.values())


def test_without_a_charts_directory_the_charts_come_from_their_registries(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main(reuse=True)
    releases = {n.inputs["name"]: n.inputs for n in pulumi_mocks.monitor.of_type(RELEASE)}
    assert releases["kserve-crd"]["chart"] == "oci://ghcr.io/kserve/charts/kserve-crd"
    assert releases["cert-manager"]["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert releases["keda"]["repositoryOpts"] == {"repo": "https://kedacore.github.io/charts"}


def test_a_charts_directory_missing_a_chart_or_holding_another_version_is_refused(pulumi_mocks, tmp_path):
    charts = charts_directory(tmp_path, keda="2.18.2")
    (charts / "kserve-crd-v0.20.0" / "Chart.yaml").unlink()
    pulumi_mocks.configure(local_stack(charts))
    with pytest.raises(ConfigError) as refused:
        pulumi_mocks.run_main()
    problems = [str(p) for p in refused.value.problems]
    assert (
        f"kserve.charts: '{charts}' is not allowed: has no chart kserve-crd-v0.20.0/ (with its Chart.yaml)" in problems
    )
    assert f"kserve.charts: '{charts}' is not allowed: keda-2.18.3/Chart.yaml is version 2.18.2" in problems
    assert pulumi_mocks.monitor.nodes == {}, "a refused config must not register any resource"


def test_a_charts_directory_that_does_not_exist_is_refused(pulumi_mocks, tmp_path):
    pulumi_mocks.configure(local_stack(tmp_path / "nowhere"))
    with pytest.raises(ConfigError) as refused:
        pulumi_mocks.run_main()
    assert f"is not a directory ({tmp_path / 'nowhere'})" in str(refused.value)
    assert pulumi_mocks.monitor.nodes == {}
