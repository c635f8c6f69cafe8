"""What GKE's Cloud Storage FUSE webhook does to a pod annotated `gke-gcsfuse/volumes: "true"`, as far as its security,
resources and volumes go: what Pod Security Admission then sees (admission runs after the mutating webhooks).

Written from GoogleCloudPlatform/gcs-fuse-csi-driver at tag v1.24.4 (commit 32396eb):

- pkg/webhook/mutatingwebhook.go: nothing happens without the annotation (or with "false"); the resource annotations
  `gke-gcsfuse/{cpu,memory,ephemeral-storage}-{request,limit}`.
- pkg/webhook/config.go (prepareResourceList, populateResource): unset request and limit take the defaults; a limit
  of "0" is left out (no limit) and an unset request then takes the default; a request alone sets the limit to it and
  the reverse.
- cmd/webhook/main.go: defaults 250m CPU, 256Mi memory, 5Gi ephemeral storage, for request and limit.
- pkg/webhook/injection.go: on clusters whose nodes all run Kubernetes 1.29 or later the sidecar is a native sidecar
  (an init container with restartPolicy Always, env NATIVE_SIDECAR=TRUE), inserted at initContainers[0] (no
  istio-proxy here).
- pkg/webhook/sidecar_spec.go: container `gke-gcsfuse-sidecar`, args --v=5, securityContext allowPrivilegeEscalation
  false, readOnlyRootFilesystem true, capabilities drop ALL, seccomp RuntimeDefault, runAsNonRoot, runAsUser and
  runAsGroup 65534 (`enable-numa-pinning` would make it Unconfined and add CAP_SYS_NICE: never set here); volume
  mounts gke-gcsfuse-tmp, -buffer and -cache; emptyDir volumes for the three unless the pod declares -buffer or
  -cache itself.

Mirrors: GoogleCloudPlatform/gcs-fuse-csi-driver v1.24.4 pkg/webhook (injection.go, sidecar_spec.go, config.go).
Checked by the real part: none: GKE's webhook runs only in GKE.
"""

from __future__ import annotations

import copy
from typing import Any

ANNOTATION = "gke-gcsfuse/volumes"
SIDECAR = "gke-gcsfuse-sidecar"
IMAGE = "gke.gcr.io/gcs-fuse-csi-driver-sidecar-mounter:v1.24.4-gke.0"
DEFAULTS = {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "5Gi"}
VOLUMES = ("gke-gcsfuse-tmp", "gke-gcsfuse-buffer", "gke-gcsfuse-cache")
MOUNT_PATHS = {
    "gke-gcsfuse-tmp": "/gcsfuse-tmp",
    "gke-gcsfuse-buffer": "/gcsfuse-buffer",
    "gke-gcsfuse-cache": "/gcsfuse-cache",
}


def _resources(annotations: dict[str, str]) -> dict[str, dict[str, str]]:
    requests, limits = {}, {}
    for resource, default in DEFAULTS.items():
        request = annotations.get(f"gke-gcsfuse/{resource}-request")
        limit = annotations.get(f"gke-gcsfuse/{resource}-limit")
        if request is None and limit is None:
            request, limit = default, default
        if limit is not None and limit == "0" and request is None:
            request = default
        request = request if request is not None else limit
        limit = limit if limit is not None else request
        if request not in ("0", None):
            requests[resource] = request
        if limit not in ("0", None):
            limits[resource] = limit
    return {"requests": requests, "limits": limits}


def inject(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod after GKE's FUSE webhook (nodes on Kubernetes 1.29 or later: a native sidecar)."""
    annotations = pod["metadata"].get("annotations") or {}
    if str(annotations.get(ANNOTATION, "")).lower() != "true":
        return pod
    pod = copy.deepcopy(pod)
    spec = pod["spec"]
    sidecar = {
        "name": SIDECAR,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--v=5"],
        "restartPolicy": "Always",
        "env": [{"name": "NATIVE_SIDECAR", "value": "TRUE"}],
        "resources": _resources(annotations),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "runAsGroup": 65534,
        },
        "volumeMounts": [{"name": name, "mountPath": MOUNT_PATHS[name]} for name in VOLUMES],
    }
    spec["initContainers"] = [sidecar, *(spec.get("initContainers") or [])]
    existing = {volume["name"] for volume in spec.get("volumes") or []}
    spec["volumes"] = [
        *(spec.get("volumes") or []),
        *({"name": name, "emptyDir": {}} for name in VOLUMES if name == VOLUMES[0] or name not in existing),
    ]
    return pod
