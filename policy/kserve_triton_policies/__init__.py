"""Security and cost guardrails for kserve-triton stacks, checked on every `pulumi preview`.

Run: `pulumi preview --policy-pack policy`. Mandatory policies fail the preview; advisory ones warn.
Resource properties are the engine's (camelCase inputs). A stack is production when its GKE cluster carries
the `kserve-triton-production: "true"` label, which the program sets from the stack's `production` setting.

One module per concern, as in `settings/`: `containers`, `gpu_scheduling`, `gke`, `model_namespaces`,
`availability`, `helm_and_crds`; `common` holds what they share.
"""

from __future__ import annotations

from kserve_triton_policies import availability, containers, gke, gpu_scheduling, helm_and_crds, model_namespaces

POLICIES = [
    policy
    for concern in (containers, gpu_scheduling, gke, model_namespaces, availability, helm_and_crds)
    for policy in concern.POLICIES
]
