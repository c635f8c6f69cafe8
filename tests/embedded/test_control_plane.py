"""The embedded control plane (embedded/control_plane.py): a real kube-apiserver, controller-manager and
scheduler on loopback, with kwok's fake nodes, behaves as a cluster the platform can be deployed to.

Needs the built parts `kubernetes`, `etcd` and `kwok` (`python3 -m embedded.parts build kubernetes etcd kwok`);
skipped, with that command as the reason, when they are not built. The session's one control plane (the
`control_plane` fixture of tests/conftest.py) serves them all."""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from embedded import control_plane as cp

ROOT = Path(__file__).resolve().parents[2]


UNAVAILABLE = cp.unavailable()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")]


@pytest.fixture(scope="module")
def cluster(control_plane):
    """The session's control plane (tests/conftest.py)."""
    return control_plane


def _wait(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def _namespace(cluster) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def _deployment(name: str, replicas: int, **pod_spec) -> dict:
    labels = {"app": name}
    container = {"name": "main", "image": "registry.invalid/never-pulled:1", "ports": [{"containerPort": 8080}]}
    container.update(pod_spec.pop("container", {}))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container], **pod_spec}},
        },
    }


def _pods(cluster, namespace: str, app: str) -> list[dict]:
    return cluster.api("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3D{app}")["items"]


def _ready(pod: dict) -> bool:
    return pod["status"].get("phase") == "Running" and cp._condition(pod, "Ready") == "True"


def test_version_is_stamped(cluster):
    assert cluster.api("GET", "/version")["gitVersion"] == "v1.35.4"
    binary = json.loads((cluster.dir / "cluster.json").read_text())["binaries"]["kube-apiserver"]
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "Kubernetes v1.35.4"


def test_every_component_listens_on_loopback_only(cluster):
    pids = {str(c["pid"]) for c in cluster.status()["components"].values()}
    listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = [line for line in listening if any(f"pid={pid}," in line for pid in pids)]
    assert ours, listening
    for line in ours:
        local = line.split()[3]
        host = local.rsplit(":", 1)[0].strip("[]")
        assert ipaddress.ip_address(host).is_loopback, line


