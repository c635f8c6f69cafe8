"""What every model namespace gets besides its InferenceServices: Pod Security Admission at `restricted`, and
NetworkPolicies that let only named sources reach the Triton predictors.

**Pod Security Admission** (Kubernetes docs, "Pod Security Admission" and "Enforce Pod Security Standards with
namespace labels"): `enforce` refuses a pod that breaks the `restricted` profile, pinned to the Kubernetes minor the
objects here are validated against (tests/schemas.py), so a cluster upgrade that tightens the profile cannot start
refusing predictor pods by itself; `warn` and `audit` follow `latest`, so such a change shows up first as warnings
and audit annotations. The predictor pod KServe builds meets the profile (tests/test_pod_security.py builds it).
Namespaces the program creates carry the labels; `default`, which it never creates, gets them from a
NamespacePatch (server-side apply), which takes them away again when it is removed.

**NetworkPolicies** (enforced by GKE's Dataplane V2; on another cluster only if its network plugin enforces them).
Ingress to the predictors is denied unless a policy admits it:

- pods of the same namespace, on every port;
- pods of namespaces labelled `kserve-triton/model-client: "true"` (your clients, an in-cluster Ingress controller),
  on the http and grpc ports;
- on GKE, Managed Prometheus' collectors (namespace `gmp-system`, pods `app.kubernetes.io/name: collector`,
  GoogleCloudPlatform/prometheus-engine manifests/operator.yaml v0.17.2) on the metrics port;
- with a Prometheus of your own (`kserve.prometheusUrl`), pods of namespaces labelled
  `kserve-triton/metrics-scraper: "true"` on the metrics port;
- with the `gce` Ingress class, Google's front ends and health checkers (35.191.0.0/16, 130.211.0.0/22: GKE docs,
  "Container-native load balancing" and VPC firewall rules for health checks) on the http port.

The kubelet's probes and `kubectl port-forward` are not subject to them: NetworkPolicy cannot block a pod's own node
(Kubernetes docs, "Network Policies": what you can't do). Egress is left open: the storage initializer fetches
gs://, s3://, https:// and hf:// URIs from hosts a NetworkPolicy cannot name (it has no DNS names), and Workload
Identity needs the GKE metadata server.
"""

from __future__ import annotations

from typing import Any

from components.triton_runtime import GRPC_PORT, HTTP_PORT, METRICS_PORT, RUNTIME_LABELS

PSA_ENFORCE_VERSION = "v1.35"
"""The Kubernetes minor whose `restricted` profile is enforced: the version the objects are validated against."""
PSA_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": PSA_ENFORCE_VERSION,
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/audit-version": "latest",
}

MODEL_CLIENT_LABEL = "kserve-triton/model-client"
"""Label a namespace with this, "true", to let its pods call the models (http and grpc ports)."""
GMP_NAMESPACE = "gmp-system"
GMP_COLLECTOR_LABELS = {"app.kubernetes.io/name": "collector"}
GOOGLE_FRONT_ENDS = ["35.191.0.0/16", "130.211.0.0/22"]
"""Where Google's external Application Load Balancers and their health checks reach backends from."""
GCE_INGRESS_CLASS = "gce"

# The NetworkPolicies of a model namespace, by name; each selects the Triton predictors only (the runtime labels
# every predictor pod), so other pods of the namespace, e.g. in `default`, are left as they were.
DEFAULT_DENY = "predictors-default-deny-ingress"
SAME_NAMESPACE = "predictors-allow-same-namespace"
MODEL_CLIENTS = "predictors-allow-model-clients"
METRICS_SCRAPE = "predictors-allow-gmp-scrape"
OWN_SCRAPE = "predictors-allow-metrics-scrapers"
METRICS_SCRAPER_LABEL = "kserve-triton/metrics-scraper"
"""Label the namespace of your own Prometheus with this, "true", to let it scrape the predictors' metrics port."""
LOAD_BALANCER = "predictors-allow-load-balancer"


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def network_policies(
    *, gmp_scrape: bool, load_balancer_ranges: list[str], own_scrape: bool = False
) -> dict[str, dict[str, Any]]:
    """name -> spec of every NetworkPolicy of a model namespace."""
    predictors = {"matchLabels": dict(RUNTIME_LABELS)}
    policies: dict[str, dict[str, Any]] = {
        # Selecting the predictors for Ingress with no rule isolates them: what the others admit is all that gets in.
        DEFAULT_DENY: {"podSelector": predictors, "policyTypes": ["Ingress"]},
        SAME_NAMESPACE: {
            "podSelector": predictors,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
        },
        MODEL_CLIENTS: {
            "podSelector": predictors,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {MODEL_CLIENT_LABEL: "true"}}}],
                    "ports": _tcp(HTTP_PORT, GRPC_PORT),
                }
            ],
        },
    }
    if gmp_scrape:
        policies[METRICS_SCRAPE] = {
            "podSelector": predictors,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": GMP_NAMESPACE}},
                            "podSelector": {"matchLabels": dict(GMP_COLLECTOR_LABELS)},
                        }
                    ],
                    "ports": _tcp(METRICS_PORT),
                }
            ],
        }
    if own_scrape:
        policies[OWN_SCRAPE] = {
            "podSelector": predictors,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {METRICS_SCRAPER_LABEL: "true"}}}],
                    "ports": _tcp(METRICS_PORT),
                }
            ],
        }
    if load_balancer_ranges:
        policies[LOAD_BALANCER] = {
            "podSelector": predictors,
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"ipBlock": {"cidr": cidr}} for cidr in load_balancer_ranges], "ports": _tcp(HTTP_PORT)}
            ],
        }
    return policies


def load_balancer_ranges(ingress_class: str | None) -> list[str]:
    """Source ranges of the load balancer behind KServe's Ingresses that the program knows: Google's front ends for
    the `gce` class. Any other controller runs in the cluster: label its namespace MODEL_CLIENT_LABEL."""
    return list(GOOGLE_FRONT_ENDS) if ingress_class == GCE_INGRESS_CLASS else []
