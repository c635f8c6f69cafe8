"""The model namespaces' NetworkPolicies as data: every policy each stack declares, evaluated
(tests/upstream/network_policy.py) against a table of connections to a Triton predictor — who may reach which
port, and who may not."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from components.inference_services import predictor_labels
from components.model_namespace import GOOGLE_FRONT_ENDS, METRICS_SCRAPER_LABEL, MODEL_CLIENT_LABEL
from kserve_triton.offline import OfflineRun
from tests.support.schemas import builtin_errors
from tests.support.stacks import PROJECT_OVERRIDE, ROOT, deployable_config
from tests.upstream.network_policy import Pod, Source, admitted, selects

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
HTTP, GRPC, METRICS = 8080, 9000, 8002


def _with_ingress(stack: str, class_name: str):
    def mutate(config):
        config["kserve-triton:kserve"] = {**config["kserve-triton:kserve"], "ingress": {"className": class_name}}

    return stack, mutate


SCENARIOS = {
    "dev": ("dev", None),
    "prod": ("prod", None),
    "local": ("local", None),
    "embedded": ("embedded", None),
    "shared-gpu": ("shared-gpu", None),
    "dev-gce-ingress": _with_ingress("dev", "gce"),
    "dev-nginx-ingress": _with_ingress("dev", "nginx"),
    # The capacity models' configs (tests/support/capacity_models.py), by name.
    "autopilot": ("AUTOPILOT", None),
    "existing-gke": ("EXISTING_GPU_NODES", None),
}


@functools.cache
def declared(scenario: str) -> tuple[list[dict[str, Any]], list[Pod]]:
    """(every NetworkPolicy, every predictor pod as KServe labels it) of a scenario."""
    stack, mutate = SCENARIOS[scenario]
    if stack.isupper():
        from tests.support import capacity_models

        config = copy.deepcopy(getattr(capacity_models, stack))
    else:
        config = copy.deepcopy(deployable_config(ROOT / f"Pulumi.{stack}.yaml"))
    if mutate:
        mutate(config)
    run = OfflineRun(stack)
    run.configure(config)
    run.run_main(reuse=True)
    runtimes = {n.inputs["metadata"]["name"]: n.inputs["spec"] for n in run.monitor.of_type(CSR)}
    pods = []
    for node in run.monitor.of_type(ISVC):
        metadata, predictor = node.inputs["metadata"], node.inputs["spec"]["predictor"]
        # KServe's predictor labels: the runtime's, the InferenceService's, the predictor's, then its own two.
        labels = {
            **(runtimes[predictor["model"]["runtime"]].get("labels") or {}),
            **(metadata.get("labels") or {}),
            **(predictor.get("labels") or {}),
            **predictor_labels(metadata["name"]),
        }
        pods.append(Pod(metadata["namespace"], labels))
    policies = [n.inputs for n in run.monitor.of_type(NETWORK_POLICY)]
    assert pods and policies
    return policies, pods


def pod_in(namespace: str, labels=None, namespace_labels=None) -> Source:
    return Source.of_pod(namespace, labels, namespace_labels)


CLIENT_NS = {MODEL_CLIENT_LABEL: "true"}
COLLECTOR = {"app.kubernetes.io/name": "collector"}

# (what, source, port, admitted on: the scenarios where it must be let in; everywhere else it must be refused)
ALL = set(SCENARIOS)
GKE = ALL - {"local", "embedded"}
SCRAPER_NS = {METRICS_SCRAPER_LABEL: "true"}
FLOWS: list[tuple[str, Any, int, set[str]]] = [
    ("a pod of the same namespace, http", lambda ns: pod_in(ns), HTTP, ALL),
    ("a pod of the same namespace, metrics", lambda ns: pod_in(ns), METRICS, ALL),
    ("a pod of an unlabelled namespace, http", lambda ns: pod_in("team-x"), HTTP, set()),
    ("a pod of an unlabelled namespace, grpc", lambda ns: pod_in("team-x"), GRPC, set()),
    ("a pod of a model-client namespace, http", lambda ns: pod_in("app", namespace_labels=CLIENT_NS), HTTP, ALL),
    ("a pod of a model-client namespace, grpc", lambda ns: pod_in("app", namespace_labels=CLIENT_NS), GRPC, ALL),
    (
        "a pod of a model-client namespace, metrics",
        lambda ns: pod_in("app", namespace_labels=CLIENT_NS),
        METRICS,
        set(),
    ),
    ("a model-client label on a pod, not its namespace", lambda ns: pod_in("app", CLIENT_NS), HTTP, set()),
    (
        "a model-client namespace labelled 'yes'",
        lambda ns: pod_in("a", namespace_labels={MODEL_CLIENT_LABEL: "yes"}),
        HTTP,
        set(),
    ),
    ("GMP's collector, metrics", lambda ns: pod_in("gmp-system", COLLECTOR), METRICS, GKE),
    # With a Prometheus of your own (kserve.prometheusUrl): its namespace, once labelled, on the metrics port only.
    (
        "a pod of a metrics-scraper namespace, metrics",
        lambda ns: pod_in("mon", namespace_labels=SCRAPER_NS),
        METRICS,
        {"embedded"},
    ),
    ("a pod of a metrics-scraper namespace, http", lambda ns: pod_in("mon", namespace_labels=SCRAPER_NS), HTTP, set()),
    ("GMP's collector, http", lambda ns: pod_in("gmp-system", COLLECTOR), HTTP, set()),
    ("another pod of gmp-system, metrics", lambda ns: pod_in("gmp-system", {"app": "rule-evaluator"}), METRICS, set()),
    ("a pod labelled like the collector elsewhere, metrics", lambda ns: pod_in("team-x", COLLECTOR), METRICS, set()),
    (
        "the KServe controller, http",
        lambda ns: pod_in("kserve", {"control-plane": "kserve-controller-manager"}),
        HTTP,
        set(),
    ),
    ("KEDA's operator, http", lambda ns: pod_in("keda", {"app": "keda-operator"}), HTTP, set()),
    ("a Google front end, http", lambda ns: Source.of_ip("35.191.10.20"), HTTP, {"dev-gce-ingress"}),
    ("a Google health checker, http", lambda ns: Source.of_ip("130.211.1.2"), HTTP, {"dev-gce-ingress"}),
    ("a Google front end, grpc", lambda ns: Source.of_ip("35.191.10.20"), GRPC, set()),
    ("an address on the internet, http", lambda ns: Source.of_ip("203.0.113.7"), HTTP, set()),
    ("an address in the VPC, http", lambda ns: Source.of_ip("10.0.0.5"), HTTP, set()),
    ("the pod's node (kubelet probes, port-forward), http", lambda ns: Source(node=True), HTTP, ALL),
    ("the pod's node (kubelet probes, port-forward), metrics", lambda ns: Source(node=True), METRICS, ALL),
]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize(("what", "source", "port", "admitted_in"), FLOWS, ids=[f[0] for f in FLOWS])
def test_who_reaches_a_predictor(scenario, what, source, port, admitted_in):
    policies, pods = declared(scenario)
    for pod in pods:
        expected = scenario in admitted_in
        assert admitted(policies, pod, port, source(pod.namespace)) is expected, (
            f"{scenario}: {what} -> {pod.namespace} predictor :{port} should be {'admitted' if expected else 'refused'}"
        )


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_policy_selects_exactly_the_predictors(scenario):
    """Other pods of a model namespace (e.g. yours in `default`) are left as they were."""
    policies, pods = declared(scenario)
    for policy in policies:
        selector = policy["spec"]["podSelector"]
        assert all(selects(selector, pod.labels) for pod in pods if pod.namespace == policy["metadata"]["namespace"])
        assert not selects(selector, {"app": "something-else"}), policy["metadata"]["name"]
        other = Pod(policy["metadata"]["namespace"], {"app": "something-else"})
        assert admitted(policies, other, HTTP, pod_in("team-x"))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_network_policy_is_a_valid_kubernetes_object(scenario):
    policies, _ = declared(scenario)
    for policy in policies:
        assert builtin_errors(policy) == [], policy["metadata"]["name"]


def test_the_load_balancer_ranges_are_googles():
    policies, _ = declared("dev-gce-ingress")
    (balancer,) = [p for p in policies if p["metadata"]["name"] == "predictors-allow-load-balancer"]
    assert [peer["ipBlock"]["cidr"] for peer in balancer["spec"]["ingress"][0]["from"]] == GOOGLE_FRONT_ENDS
    assert not any(p["metadata"]["name"] == "predictors-allow-load-balancer" for p in declared("dev-nginx-ingress")[0])


def test_without_the_default_deny_the_predictors_would_be_open_and_each_allow_matters():
    """The evaluator against the program's own policies: drop the isolating ones and everything gets in."""
    policies, pods = declared("prod")
    (pod,) = pods
    outsider = pod_in("team-x")
    assert not admitted(policies, pod, HTTP, outsider)
    assert admitted([], pod, HTTP, outsider), "no policy: not isolated"
    without_same_namespace = [p for p in policies if p["metadata"]["name"] != "predictors-allow-same-namespace"]
    assert not admitted(without_same_namespace, pod, HTTP, pod_in(pod.namespace))
    without_scrape = [p for p in policies if p["metadata"]["name"] != "predictors-allow-gmp-scrape"]
    assert not admitted(without_scrape, pod, METRICS, pod_in("gmp-system", COLLECTOR))


