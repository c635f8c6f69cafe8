"""Kubernetes NetworkPolicy (networking.k8s.io/v1) ingress semantics, evaluated over declared policies as data.

Written from the Kubernetes docs ("Network Policies") and the API reference of NetworkPolicySpec:

- A pod is isolated for ingress once any policy of its namespace selects it (`podSelector`) with `Ingress` in its
  `policyTypes` (when `policyTypes` is omitted, Ingress is always in it). A pod no policy selects admits everything.
- An isolated pod admits a connection when some policy that selects it has an ingress rule whose `from` admits the
  source (an empty or absent `from`: every source) and whose `ports` admit the port (empty or absent: every port).
  Policies are additive; there is no deny rule.
- A peer with only `podSelector` means pods of the policy's own namespace; only `namespaceSelector`, every pod of the
  namespaces it selects; both, pods matching the first in namespaces matching the second (AND); `ipBlock`, sources
  whose address is in `cidr` and in none of `except`. An empty selector ({}) selects everything.
- Namespaces carry `kubernetes.io/metadata.name: <name>` (set by the API server).
- Traffic from the pod's own node (the kubelet's probes, `kubectl port-forward`) cannot be blocked by a policy.

Not modelled: egress (the program declares no egress policy), SCTP/UDP, named ports (the program uses numbers), and
whether an `ipBlock` matches traffic from pods (implementation-defined; here pod sources never match one).

Mirrors: Kubernetes v1.35 networking.k8s.io/v1 NetworkPolicySpec (API reference) and the "Network Policies" concept
page.
Checked by the real part: none: enforcement is the CNI's (GKE Dataplane V2), which no suite here runs.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """Where a connection comes from: a pod (with its namespace's labels), an address outside the cluster, or the
    destination pod's own node."""

    pod: Pod | None = None
    namespace_labels: dict[str, str] = field(default_factory=dict)
    ip: str | None = None
    node: bool = False

    @classmethod
    def of_pod(cls, namespace: str, labels: dict[str, str] | None = None, namespace_labels=None) -> Source:
        all_labels = {"kubernetes.io/metadata.name": namespace, **(namespace_labels or {})}
        return cls(pod=Pod(namespace, labels or {}), namespace_labels=all_labels)

    @classmethod
    def of_ip(cls, ip: str) -> Source:
        return cls(ip=ip)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels AND matchExpressions); {} selects everything."""
    selector = selector or {}
    if set(selector) - {"matchLabels", "matchExpressions"}:
        raise ValueError(f"not a LabelSelector: {selector}")
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {operator}")
    return True


def _ingress_typed(spec: dict[str, Any]) -> bool:
    return "Ingress" in (spec.get("policyTypes") or ["Ingress"])


def _peer_admits(peer: dict[str, Any], policy_namespace: str, source: Source) -> bool:
    if "ipBlock" in peer:
        if source.ip is None:
            return False
        address = ipaddress.ip_address(source.ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(excluded) for excluded in block.get("except") or []
        )
    if source.pod is None:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], source.namespace_labels):
            return False
    elif source.pod.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], source.pod.labels)


def _port_admits(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry:
            return True
        start = entry["port"]
        if isinstance(start, str):
            raise ValueError(f"named port {start!r}: not modelled")
        # Numbers arrive as floats from the engine (protobuf's Value).
        if int(start) <= port <= int(entry.get("endPort", start)):
            return True
    return False


def admitted(
    policies: list[dict[str, Any]], destination: Pod, port: int, source: Source, protocol: str = "TCP"
) -> bool:
    """Whether `source` may open a connection to `destination` on `port`, under these NetworkPolicy objects."""
    if source.node:
        return True
    selecting = [
        policy
        for policy in policies
        if policy["metadata"]["namespace"] == destination.namespace
        and _ingress_typed(policy["spec"])
        and selects(policy["spec"].get("podSelector"), destination.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            if peers and not any(_peer_admits(p, policy["metadata"]["namespace"], source) for p in peers):
                continue
            if _port_admits(rule.get("ports"), port, protocol):
                return True
    return False
