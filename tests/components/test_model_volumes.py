"""Model loading without a per-pod download: Cloud Storage FUSE and Hyperdisk ML volumes, as the real program
declares them under mocks (tests/support/capacity_models.py: FUSE, FALLBACK), and the predictor pod KServe and GKE's
FUSE webhook make of them (tests/upstream/kserve_pod.py, tests/upstream/gcsfuse_webhook.py): read-only, Workload
Identity only, Pod Security `restricted`, the NetworkPolicies unchanged, and a pod that still fits its node."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest

from catalog import gcp as gcp_catalog
from catalog import model_loading as loading
from components.model_namespace import network_policies
from components.model_storage import MODEL_READER_KSA
from kserve_triton.offline import OfflineRun
from settings.base import cpu_millis, memory_mib
from tests.support.capacity_models import AUTOPILOT_FALLBACK, FALLBACK, FUSE
from tests.support.schemas import builtin_errors
from tests.upstream.gcsfuse_webhook import SIDECAR, inject
from tests.upstream.kserve_pod import predictor_pod
from tests.upstream.pod_security import restricted_violations

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SC = "kubernetes:storage.k8s.io/v1:StorageClass"
SOURCE = "kubernetes:datalayer.gke.io/v1:GCPDataSource"
CLUSTER = "gcp:container/cluster:Cluster"
KSA = "kubernetes:core/v1:ServiceAccount"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CONFIGS = {"FUSE": FUSE, "FALLBACK": FALLBACK, "AUTOPILOT_FALLBACK": AUTOPILOT_FALLBACK}


@functools.cache
def program(name: str):
    harness = OfflineRun()
    harness.configure(copy.deepcopy(CONFIGS[name]))
    harness.run_main(reuse=True)
    return harness.monitor


def isvc(monitor, name: str) -> dict[str, Any]:
    (found,) = [n.inputs for n in monitor.of_type(ISVC) if n.inputs["metadata"]["name"] == name]
    return copy.deepcopy(found)


def pod(monitor, name: str) -> dict[str, Any]:
    runtimes = {n.inputs["metadata"]["name"]: n.inputs["spec"] for n in monitor.of_type(CSR)}
    return inject(predictor_pod(isvc(monitor, name), runtimes, storage_containers=[]))


# --- Cloud Storage FUSE ---------------------------------------------------------------------------------------


def test_the_fuse_volume_is_the_models_prefix_read_only_with_a_parallel_file_cache():
    monitor = program("FUSE")
    (volume,) = [n.inputs for n in monitor.of_type(PV)]
    assert volume["metadata"]["name"] == "models-resnet-model"
    assert volume["spec"]["csi"] == {
        "driver": "gcsfuse.csi.storage.gke.io",
        "volumeHandle": "team-models",
        "readOnly": True,
    }
    assert volume["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert volume["spec"]["mountOptions"] == [
        "implicit-dirs",
        "uid=1000",
        "gid=1000",
        "only-dir=resnet/v3",
        "file-cache:max-size-mb:13201",  # 12 GB plus a tenth
        "file-cache:cache-file-for-range-read:true",
        "file-cache:enable-parallel-downloads:true",
        "metadata-cache:ttl-secs:-1",
        "metadata-cache:stat-cache-max-size-mb:-1",
        "metadata-cache:type-cache-max-size-mb:-1",
    ]
    assert volume["spec"]["claimRef"] == {"namespace": "models", "name": "resnet-model"}
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain", "deleting the claim never touches the bucket"
    (claim,) = [n.inputs for n in monitor.of_type(PVC)]
    assert claim["metadata"] == {"name": "resnet-model", "namespace": "models"}
    assert claim["spec"]["volumeName"] == "models-resnet-model"
    assert claim["spec"]["storageClassName"] == "" == volume["spec"]["storageClassName"], "static binding only"
    assert claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    for obj in (volume, claim):
        assert builtin_errors(obj) == []


def test_the_fuse_model_is_mounted_by_kserve_with_the_sidecar_annotations():
    monitor = program("FUSE")
    predictor = isvc(monitor, "resnet")["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == "pvc://resnet-model"
    assert predictor["annotations"] == {
        "gke-gcsfuse/volumes": "true",
        "gke-gcsfuse/cpu-request": "250m",
        "gke-gcsfuse/memory-request": "256Mi",
        "gke-gcsfuse/ephemeral-storage-request": "15G",
        "gke-gcsfuse/cpu-limit": "0",
        "gke-gcsfuse/memory-limit": "0",
        "gke-gcsfuse/ephemeral-storage-limit": "0",
    }
    sample = isvc(monitor, "cifar10")["spec"]["predictor"]
    assert sample["model"]["storageUri"] == "gs://kfserving-examples/models/torchscript", "its default: download"
    assert "annotations" not in sample


def test_the_cluster_turns_the_fuse_driver_on_only_when_a_model_uses_it(pulumi_mocks, dev_config):
    cluster = program("FUSE").one(CLUSTER).inputs
    assert cluster["addonsConfig"] == {"gcsFuseCsiDriverConfig": {"enabled": True}}
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main()
    assert "addonsConfig" not in pulumi_mocks.monitor.one(CLUSTER).inputs, "the dev sample downloads (default)"


def test_the_fuse_pod_has_no_init_download_and_a_read_only_model_mount():
    spec = pod(program("FUSE"), "resnet")["spec"]
    assert [c["name"] for c in spec["initContainers"]] == [SIDECAR], "the FUSE sidecar only: nothing downloads"
    (triton,) = spec["containers"]
    (mount,) = [m for m in triton["volumeMounts"] if m["mountPath"] == "/mnt/models"]
    assert mount == {"name": loading.KSERVE_PVC_VOLUME, "mountPath": "/mnt/models", "subPath": "", "readOnly": True}
    (volume,) = [v for v in spec["volumes"] if v["name"] == loading.KSERVE_PVC_VOLUME]
    assert volume["persistentVolumeClaim"] == {"claimName": "resnet-model"}


def test_the_fuse_sidecar_meets_the_restricted_profile_so_no_exception_is_needed():
    """GKE's webhook injects its sidecar before admission: non-root (65534), no privilege escalation, no capabilities,
    RuntimeDefault seccomp, emptyDir volumes only; /dev/fuse is opened by the driver's node DaemonSet, not the pod."""
    for name in ("FUSE", "AUTOPILOT_FALLBACK"):
        spec = pod(program(name), "resnet")["spec"]
        assert restricted_violations(spec) == [], name
        sidecar = spec["initContainers"][0]
        assert sidecar["restartPolicy"] == "Always", "a native sidecar: started before Triton, runs as long as it"


