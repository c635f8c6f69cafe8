"""The kserve-triton policy pack: `pulumi preview --policy-pack policy`."""

from kserve_triton_policies import POLICIES
from pulumi_policy import PolicyPack

# Builds the pack and serves it to the Pulumi engine (this call does not return).
PolicyPack(
    name="kserve-triton",
    description="Security and cost guardrails for GPU inference on GKE with KServe and Triton.",
    policies=POLICIES,
)
