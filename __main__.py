"""kserve-triton: GPU inference on GKE with KServe and NVIDIA Triton, in one `pulumi up`."""

import pulumi

import settings
from components.dashboard import MonitoringDashboard, MonitoringDashboardArgs
from components.existing_cluster import ExistingCluster, ExistingClusterArgs, ExistingGkeCluster, ExistingGkeClusterArgs
from components.gke_cluster import GkeCluster, GkeClusterArgs
from components.gpu_capacity import GpuCapacity, GpuCapacityArgs
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.image_cache import ImageCache, ImageCacheArgs
from components.inference_services import InferenceServices, InferenceServicesArgs
from components.keda import Keda, KedaArgs
from components.kserve_platform import KServePlatform, KServePlatformArgs
from components.model_storage import ModelStorageAccess, ModelStorageAccessArgs
from components.triton_runtime import TritonRuntime, TritonRuntimeArgs

# The whole stack config is validated first: a bad setting stops the program before anything exists.
stack = settings.load()

gpu_pool = model_access = image_cache = dashboard = None
if stack.manages_cluster:  # GKE Standard or Autopilot, created by this program
    cluster = GkeCluster("gke", GkeClusterArgs.from_settings(stack))
elif stack.on_gke:  # an existing GKE cluster: read, never replaced or deleted
    cluster = ExistingGkeCluster("cluster", ExistingGkeClusterArgs.from_settings(stack))
else:  # a cluster from a kubeconfig context: no GCP resources
    cluster = ExistingCluster("cluster", ExistingClusterArgs(context=stack.cluster.existing.context))
if stack.on_gke:
    if stack.image_cache_on:  # the system pool pulls KServe's, cert-manager's and KEDA's images through it too
        image_cache = ImageCache("images", ImageCacheArgs.from_settings(stack, cluster))
    if stack.gpu_node_pool:
        gpu_pool = GpuNodePool("gpu", GpuNodePoolArgs.from_settings(stack, cluster, image_cache))
    model_access = ModelStorageAccess("models", ModelStorageAccessArgs.from_settings(stack, cluster))
    dashboard = MonitoringDashboard("dashboard", MonitoringDashboardArgs.from_settings(stack))
in_cluster = pulumi.ResourceOptions(providers=[cluster.provider])
# A fallback list of GPU capacity: GKE creates the GPU pools from a ComputeClass (node pool auto-creation).
capacity = (
    GpuCapacity("gpu-capacity", GpuCapacityArgs.from_settings(stack, gpu_pool), opts=in_cluster)
    if stack.gpu_capacity_fallback
    else None
)

# Not on the GPU pool's path: KEDA and KServe install while GPU nodes are still being created.
keda = Keda("keda", KedaArgs.from_settings(stack, cluster, image_cache), opts=in_cluster)
kserve = KServePlatform(
    "kserve", KServePlatformArgs.from_settings(stack, cluster, image_cache, keda.release), opts=in_cluster
)
triton = TritonRuntime(
    "triton", TritonRuntimeArgs.from_settings(stack, image_cache, kserve.controller), opts=in_cluster
)
inference = InferenceServices(
    "isvc",
    InferenceServicesArgs.from_settings(stack, triton, kserve, gpu_pool, model_access, capacity),
    opts=in_cluster,
)

if stack.on_gke:
    pulumi.export("clusterName", stack.cluster.gke_name)
    pulumi.export("clusterLocation", stack.cluster.gke_location)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("modelReaderServiceAccount", model_access.email)
    pulumi.export("dashboardUrl", dashboard.url)
if gpu_pool and gpu_pool.node_pool:
    pulumi.export("gpuNodePoolName", gpu_pool.name)
if capacity:
    pulumi.export("gpuComputeClass", capacity.compute_class.metadata.apply(lambda metadata: metadata["name"]))
pulumi.export("kserveNamespace", kserve.namespace)
pulumi.export("kserveVersion", kserve.version)
pulumi.export("tritonRuntime", triton.name)
pulumi.export("inferenceServices", inference.urls)