def test_a_numa_pinned_sidecar_would_break_restricted_and_the_program_never_asks_for_one():
    monitor = program("FUSE")
    assert "gke-gcsfuse/enable-numa-pinning" not in isvc(monitor, "resnet")["spec"]["predictor"]["annotations"]
    spec = pod(monitor, "resnet")["spec"]
    spec["initContainers"][0]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    assert restricted_violations(spec) != []


def test_the_fuse_pod_still_fits_the_node_its_replica_was_sized_for():
    """The sidecar's requests (the webhook's defaults) come out of Triton's share: the pod's total is the share."""
    spec = pod(program("FUSE"), "resnet")["spec"]
    triton, sidecar = spec["containers"][0], spec["initContainers"][0]
    share = gcp_catalog.gpu_share("g2-standard-8", 1, image_streaming=True)
    requested = triton["resources"]["requests"]
    assert cpu_millis(requested["cpu"]) + cpu_millis(sidecar["resources"]["requests"]["cpu"]) == share.cpu_millis
    assert memory_mib(requested["memory"]) + memory_mib(sidecar["resources"]["requests"]["memory"]) == share.memory_mib
    assert sidecar["resources"]["limits"] == {}, "no limit: parallel downloads may use idle cores while Triton loads"
    assert sidecar["resources"]["requests"]["ephemeral-storage"] == "15G", "the file cache on the boot disk"


def test_autopilot_gives_the_sidecar_limits_equal_to_its_requests():
    annotations = isvc(program("AUTOPILOT_FALLBACK"), "resnet")["spec"]["predictor"]["annotations"]
    assert annotations["gke-gcsfuse/cpu-limit"] == annotations["gke-gcsfuse/cpu-request"] == "250m"
    assert annotations["gke-gcsfuse/memory-limit"] == "256Mi"
    assert annotations["gke-gcsfuse/ephemeral-storage-limit"] == "15G"


