"""The policy pack, without the CLI: each policy against good and bad resources built the way the engine
would, and against everything the real program registers for the dev and prod stacks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kserve_triton_policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyResource

from tests.support.policy_pack import (
    BY_NAME,
    all_violations,
    program_resources,
    resource,
    violations,
)

CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
RELEASE = "kubernetes:helm.sh/v3:Release"


# --- good and bad resources ----------------------------------------------------------------------------

SAFE_CONTEXT = {
    "runAsUser": 1000,
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def runtime(name="kserve-tritonserver", image="nvcr.io/nvidia/tritonserver:25.01-py3", context=None, formats=None):
    return resource(
        CSR,
        {
            "metadata": {"name": name},
            "spec": {
                "supportedModelFormats": formats
                or [{"name": "onnx", "version": "1", "autoSelect": True, "priority": 1}],
                "protocolVersions": ["v2", "grpc-v2"],
                "containers": [
                    {
                        "name": "kserve-container",
                        "image": image,
                        "securityContext": SAFE_CONTEXT if context is None else context,
                    }
                ],
            },
        },
        name,
    )


def isvc(gpu_requests="1", gpu_limits="1", tolerations=(GPU_TOLERATION,), context=None, runtime_version=None):
    model: dict[str, Any] = {
        "modelFormat": {"name": "onnx"},
        "storageUri": "gs://b/m",
        "resources": {"requests": {"nvidia.com/gpu": gpu_requests}, "limits": {"nvidia.com/gpu": gpu_limits}},
    }
    if context is not None:
        model["securityContext"] = context
    if runtime_version is not None:
        model["runtimeVersion"] = runtime_version
    return resource(
        ISVC,
        {"metadata": {"name": "m"}, "spec": {"predictor": {"model": model, "tolerations": list(tolerations)}}},
        "m",
    )


def cluster(production=False, protect=True, **props):
    base = {
        "workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"},
        "enableShieldedNodes": True,
        "releaseChannel": {"channel": "REGULAR"},
        "removeDefaultNodePool": True,
        "nodeConfig": {"serviceAccount": "c-sys@p.iam.gserviceaccount.com"},
        "deletionProtection": True,
        "resourceLabels": {"kserve-triton-production": str(production).lower()},
    }
    base.update(props)
    return resource(CLUSTER, base, "cluster", protect)


def gpu_pool(**node_config):
    config = {
        "guestAccelerators": [{"type": "nvidia-l4", "count": 1}],
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
        "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
        "serviceAccount": "c-gpu@p.iam.gserviceaccount.com",
        "spot": False,
    }
    config.update(node_config)
    return resource(
        NODE_POOL, {"nodeConfig": config, "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 4}}, "gpu"
    )


def release(chart="oci://ghcr.io/kserve/charts/kserve-crd", version="v0.20.0", protect=True):
    return resource(RELEASE, {"name": chart.rsplit("/", 1)[-1], "chart": chart, "version": version}, "rel", protect)


ROOT_CONTEXT = {**SAFE_CONTEXT, "runAsUser": 0}

NAMESPACE = "kubernetes:core/v1:Namespace"
NAMESPACE_PATCH = "kubernetes:core/v1:NamespacePatch"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
PREDICTOR = {"serving.kserve.io/inferenceservice": "m", "component": "predictor"}
ZONE_SPREAD = {
    "maxSkew": 1,
    "topologyKey": "topology.kubernetes.io/zone",
    "whenUnsatisfiable": "ScheduleAnyway",
    "labelSelector": {"matchLabels": PREDICTOR},
}


def model(namespace="models", storage_uri="gs://b/m", runtime_name="kserve-tritonserver", **predictor):
    """An InferenceService as the program declares one, in a namespace."""
    spec = {
        "model": {"modelFormat": {"name": "onnx"}, "storageUri": storage_uri, "runtime": runtime_name},
        "terminationGracePeriodSeconds": 15,
        "topologySpreadConstraints": [ZONE_SPREAD],
        **predictor,
    }
    return resource(ISVC, {"metadata": {"name": "m", "namespace": namespace}, "spec": {"predictor": spec}}, "m")


def namespace(name="models", labels=RESTRICTED, patch=False):
    return resource(NAMESPACE_PATCH if patch else NAMESPACE, {"metadata": {"name": name, "labels": labels}}, name)


def network_policy(spec, name="deny", ns="models"):
    return resource(NETWORK_POLICY, {"metadata": {"name": name, "namespace": ns}, "spec": spec}, f"{ns}-{name}")


DENY = network_policy(
    {"podSelector": {"matchLabels": {"kserve-triton/runtime": "kserve-tritonserver"}}, "policyTypes": ["Ingress"]}
)
RUNTIME_WITH_LABELS = resource(
    CSR,
    {
        "metadata": {"name": "kserve-tritonserver"},
        "spec": {
            "labels": {"kserve-triton/runtime": "kserve-tritonserver"},
            "containers": [{"name": "kserve-container", "args": ["tritonserver", "--exit-timeout-secs=10"]}],
        },
    },
    "triton",
)


def budget(ns="models", selector=PREDICTOR, name="m-predictor"):
    spec = {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    return resource(PDB, {"metadata": {"name": name, "namespace": ns}, "spec": spec}, f"{ns}-{name}")


KSERVE_SELECTOR = {"control-plane": "kserve-controller-manager", "controller-tools.k8s.io": "1.0"}


def controller_replicas(replicas=2):
    return resource(
        DEPLOYMENT_PATCH,
        {"metadata": {"name": "kserve-controller-manager", "namespace": "kserve"}, "spec": {"replicas": replicas}},
        "controller-replicas",
    )


def cert_manager(replicas=3, budget_on=True):
    values = {"webhook": {"replicaCount": replicas, "podDisruptionBudget": {"enabled": budget_on}}}
    props = {"name": "cert-manager", "chart": "cert-manager", "version": "v1.21.1", "values": values}
    return resource(RELEASE, props, "cert-manager", True)


HA = [controller_replicas(), budget("kserve", KSERVE_SELECTOR, "kserve-controller-manager"), cert_manager()]

# policy -> (good resources, bad resources, phrase of the bad one's message)
CASES: dict[str, list[tuple[list[PolicyResource], list[PolicyResource], str]]] = {
    "triton-non-root": [
        ([runtime(), isvc()], [runtime(context={**SAFE_CONTEXT, "runAsNonRoot": False})], "non-root"),
        ([isvc(context=SAFE_CONTEXT)], [isvc(context=ROOT_CONTEXT)], "non-root"),
    ],
    "triton-no-privilege-escalation": [
        (
            [runtime()],
            [runtime(context={**SAFE_CONTEXT, "allowPrivilegeEscalation": True})],
            "allowPrivilegeEscalation",
        ),
        ([runtime()], [runtime(context={**SAFE_CONTEXT, "privileged": True})], "privileged"),
    ],
    "triton-drop-all-capabilities": [
        ([runtime()], [runtime(context={**SAFE_CONTEXT, "capabilities": {"drop": ["NET_RAW"]}})], "drop ALL"),
        (
            [runtime()],
            [runtime(context={**SAFE_CONTEXT, "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}})],
            "drop ALL",
        ),
    ],
    "triton-seccomp-runtime-default": [
        ([runtime()], [runtime(context={k: v for k, v in SAFE_CONTEXT.items() if k != "seccompProfile"})], "seccomp"),
    ],
    "images-pinned": [
        ([runtime()], [runtime(image="nvcr.io/nvidia/tritonserver:latest")], "pinned"),
        ([runtime(image="nvcr.io/nvidia/tritonserver@sha256:" + "a" * 64)], [runtime(image="tritonserver")], "pinned"),
        ([isvc(runtime_version="24.12-py3")], [isvc(runtime_version="latest")], "runtimeVersion"),
    ],
    "gpu-requests-equal-limits": [([isvc()], [isvc(gpu_requests="1", gpu_limits="2")], "requests and limits")],
    "gpu-taint-tolerated": [([isvc()], [isvc(tolerations=())], "tolerate")],
    "runtime-priorities-do-not-clash": [
        (
            [
                runtime(),
                runtime("other", formats=[{"name": "onnx", "version": "1", "autoSelect": True, "priority": 2}]),
            ],
            [runtime(), runtime("other")],
            "both auto-select onnx 1 at priority 1",
        ),
        (
            [runtime()],
            [
                runtime(
                    formats=[
                        {"name": "onnx", "version": "1", "autoSelect": True, "priority": 1},
                        {"name": "onnx", "version": "2", "autoSelect": True, "priority": 2},
                    ]
                )
            ],
            "different priorities",
        ),
    ],
    "gke-workload-identity": [([cluster()], [cluster(workloadIdentityConfig=None)], "Workload Identity")],
    "gke-metadata-server-on-gpu-nodes": [
        ([gpu_pool()], [gpu_pool(workloadMetadataConfig={"mode": "GCE_METADATA"})], "GKE_METADATA")
    ],
    "gke-shielded-nodes": [
        ([cluster(), gpu_pool()], [cluster(enableShieldedNodes=False)], "shielded"),
        ([gpu_pool()], [gpu_pool(shieldedInstanceConfig={"enableSecureBoot": False})], "SecureBoot"),
    ],
    "gke-no-default-compute-service-account": [
        ([gpu_pool()], [gpu_pool(serviceAccount="123-compute@developer.gserviceaccount.com")], "dedicated"),
        ([gpu_pool()], [gpu_pool(serviceAccount=None)], "dedicated"),
        ([cluster()], [cluster(nodeConfig=None, removeDefaultNodePool=False)], "default compute"),
    ],
    "gke-release-channel": [([cluster()], [cluster(releaseChannel={"channel": "UNSPECIFIED"})], "release channel")],
    "gpu-pool-bounded": [
        (
            [gpu_pool()],
            [resource(NODE_POOL, {"nodeConfig": gpu_pool().props["nodeConfig"], "autoscaling": {}}, "gpu")],
            "bounded",
        )
    ],
    "production-is-protected": [
        (
            [cluster(production=True), release()],
            [cluster(production=True, deletionProtection=False)],
            "deletionProtection",
        ),
        (
            [cluster(production=False), release(protect=False)],
            [cluster(production=True), release(protect=False)],
            "CRDs",
        ),
    ],
    "spot-only-outside-production": [
        (
            [cluster(production=False), gpu_pool(spot=True)],
            [cluster(production=True), gpu_pool(spot=True)],
            "on-demand",
        ),
    ],
    "helm-chart-pinned": [
        ([release()], [release(version="")], "pinned"),
        ([release(version="1.21.1")], [release(version="^1.21")], "pinned"),
    ],
    "kserve-crds-protected": [([release()], [release(protect=False)], "not protected")],
    "production-private-nodes": [
        (
            [cluster(production=True, privateClusterConfig={"enablePrivateNodes": True})],
            [cluster(production=True)],
            "enablePrivateNodes",
        ),
        (
            [cluster(production=False)],
            [cluster(production=True, privateClusterConfig={"enablePrivateNodes": False})],
            "enablePrivateNodes",
        ),
    ],
    "spot-grace-fits-notice": [
        (
            [gpu_pool(spot=True), RUNTIME_WITH_LABELS, model()],
            [gpu_pool(spot=True), model(terminationGracePeriodSeconds=30)],
            "at most 15",
        ),
        (
            [gpu_pool(spot=False), model(terminationGracePeriodSeconds=45)],
            [gpu_pool(spot=True), model(terminationGracePeriodSeconds=None)],
            "default 30",
        ),
        (
            [gpu_pool(spot=True), RUNTIME_WITH_LABELS, model()],
            [gpu_pool(spot=True), runtime(), model()],
            "--exit-timeout-secs",
        ),
    ],
    "model-namespace-psa-restricted": [
        ([namespace(), model()], [namespace(labels={}), model()], "restricted"),
        ([namespace("default", patch=True), model("default")], [model("default")], "namespace default"),
        (
            [namespace(), model()],
            [namespace(labels={"pod-security.kubernetes.io/enforce": "baseline"}), model()],
            "enforce: restricted",
        ),
    ],
    "model-namespace-default-deny": [
        ([RUNTIME_WITH_LABELS, DENY, model()], [RUNTIME_WITH_LABELS, model()], "denies ingress"),
        (
            [RUNTIME_WITH_LABELS, DENY, model()],
            [RUNTIME_WITH_LABELS, network_policy(DENY.props["spec"], ns="other"), model()],
            "denies ingress",
        ),
        (
            [
                RUNTIME_WITH_LABELS,
                DENY,
                network_policy({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}, "same"),
                model(),
            ],
            [
                RUNTIME_WITH_LABELS,
                DENY,
                network_policy({"podSelector": {}, "ingress": [{"ports": [{"port": 8080}]}]}, "open"),
                model(),
            ],
            "admits every source",
        ),
        (
            [RUNTIME_WITH_LABELS, DENY, model()],
            [
                RUNTIME_WITH_LABELS,
                DENY,
                network_policy({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}, "all-ns"),
                model(),
            ],
            "admits every source",
        ),
    ],
    "isvc-pdb-in-production": [
        ([cluster(production=True), budget(), model()], [cluster(production=True), model()], "PodDisruptionBudget"),
        (
            [cluster(production=False), model()],
            [cluster(production=True), budget(ns="other"), model()],
            "PodDisruptionBudget",
        ),
        (
            [cluster(production=True), budget(), model()],
            [
                cluster(production=True),
                budget(selector={**PREDICTOR, "serving.kserve.io/inferenceservice": "n"}),
                model(),
            ],
            "PodDisruptionBudget",
        ),
    ],
    "isvc-zone-spread-in-production": [
        (
            [cluster(production=True), model()],
            [cluster(production=True), model(topologySpreadConstraints=None)],
            "zones",
        ),
        (
            [cluster(production=False), model(topologySpreadConstraints=None)],
            [
                cluster(production=True),
                model(topologySpreadConstraints=[{**ZONE_SPREAD, "topologyKey": "kubernetes.io/hostname"}]),
            ],
            "zones",
        ),
    ],
    "control-plane-ha-in-production": [
        ([cluster(production=True), *HA], [cluster(production=True), *HA[1:]], "at least 2 replicas"),
        (
            [cluster(production=True), *HA],
            [cluster(production=True), controller_replicas(1), *HA[1:]],
            "KServe's controller",
        ),
        ([cluster(production=True), *HA], [cluster(production=True), HA[0], HA[2]], "no PodDisruptionBudget"),
        (
            [cluster(production=True), *HA],
            [cluster(production=True), *HA[:2], cert_manager(replicas=1)],
            "webhook must run",
        ),
        (
            [cluster(production=False)],
            [cluster(production=True), *HA[:2], cert_manager(budget_on=False)],
            "webhook needs",
        ),
    ],
    "no-oci-storage-uri": [
        ([model(), model(storage_uri="hf://org/m")], [model(storage_uri="oci://us-docker.pkg.dev/p/r/m:1")], "oci://")
    ],
}


def test_every_policy_has_cases():
    assert set(CASES) == set(BY_NAME)


@pytest.mark.parametrize(
    ("policy", "case"), [(p, i) for p, cases in CASES.items() for i in range(len(cases))], ids=lambda v: str(v)
)
def test_policy_passes_the_good_and_reports_the_bad(policy, case):
    good, bad, phrase = CASES[policy][case]
    assert violations(policy, good) == []
    found = violations(policy, bad)
    assert found and any(phrase in message for message in found), found


def test_gpu_pool_bound_can_be_configured():
    pool = gpu_pool()
    assert violations("gpu-pool-bounded", [pool], {"maxGpuNodes": 2}) == [
        "a GPU pool of up to 4 nodes exceeds the allowed 2 (policy config maxGpuNodes)"
    ]


def test_enforcement_levels():
    advisory = {p.name for p in POLICIES if p.enforcement_level == EnforcementLevel.ADVISORY}
    assert advisory == {"kserve-crds-protected"}


# --- the real program ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_the_program_passes_every_mandatory_policy(stack):
    found = all_violations(program_resources(stack))
    mandatory = {name: v for name, v in found.items() if BY_NAME[name].enforcement_level == EnforcementLevel.MANDATORY}
    assert mandatory == {}


def test_dev_only_warns_that_its_crds_are_unprotected():
    assert set(all_violations(program_resources("dev"))) == {"kserve-crds-protected"}


def test_prod_passes_every_policy_including_advisory_ones():
    assert all_violations(program_resources("prod")) == {}


def test_a_production_stack_made_unsafe_is_caught():
    def unsafe(config):
        # Bypasses the config's own production checks to prove the policies catch what they cover.
        config["kserve-triton:production"] = False
        config["kserve-triton:gpuNodePool"]["spot"] = True
        config["kserve-triton:cluster"]["protect"] = False

    resources = program_resources("prod", unsafe)
    for r in resources:
        if r.resource_type == CLUSTER:
            r.props["resourceLabels"]["kserve-triton-production"] = "true"
    found = all_violations(resources)
    assert "spot-only-outside-production" in found
    assert any("must be protected" in m for m in found["production-is-protected"])
    # Built as a non-production stack: one replica of KServe's controller and of cert-manager's webhook.
    assert found["control-plane-ha-in-production"] == [
        "production: KServe's controller (kserve-controller-manager) must run at least 2 replicas",
        "production: no PodDisruptionBudget protects KServe's controller (kserve-controller-manager)",
        "production: cert-manager's webhook must run at least 2 replicas (webhook.replicaCount)",
        "production: cert-manager's webhook needs its PodDisruptionBudget (webhook.podDisruptionBudget)",
    ]
    # ...and spot with the on-demand grace it was built with: the spot grace is derived from the pool, so it fits.
    assert "spot-grace-fits-notice" not in found
    # ...and public nodes: private nodes follow `production` unless set.
    assert "production-private-nodes" in found


def test_stripping_the_program_of_its_hardening_is_caught():
    """The program's own objects, less what each policy checks for, fail that policy."""
    resources = program_resources("prod")
    kinds = {r.resource_type for r in resources}
    assert {NAMESPACE, NETWORK_POLICY, PDB, DEPLOYMENT_PATCH} <= kinds

    def without(*types):
        return [r for r in resources if r.resource_type not in types]

    def unlabelled():
        found = copy.deepcopy(resources)
        for r in found:
            if r.resource_type == NAMESPACE:
                r.props["metadata"]["labels"] = {}
        return found

    def bare_predictors():
        found = copy.deepcopy(resources)
        for r in found:
            if r.resource_type == ISVC:
                r.props["spec"]["predictor"].pop("topologySpreadConstraints")
        return found

    assert set(all_violations(without(NETWORK_POLICY))) >= {"model-namespace-default-deny"}
    assert "isvc-pdb-in-production" in all_violations(
        [r for r in resources if not (r.resource_type == PDB and r.props["metadata"]["namespace"] == "models")]
    )
    assert "control-plane-ha-in-production" in all_violations(without(DEPLOYMENT_PATCH))
    assert "model-namespace-psa-restricted" in all_violations(unlabelled())
    assert "isvc-zone-spread-in-production" in all_violations(bare_predictors())


def test_a_dev_stack_on_spot_with_the_on_demand_grace_is_caught():
    resources = copy.deepcopy(program_resources("dev"))
    for r in resources:
        if r.resource_type == ISVC:
            r.props["spec"]["predictor"]["terminationGracePeriodSeconds"] = 45
    assert "at most 15" in all_violations(resources)["spot-grace-fits-notice"][0]
