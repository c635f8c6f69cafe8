"""Names GCP derives nothing from, so we derive them ourselves, within GCP's limits."""

from __future__ import annotations

import hashlib

# Node label that tells the system pool from GPU pools; KServe and cert-manager select on it.
NODE_ROLE_LABEL = "kserve-triton/node-role"


def service_account_id(cluster_name: str, purpose: str) -> str:
    """A GCP service account ID (6-30 chars, `[a-z][-a-z0-9]*[a-z0-9]`) unique per cluster and purpose.

    Long cluster names are shortened and given a hash of the full name, so two clusters whose names share
    a prefix do not get the same account.
    """
    candidate = f"{cluster_name}-{purpose}"
    if len(candidate) <= 30:
        return candidate
    digest = hashlib.sha256(cluster_name.encode()).hexdigest()[:4]
    keep = 30 - len(purpose) - len(digest) - 2
    return f"{cluster_name[:keep].rstrip('-')}-{digest}-{purpose}"
