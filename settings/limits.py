"""Every count against the limits of what it goes to: GKE's nodes per pool and zone, per cluster and Pods per node
(catalog/gke_limits.py), Kubernetes' 32-bit replica counts and quantity range (catalog/kubernetes.py), and the
replicas the GPU pool can hold at its largest.

(The sum of every InferenceService's `minReplicas x gpus` against the pool is checked with the InferenceServices,
settings/inference_services.py; the maximum of each one, here.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from catalog import gcp as gcp_catalog
from catalog import gke_limits
from catalog.kubernetes import INT32_MAX, MAX_QUANTITY
from settings.base import Problem
from settings.gpu_pool import pool_zones

if TYPE_CHECKING:
    from settings.inference_services import InferenceServiceSettings
    from settings.stack import StackSettings


def stack_problems(stack: StackSettings) -> list[Problem]:
    return [
        *node_problems(stack),
        *pod_problems(stack),
        *replica_problems(stack),
        *target_problems(stack),
    ]


def pool_zone_count(stack: StackSettings) -> int:
    """The zones a GPU pool's nodes go to (at most the region's zones when the catalog cannot say which)."""
    zones = pool_zones(stack)
    if zones:
        return len(zones)
    if stack.cluster.is_regional:
        return max(len(gcp_catalog.zones_of(stack.cluster.region)), 1)
    return 1


def node_problems(stack: StackSettings) -> list[Problem]:
    """GKE: at most 1,000 nodes per pool per zone. (Its 15,000 nodes per cluster cannot be reached by this program's
    two pools: a region has at most 4 zones.)"""
    problems = []
    pool = stack.gpu_node_pool
    if pool is not None and stack.on_gke and not stack.cluster.is_autopilot:
        zones = pool_zone_count(stack)
        most = gke_limits.NODES_PER_POOL_ZONE * zones
        if pool.max_nodes > most:
            problems.append(
                Problem(
                    "gpuNodePool.maxNodes",
                    pool.max_nodes,
                    f"GKE puts at most {gke_limits.NODES_PER_POOL_ZONE:,} nodes of a pool in one zone, so {zones} "
                    f"zone(s) hold at most {most:,} ({gke_limits.SOURCE})",
                )
            )
    if stack.manages_cluster and not stack.cluster.is_autopilot:
        system = stack.cluster.system_node_pool
        zones = len(gcp_catalog.zones_of(stack.cluster.region)) if stack.cluster.is_regional else 1
        most = gke_limits.NODES_PER_POOL_ZONE * max(zones, 1)
        if system.max_nodes > most:
            problems.append(
                Problem(
                    "cluster.systemNodePool.maxNodes",
                    system.max_nodes,
                    f"GKE puts at most {gke_limits.NODES_PER_POOL_ZONE:,} nodes of a pool in one zone: at most "
                    f"{most:,} here ({gke_limits.SOURCE})",
                )
            )
    existing = stack.cluster.existing
    if existing is not None and existing.gpu_nodes and existing.gpu_nodes.gpus_per_node > gke_limits.MAX_GPUS_PER_NODE:
        problems.append(
            Problem(
                "cluster.existing.gpuNodes.gpusPerNode",
                existing.gpu_nodes.gpus_per_node,
                f"no GPU node has that many: Compute Engine's largest has {gke_limits.MAX_GPUS_PER_NODE}",
            )
        )
    return problems


def pod_problems(stack: StackSettings) -> list[Problem]:
    """A time-shared GPU node runs a Pod per slot next to GKE's DaemonSets: GKE's Pods-per-node limit bounds them."""
    pool = stack.gpu_node_pool
    if pool is None or pool.sharing is None:
        return []
    daemon_sets = len(gcp_catalog.SYSTEM_PODS)
    room = gke_limits.PODS_PER_NODE - daemon_sets
    slots = pool.gpus_per_node * pool.clients_per_gpu
    if slots <= room:
        return []
    return [
        Problem(
            "gpuNodePool.sharing.clientsPerGpu",
            pool.clients_per_gpu,
            f"{pool.gpus_per_node} GPU(s) x {pool.clients_per_gpu} is {slots} replicas on one node; GKE runs at most "
            f"{gke_limits.PODS_PER_NODE} Pods per node, {daemon_sets} of them its DaemonSets: at most "
            f"{room // pool.gpus_per_node} per GPU ({gke_limits.SOURCE})",
        )
    ]


def replica_problems(stack: StackSettings) -> list[Problem]:
    """Replica counts fit Kubernetes' int32 fields, and a service's maximum fits the GPU pool while the others run
    their minimum (more could never be scheduled)."""
    problems = []
    services = stack.inference_services
    pool = stack.gpu_node_pool
    if pool is not None and sum(isvc.min_replicas * isvc.gpus for isvc in services) > pool.gpu_capacity:
        pool = None  # the minimums already overflow it (settings/inference_services.py says so): one line is enough
    for index, isvc in enumerate(services):
        where = f"inferenceServices[{index}]"
        for setting, value in (("minReplicas", isvc.min_replicas), ("maxReplicas", isvc.max_replicas)):
            if value > INT32_MAX:
                problems.append(
                    Problem(
                        f"{where}.{setting}",
                        value,
                        f"Kubernetes and KServe store replica counts as 32-bit integers: at most {INT32_MAX:,}",
                    )
                )
        if pool is None or isvc.gpus == 0 or isvc.max_replicas <= isvc.min_replicas:
            continue
        others = sum(other.min_replicas * other.gpus for i, other in enumerate(services) if i != index)
        room = pool.gpu_capacity - others
        if isvc.max_replicas * isvc.gpus > room:
            fits = room // isvc.gpus
            problems.append(
                Problem(
                    f"{where}.maxReplicas",
                    isvc.max_replicas,
                    f"the GPU pool holds at most {pool.gpu_capacity} GPU slot(s) ({_capacity(stack)})"
                    + (f", {others} of them the other InferenceServices' minReplicas" if others else "")
                    + f": at most {max(fits, 0)} replica(s) of {isvc.gpus} GPU(s) fit; lower maxReplicas or raise "
                    "gpuNodePool.maxNodes",
                )
            )
    return problems


def _capacity(stack: StackSettings) -> str:
    pool = stack.gpu_node_pool
    assert pool is not None
    sharing = f" x {pool.clients_per_gpu} sharing" if pool.sharing else ""
    return f"gpuNodePool.maxNodes {pool.max_nodes} x {pool.gpus_per_node} per node{sharing}"


def target_problems(stack: StackSettings) -> list[Problem]:
    """KEDA's threshold is a Kubernetes quantity: the target it is made of must fit one (2^63-1, thousandths)."""
    problems = []
    for index, isvc in enumerate(stack.inference_services):
        scaling = isvc.scaling
        if scaling is None or scaling.target is None or scaling.target <= 0:
            continue
        threshold, unit = _threshold(isvc)
        if threshold > MAX_QUANTITY or threshold < 0.001:
            problems.append(
                Problem(
                    f"inferenceServices[{index}].autoscaling.target",
                    scaling.target,
                    f"KEDA's threshold made of it ({threshold:g} {unit}) is outside what a Kubernetes quantity holds "
                    "(0.001 to 2^63-1)",
                )
            )
    return problems


def _threshold(isvc: InferenceServiceSettings) -> tuple[float, str]:
    """The threshold the components write for a target (components/inference_services.py, Scaling.of)."""
    scaling = isvc.scaling
    assert scaling is not None and scaling.target is not None
    if scaling.signal == "queueTime":
        return scaling.target * 1000, "µs of queue time"
    if scaling.signal == "gpuUtilization":
        return scaling.target * max(isvc.gpus, 1), "% summed over the replica's GPUs"
    return scaling.target, "requests/s"