def test_the_evaluator_follows_the_documented_semantics():
    """Peers: podSelector alone is the policy's namespace; namespaceSelector and podSelector together are ANDed;
    two peers are ORed; ipBlock excepts; endPort ranges; policyTypes default to Ingress."""
    dest = Pod("m", {"app": "x"})

    def policy(spec):
        return {"metadata": {"name": "p", "namespace": "m"}, "spec": spec}

    same_ns_only = policy({"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "c"}}}]}]})
    assert admitted([same_ns_only], dest, 1, pod_in("m", {"role": "c"}))
    assert not admitted([same_ns_only], dest, 1, pod_in("other", {"role": "c"}))
    anded = policy(
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"t": "1"}},
                            "podSelector": {"matchLabels": {"role": "c"}},
                        }
                    ]
                }
            ],
        }
    )
    assert admitted([anded], dest, 1, pod_in("o", {"role": "c"}, {"t": "1"}))
    assert not admitted([anded], dest, 1, pod_in("o", {"role": "d"}, {"t": "1"}))
    ored = policy(
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"t": "1"}}},
                        {"podSelector": {"matchLabels": {"role": "c"}}},
                    ]
                }
            ],
        }
    )
    assert admitted([ored], dest, 1, pod_in("o", {"role": "d"}, {"t": "1"}))
    blocked = policy(
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}]}
    )
    assert admitted([blocked], dest, 1, Source.of_ip("10.2.0.1"))
    assert not admitted([blocked], dest, 1, Source.of_ip("10.1.0.1"))
    ranged = policy({"podSelector": {}, "ingress": [{"ports": [{"port": 8000, "endPort": 8100}]}]})
    assert admitted([ranged], dest, 8080, pod_in("o")) and not admitted([ranged], dest, 9000, pod_in("o"))
    egress_only = policy({"podSelector": {}, "policyTypes": ["Egress"]})
    assert admitted([egress_only], dest, 1, pod_in("o")), "an Egress-only policy does not isolate ingress"
    expressions = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["x", "y"]}]}
    assert selects(expressions, {"app": "y"}) and not selects(expressions, {"app": "z"})


def test_the_scenarios_cover_every_stack():
    files = {p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml")}
    assert {stack for stack, _ in SCENARIOS.values() if not stack.isupper()} == files
    assert PROJECT_OVERRIDE  # GKE stacks are given a project, as a user does
