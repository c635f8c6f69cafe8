"""The Pod Security Standards' `restricted` profile (which includes `baseline`), checked on a pod spec as Pod Security
Admission would when a namespace enforces it.

Written from the Kubernetes docs, "Pod Security Standards" (the policy as of v1.35), one function per control; each
returns what it refuses. Containers means containers, initContainers and ephemeralContainers. Windows-only controls
are checked as for any pod (this project runs Linux pods only).

Mirrors: Kubernetes v1.35 "Pod Security Standards" (restricted profile), as k8s.io/pod-security-admission v0.35
policy/check_*.go implements it.
Checked by the real part: the Pod Security admission of the embedded cluster's kube-apiserver v1.35.4
(tests/e2e/test_real_parts.py) admits the predictor pod the real KServe makes in a `restricted` namespace and refuses
a pod running as root; the model's finer rules are not each exercised there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _context(container: dict[str, Any]) -> dict[str, Any]:
    return container.get("securityContext") or {}


def _handlers(container: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if container.get(probe):
            yield probe, container[probe]
    for hook, handler in (container.get("lifecycle") or {}).items():
        yield f"lifecycle.{hook}", handler


# --- baseline ----------------------------------------------------------------------------------------------------


def host_process(spec: dict[str, Any]) -> list[str]:
    found = []
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for c in containers(spec)]
    for where, context in contexts:
        if (context.get("windowsOptions") or {}).get("hostProcess"):
            found.append(f"{where}: windowsOptions.hostProcess")
    return found


def host_namespaces(spec: dict[str, Any]) -> list[str]:
    return [f"pod: {key}" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]


def privileged(spec: dict[str, Any]) -> list[str]:
    return [f"{c['name']}: privileged" for c in containers(spec) if _context(c).get("privileged")]


def host_path_volumes(spec: dict[str, Any]) -> list[str]:
    return [f"volume {v['name']}: hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]


def host_ports(spec: dict[str, Any]) -> list[str]:
    ports = [(c["name"], p) for c in containers(spec) for p in c.get("ports") or []]
    return [f"{name}: hostPort {port['hostPort']}" for name, port in ports if port.get("hostPort")]


def host_probes(spec: dict[str, Any]) -> list[str]:
    found = []
    for container in containers(spec):
        for where, handler in _handlers(container):
            for action in ("httpGet", "tcpSocket"):
                if (handler.get(action) or {}).get("host"):
                    found.append(f"{container['name']}: {where}.{action}.host")
    return found


def app_armor(spec: dict[str, Any]) -> list[str]:
    found = []
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for c in containers(spec)]
    for where, context in contexts:
        profile = (context.get("appArmorProfile") or {}).get("type")
        if profile not in (None, "RuntimeDefault", "Localhost"):
            found.append(f"{where}: appArmorProfile {profile}")
    return found


def se_linux(spec: dict[str, Any]) -> list[str]:
    found = []
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for c in containers(spec)]
    for where, context in contexts:
        options = context.get("seLinuxOptions") or {}
        if options.get("type", "") not in SELINUX_TYPES:
            found.append(f"{where}: seLinuxOptions.type {options['type']}")
        found += [f"{where}: seLinuxOptions.{key}" for key in ("user", "role") if options.get(key)]
    return found


def proc_mount(spec: dict[str, Any]) -> list[str]:
    return [
        f"{c['name']}: procMount {_context(c)['procMount']}"
        for c in containers(spec)
        if _context(c).get("procMount") not in (None, "Default")
    ]


def seccomp_not_unconfined(spec: dict[str, Any]) -> list[str]:
    found = []
    contexts = [("pod", spec.get("securityContext") or {})] + [(c["name"], _context(c)) for c in containers(spec)]
    for where, context in contexts:
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"{where}: seccompProfile Unconfined")
    return found


def sysctls(spec: dict[str, Any]) -> list[str]:
    return [
        f"pod: sysctl {s['name']}"
        for s in (spec.get("securityContext") or {}).get("sysctls") or []
        if s["name"] not in SAFE_SYSCTLS
    ]


def baseline_capabilities(spec: dict[str, Any]) -> list[str]:
    return [
        f"{c['name']}: adds {added}"
        for c in containers(spec)
        for added in (_context(c).get("capabilities") or {}).get("add") or []
        if added not in BASELINE_CAPABILITIES
    ]


# --- restricted --------------------------------------------------------------------------------------------------


def volume_types(spec: dict[str, Any]) -> list[str]:
    found = []
    for volume in spec.get("volumes") or []:
        kinds = [key for key in volume if key != "name"]
        found += [f"volume {volume['name']}: {kind}" for kind in kinds if kind not in RESTRICTED_VOLUMES]
    return found


def privilege_escalation(spec: dict[str, Any]) -> list[str]:
    return [
        f"{c['name']}: allowPrivilegeEscalation is not false"
        for c in containers(spec)
        if _context(c).get("allowPrivilegeEscalation") is not False
    ]


def run_as_non_root(spec: dict[str, Any]) -> list[str]:
    pod = (spec.get("securityContext") or {}).get("runAsNonRoot")
    found = ["pod: runAsNonRoot false"] if pod is False else []
    for container in containers(spec):
        value = _context(container).get("runAsNonRoot")
        if value is False or (value is None and pod is not True):
            found.append(f"{container['name']}: runAsNonRoot is not true (nor the pod's)")
    return found


def run_as_user(spec: dict[str, Any]) -> list[str]:
    found = ["pod: runAsUser 0"] if (spec.get("securityContext") or {}).get("runAsUser") == 0 else []
    return found + [f"{c['name']}: runAsUser 0" for c in containers(spec) if _context(c).get("runAsUser") == 0]


def seccomp(spec: dict[str, Any]) -> list[str]:
    allowed = ("RuntimeDefault", "Localhost")
    pod = ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    found = [f"pod: seccompProfile {pod}"] if pod is not None and pod not in allowed else []
    for container in containers(spec):
        own = (_context(container).get("seccompProfile") or {}).get("type")
        if (own is None and pod not in allowed) or (own is not None and own not in allowed):
            found.append(f"{container['name']}: seccompProfile is {own or 'unset'} (the pod's: {pod or 'unset'})")
    return found


def capabilities(spec: dict[str, Any]) -> list[str]:
    found = []
    for container in containers(spec):
        caps = _context(container).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"{container['name']}: capabilities.drop lacks ALL")
        found += [f"{container['name']}: adds {c}" for c in caps.get("add") or [] if c != "NET_BIND_SERVICE"]
    return found


BASELINE = [
    host_process,
    host_namespaces,
    privileged,
    baseline_capabilities,
    host_path_volumes,
    host_ports,
    host_probes,
    app_armor,
    se_linux,
    proc_mount,
    seccomp_not_unconfined,
    sysctls,
]
RESTRICTED = [*BASELINE, volume_types, privilege_escalation, run_as_non_root, run_as_user, seccomp, capabilities]


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """Everything in a pod spec the `restricted` profile refuses ([] when Pod Security Admission admits it)."""
    return [f"{check.__name__}: {problem}" for check in RESTRICTED for problem in check(spec)]
