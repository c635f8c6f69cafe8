"""A cluster this program does not create (kind, minikube, or any cluster): reached by kubeconfig context."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class ExistingClusterArgs:
    context: str
    """The kubeconfig context to use, from $KUBECONFIG or ~/.kube/config."""


class ExistingCluster(pulumi.ComponentResource):
    """The Kubernetes provider for an existing cluster; it has no system pool to select."""

    provider: k8s.Provider
    system_node_selector: dict[str, str] | None = None
    workload_pool_owner: list[pulumi.Resource] = []

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:k8s:ExistingCluster", name, None, opts)
        self.provider = k8s.Provider(f"{name}-k8s", context=args.context, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"context": args.context})
