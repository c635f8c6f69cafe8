"""What every model namespace gets besides its InferenceServices: Pod Security Admission at `restricted`.

**Pod Security Admission** (Kubernetes docs, "Pod Security Admission" and "Enforce Pod Security Standards with
namespace labels"): `enforce` refuses a pod that breaks the `restricted` profile, pinned to the Kubernetes minor the
objects here are validated against (tests/schemas.py), so a cluster upgrade that tightens the profile cannot start
refusing predictor pods by itself; `warn` and `audit` follow `latest`, so such a change shows up first as warnings
and audit annotations. The predictor pod KServe builds meets the profile (tests/test_pod_security.py builds it).
Namespaces the program creates carry the labels; `default`, which it never creates, gets them from a
NamespacePatch (server-side apply), which takes them away again when it is removed.
"""

from __future__ import annotations

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
