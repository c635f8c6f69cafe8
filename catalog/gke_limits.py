"""GKE's own limits that a stack's numbers are checked against.

Source: Google Cloud, "GKE quotas and limits" (cloud.google.com/kubernetes-engine/quotas), "Limits per cluster" table
for GKE Standard clusters, read 2026-12:
- Nodes per node pool zone: 1,000. A pool's `total_max_node_count` (this program's `maxNodes`) counts across its
  zones, so a pool can hold at most 1,000 x its zones.
- Nodes per cluster: 15,000 ("Running more than 5,000 nodes requires lifting a cluster size quota").
- Pods per node: 110 by default (the `default_max_pods_per_node` this program leaves unset); up to 256 when set.
Compute Engine: at most 16 GPUs on one VM (a2-megagpu-16g, "GPU machine types"; catalog/gcp.py).
"""

from __future__ import annotations

NODES_PER_POOL_ZONE = 1_000
PODS_PER_NODE = 110
"""GKE Standard's default maximum of Pods per node (this program does not change it)."""
MAX_GPUS_PER_NODE = 16
SOURCE = "GKE quotas and limits, cloud.google.com/kubernetes-engine/quotas"