def test_fake_nodes_are_ready_with_gke_labels_taints_and_capacity(cluster):
    nodes = {n["metadata"]["name"]: n for n in cluster.api("GET", "/api/v1/nodes")["items"]}
    assert {cp.SYSTEM_NODE.name, cp.GPU_NODE.name} <= set(nodes)
    for node in nodes.values():
        assert cp._condition(node, "Ready") == "True"
    gpu = nodes[cp.GPU_NODE.name]
    assert gpu["metadata"]["labels"]["cloud.google.com/gke-accelerator"] == "nvidia-l4"
    assert gpu["metadata"]["labels"]["cloud.google.com/gke-nodepool"] == "gpu-l4"
    assert gpu["status"]["capacity"]["nvidia.com/gpu"] == "1"
    assert gpu["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in gpu["spec"]["taints"]
    system = nodes[cp.SYSTEM_NODE.name]
    assert system["metadata"]["labels"]["cloud.google.com/gke-nodepool"] == "system"
    assert system["status"]["capacity"]["cpu"] == "4"
    # The node lifecycle controller lifts node.kubernetes.io/not-ready a moment after the node turns Ready.
    _wait(
        lambda: not cluster.api("GET", f"/api/v1/nodes/{cp.SYSTEM_NODE.name}")["spec"].get("taints"),
        "the system node untainted",
        timeout=60,
    )


def test_a_new_namespace_gets_its_default_service_account(cluster):
    namespace = _namespace(cluster)
    _wait(lambda: cluster.api("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default"), "default SA", 30)


def test_deployments_are_scheduled_by_taints_and_run_ready(cluster):
    namespace = _namespace(cluster)
    base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    cluster.api("POST", base, _deployment("web", 2))
    gpu = _deployment(
        "triton",
        1,
        nodeSelector={"cloud.google.com/gke-accelerator": "nvidia-l4"},
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        container={"resources": {"limits": {"nvidia.com/gpu": "1"}}},
    )
    cluster.api("POST", base, gpu)
    for name, replicas in (("web", 2), ("triton", 1)):
        _wait(
            lambda name=name, replicas=replicas: (cluster.api("GET", f"{base}/{name}")["status"].get("readyReplicas")
                                                  == replicas),
            f"deployment {name} ready",
        )  # fmt: skip
    pod_cidr = ipaddress.ip_network(cp.POD_CIDR)
    web = _pods(cluster, namespace, "web")
    assert len(web) == 2
    for pod in web:
        assert _ready(pod)
        assert pod["spec"]["nodeName"] == cp.SYSTEM_NODE.name  # untolerated GPU taint keeps them off the GPU node
        assert ipaddress.ip_address(pod["status"]["podIP"]) in pod_cidr
    (triton,) = _pods(cluster, namespace, "triton")
    assert _ready(triton) and triton["spec"]["nodeName"] == cp.GPU_NODE.name

    # A second GPU pod does not fit: the node's one nvidia.com/gpu is taken.
    cluster.api("PATCH", f"{base}/triton", {"spec": {"replicas": 2}}, "application/merge-patch+json")

    def unschedulable():
        pending = [p for p in _pods(cluster, namespace, "triton") if p["status"].get("phase") == "Pending"]
        return pending and cp._condition(pending[0], "PodScheduled") == "False"

    _wait(unschedulable, "the second GPU pod reported unschedulable", 30)

    # A second GPU node (as a node pool scaling up would add) takes it.
    second = cp.FakeNode(
        "gke-gpu-l4-pool-1",
        labels={**cp.GPU_NODE.labels},
        taints=cp.GPU_NODE.taints,
        capacity={**cp.GPU_NODE.capacity},
    )
    cluster.add_node(second)
    cluster.wait_nodes_ready([second.name])
    _wait(
        lambda: (
            {p["spec"].get("nodeName") for p in _pods(cluster, namespace, "triton") if _ready(p)}
            == {cp.GPU_NODE.name, second.name}
        ),
        "the second GPU pod running on the new node",
    )


def test_service_endpoint_slices_list_the_ready_pod_ips(cluster):
    namespace = _namespace(cluster)
    cluster.api("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", _deployment("api", 2))
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "api"},
        "spec": {"selector": {"app": "api"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }
    created = cluster.api("POST", f"/api/v1/namespaces/{namespace}/services", service)
    assert ipaddress.ip_address(created["spec"]["clusterIP"]) in ipaddress.ip_network(cp.SERVICE_CIDR)

    def addresses():
        slices = cluster.api(
            "GET", f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices?labelSelector="
            "kubernetes.io%2Fservice-name%3Dapi"
        )["items"]  # fmt: skip
        found = {a for s in slices for e in s.get("endpoints") or [] if e["conditions"].get("ready")
                 for a in e["addresses"]}  # fmt: skip
        return found if len(found) == 2 else None

    found = _wait(addresses, "two ready endpoints")
    assert found == {p["status"]["podIP"] for p in _pods(cluster, namespace, "api")}


def test_pod_deletion_finishes(cluster):
    namespace = _namespace(cluster)
    cluster.api("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", _deployment("gone", 1))
    pod = _wait(lambda: [p for p in _pods(cluster, namespace, "gone") if _ready(p)], "pod ready")[0]
    name = pod["metadata"]["name"]
    cluster.api("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}", {"kind": "DeleteOptions",
                "apiVersion": "v1", "gracePeriodSeconds": 30})  # fmt: skip
    _wait(lambda: cluster.api("GET", f"/api/v1/namespaces/{namespace}/pods/{name}") is None, "pod gone", 20)
    # The ReplicaSet replaces it, and the replacement runs.
    _wait(lambda: [p for p in _pods(cluster, namespace, "gone") if _ready(p) and p["metadata"]["name"] != name],
          "replacement ready")  # fmt: skip


def test_a_job_completes(cluster):
    namespace = _namespace(cluster)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "registry.invalid/never-pulled:1"}],
                }
            }
        },
    }
    cluster.api("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)
    _wait(lambda: cp._condition(cluster.api("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/once"), "Complete")
          == "True", "job complete")  # fmt: skip


def _kubectl() -> str | None:
    explicit = os.environ.get("KUBECTL")
    candidates = [explicit] if explicit else [str(ROOT / "tools" / "bin" / "kubectl"), shutil.which("kubectl")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def test_kubectl_lists_nodes_and_pods_with_the_admin_kubeconfig(cluster):
    kubectl = _kubectl()
    if kubectl is None:
        pytest.skip("no kubectl: run scripts/install-helm (tools/bin/kubectl) or set KUBECTL")
    env = cp.component_env({"KUBECONFIG": str(cluster.kubeconfig)})
    nodes = subprocess.run([kubectl, "get", "nodes", "-o", "json"], env=env, capture_output=True, text=True)
    assert nodes.returncode == 0, nodes.stderr
    assert {cp.SYSTEM_NODE.name, cp.GPU_NODE.name} <= {n["metadata"]["name"] for n in json.loads(nodes.stdout)["items"]}
    pods = subprocess.run([kubectl, "get", "pods", "-A", "-o", "wide"], env=env, capture_output=True, text=True)
    assert pods.returncode == 0, pods.stderr
    assert "Running" in pods.stdout


def test_apiserver_starts_with_the_egress_selector_and_dials_through_its_socket(cluster):
    """A Service-backed APIService's dial goes to the egress socket (nobody listens there, so it fails at once
    and the failure names the socket), never to the Service's ClusterIP."""
    config = json.loads((cluster.dir / "egress-selector.yaml").read_text())
    assert config["egressSelections"][0]["name"] == "cluster"
    socket_path = config["egressSelections"][0]["connection"]["transport"]["uds"]["udsName"]
    assert socket_path == str(cluster.egress_socket)
    namespace = _namespace(cluster)
    cluster.api("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", _deployment("metrics", 1))
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "metrics"},
        "spec": {"selector": {"app": "metrics"}, "ports": [{"port": 443, "targetPort": 8080}]},
    }
    cluster.api("POST", f"/api/v1/namespaces/{namespace}/services", service)
    api_service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1beta1.probe.example.com"},
        "spec": {
            "group": "probe.example.com",
            "version": "v1beta1",
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
            "insecureSkipTLSVerify": True,
            "service": {"namespace": namespace, "name": "metrics", "port": 443},
        },
    }
    cluster.api("POST", "/apis/apiregistration.k8s.io/v1/apiservices", api_service)
    try:

        def unavailable_message():
            got = cluster.api("GET", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.probe.example.com")
            for condition in got.get("status", {}).get("conditions", []):
                if condition["type"] == "Available" and condition["status"] == "False":
                    return condition.get("message", "")
            return None

        message = _wait(lambda: (m := unavailable_message()) and socket_path in m and m, "a dial failure", 90)
        assert "dial unix" in message, message
    finally:
        cluster.api("DELETE", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.probe.example.com")


def test_front_proxy_settings_are_published_for_aggregated_apis(cluster):
    """What an aggregated API server (KEDA's metrics server) reads to trust the apiserver's proxied requests."""
    data = cluster.api("GET", "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication")["data"]
    assert json.loads(data["requestheader-allowed-names"]) == ["front-proxy-client"]
    assert json.loads(data["requestheader-username-headers"]) == ["X-Remote-User"]
    assert json.loads(data["requestheader-group-headers"]) == ["X-Remote-Group"]
    assert json.loads(data["requestheader-extra-headers-prefix"]) == ["X-Remote-Extra-"]
    assert data["requestheader-client-ca-file"] == (cluster.pki / "front-proxy-ca.crt").read_text()
    assert data["client-ca-file"] == (cluster.pki / "ca.crt").read_text()


def test_service_account_tokens_authenticate_and_rbac_applies(cluster):
    namespace = _namespace(cluster)
    _wait(lambda: cluster.api("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default"), "default SA", 30)
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    token = cluster.api("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/default/token", request)
    bearer = token["status"]["token"]
    context = ssl.create_default_context(cafile=str(cluster.pki / "ca.crt"))
    port = int(cluster.server.rsplit(":", 1)[1])

    def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        try:
            headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
            connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    status, answer = call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review)
    assert status == 201, answer
    assert answer["status"]["userInfo"]["username"] == f"system:serviceaccount:{namespace}:default"
    status, answer = call("GET", "/api/v1/nodes")
    assert status == 403, answer
