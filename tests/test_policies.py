"""The policy pack, without the CLI: each policy against good and bad resources built the way the engine
would, and against everything the real program registers for the dev and prod stacks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kserve_triton_policies import POLICIES
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from conftest import ROOT, deployable_config
from kserve_triton.offline import OfflineRun, unwrap_secret

BY_NAME = {p.name: p for p in POLICIES}
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
RELEASE = "kubernetes:helm.sh/v3:Release"


def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource(type_: str, props: dict[str, Any], name: str = "r", protect: bool = False) -> PolicyResource:
    return PolicyResource(
        type_, props, f"urn:pulumi:s::p::{type_}::{name}", name, _options(protect), None, None, [], {}
    )


def violations(policy_name: str, resources: list[PolicyResource], config: dict | None = None) -> list[str]:
    policy = BY_NAME[policy_name]
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        for r in resources:
            args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None, config or {})
            policy.validate(args, report)
    else:
        policy.validate(StackValidationArgs(resources, config or {}), report)
    return found


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


def program_resources(stack: str, mutate=None) -> list[PolicyResource]:
    """What the program registers for a stack, as the engine hands resources to an analyzer."""
    config = copy.deepcopy(deployable_config(ROOT / f"Pulumi.{stack}.yaml"))
    if mutate:
        mutate(config)
    run = OfflineRun(stack)
    run.configure(config)
    run.run_main()
    return monitor_resources(run.monitor)


def monitor_resources(monitor) -> list[PolicyResource]:
    """Every resource a run registered, as the engine hands resources to an analyzer."""
    nodes = [n for n in monitor.nodes.values() if n.custom and not n.type.startswith("pulumi:providers:")]
    made = {
        n.urn: PolicyResource(
            n.type,
            unwrap_secret(n.inputs),
            n.urn,
            n.name,
            PolicyResourceOptions(
                bool(n.protect),
                n.ignore_changes,
                n.delete_before_replace,
                n.aliases,
                PolicyCustomTimeouts(0, 0, 0),
                [],
                n.parent or None,
            ),
            None,
            None,
            [],
            {},
        )
        for n in nodes
    }
    for node in nodes:
        made[node.urn].dependencies = [made[u] for u in node.dependencies if u in made]
    return list(made.values())


def all_violations(resources: list[PolicyResource]) -> dict[str, list[str]]:
    return {p.name: found for p in POLICIES if (found := violations(p.name, resources))}


def violations_of_program(monitor, mandatory_only: bool = False) -> list[str]:
    """`policy: message` for every violation of what a run registered (mandatory policies only if asked)."""
    found = all_violations(monitor_resources(monitor))
    return [
        f"{name}: {message}"
        for name, messages in found.items()
        if not mandatory_only or BY_NAME[name].enforcement_level == EnforcementLevel.MANDATORY
        for message in messages
    ]


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