@pytest.mark.parametrize("name", CONFIGS)
def test_the_volume_is_read_as_model_reader_through_workload_identity_with_no_key(name):
    """The FUSE driver's CSIDriver requests a token for the pod's own service account (audience
    <project>.svc.id.goog), and the populator's Job runs as the GCPDataSource's: both model-reader, which
    impersonates the read-only model account; no secret is mounted, and no token is automounted."""
    monitor = program(name)
    for node in monitor.of_type(ISVC):
        assert node.inputs["spec"]["predictor"]["serviceAccountName"] == MODEL_READER_KSA
    for account in monitor.of_type(KSA):
        assert account.inputs["automountServiceAccountToken"] is False
        assert "iam.gke.io/gcp-service-account" in account.inputs["metadata"]["annotations"]
    for node in monitor.nodes.values():
        assert node.inputs.get("kind") != "Secret", node.name


@pytest.mark.parametrize("name", CONFIGS)
def test_the_network_policies_are_those_of_every_model_namespace(name):
    """Egress stays open (FUSE reaches storage.googleapis.com and the metadata server from the pod), ingress rules
    are unchanged: nothing new listens in the pod."""
    monitor = program(name)
    specs = {n.inputs["metadata"]["name"]: n.inputs["spec"] for n in monitor.of_type(NETPOL)}
    assert specs == network_policies(gmp_scrape=True, load_balancer_ranges=[])
    assert all("Egress" not in spec["policyTypes"] for spec in specs.values())


def test_the_startup_probe_still_covers_a_fuse_load():
    """Reading through FUSE moves the transfer into Triton's model load: the settings refuse a model whose
    pessimistic read would not fit the startup probe (tests/settings/test_model_loading.py); this one does."""
    from settings.model_loading import startup_read_seconds

    monitor = program("FUSE")
    runtime = monitor.one(CSR).inputs["spec"]["containers"][0]
    allowance = runtime["startupProbe"]["periodSeconds"] * runtime["startupProbe"]["failureThreshold"]
    assert startup_read_seconds("gcsFuse", 12) < allowance == 900


# --- Hyperdisk ML through the Volume Populator -----------------------------------------------------------------


def test_the_hyperdisk_ml_volume_is_populated_once_from_the_models_folder_in_the_gpu_zone():
    monitor = program("FALLBACK")
    (storage_class,) = [n.inputs for n in monitor.of_type(SC)]
    assert storage_class["provisioner"] == "pd.csi.storage.gke.io"
    assert storage_class["parameters"] == {"type": "hyperdisk-ml", "provisioned-throughput-on-create": "2400Mi"}
    assert storage_class["allowedTopologies"] == [
        {"matchLabelExpressions": [{"key": "topology.gke.io/zone", "values": ["us-central1-a"]}]}
    ]
    assert storage_class["volumeBindingMode"] == "Immediate" and storage_class["allowVolumeExpansion"] is False
    assert builtin_errors(storage_class) == []
    (source,) = [n.inputs for n in monitor.of_type(SOURCE)]
    assert source["spec"] == {
        "cloudStorage": {"serviceAccountName": MODEL_READER_KSA, "uri": "gs://team-models/resnet/v3/"}
    }
    (claim,) = [n for n in monitor.of_type(PVC)]
    assert claim.inputs["spec"] == {
        "accessModes": ["ReadOnlyMany"],
        "storageClassName": "kserve-triton-hyperdisk-ml",
        "resources": {"requests": {"storage": "13Gi"}},
        "dataSourceRef": {"apiGroup": "datalayer.gke.io", "kind": "GCPDataSource", "name": "resnet-model"},
    }
    assert builtin_errors(claim.inputs) == []
    source_node = next(iter(monitor.of_type(SOURCE)))
    assert monitor.depends_on(claim, source_node), "deleted before its source (else the claim never goes)"
    assert isvc(monitor, "resnet")["spec"]["predictor"]["model"]["storageUri"] == "pvc://resnet-model"


def test_the_hyperdisk_pod_mounts_the_volume_read_only_and_meets_restricted():
    spec = pod(program("FALLBACK"), "resnet")["spec"]
    assert "initContainers" not in spec
    assert restricted_violations(spec) == []
    assert builtin_errors({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}) == []
