"""kserve-triton: GPU inference on GKE with KServe and NVIDIA Triton, in one `pulumi up`."""

import pulumi

import settings
from components.existing_cluster import ExistingCluster, ExistingClusterArgs
from components.gke_cluster import GkeCluster, GkeClusterArgs
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.image_cache import ImageCache, ImageCacheArgs, cached_image
from components.inference_services import InferenceServices, InferenceServicesArgs
from components.kserve_platform import KServePlatform, KServePlatformArgs
from components.model_storage import ModelStorageAccess, ModelStorageAccessArgs
from components.triton_runtime import TritonRuntime, TritonRuntimeArgs

# The whole stack config is validated first: a bad setting stops the program before anything exists.
stack = settings.load()

gpu_pool = model_access = image_cache = None
if stack.on_gke:
    cluster = GkeCluster("gke", GkeClusterArgs.from_settings(stack))
    if stack.image_cache_on:  # the system pool pulls KServe's and cert-manager's images through it too
        readers = [cluster.node_service_account.member]
        image_cache = ImageCache("images", ImageCacheArgs.from_settings(stack, readers))
    gpu_pool = GpuNodePool("gpu", GpuNodePoolArgs.from_settings(stack, cluster, image_cache))
    model_access = ModelStorageAccess("models", ModelStorageAccessArgs.from_settings(stack, cluster))
else:  # a cluster from a kubeconfig context: no GCP resources, no GPUs
    cluster = ExistingCluster("cluster", ExistingClusterArgs(context=stack.cluster.existing.context))
triton_image = cached_image(stack.triton.image, image_cache.prefix) if image_cache else stack.triton.image
in_cluster = pulumi.ResourceOptions(providers=[cluster.provider])

# Not on the GPU pool's path: KServe installs while GPU nodes are still being created.
mirrors = {host: prefix for host, prefix in image_cache.mirrors.items() if host != "nvcr.io"} if image_cache else None
pulls = [*image_cache.repositories, *image_cache.reader_bindings] if image_cache else []
kserve = KServePlatform(
    "kserve", KServePlatformArgs.from_settings(stack, cluster.system_node_selector, mirrors, pulls), opts=in_cluster
)
triton = TritonRuntime(
    "triton", TritonRuntimeArgs.from_settings(stack, triton_image, kserve.controller), opts=in_cluster
)
prerequisites = [
    triton.runtime,
    kserve.controller,
    *([gpu_pool.node_pool, *gpu_pool.image_bindings] if gpu_pool else []),
]
inference = InferenceServices(
    "isvc",
    InferenceServicesArgs.from_settings(
        stack,
        model_access.email if model_access else None,
        prerequisites,
        grants_for=model_access.grants_for if model_access else None,
    ),
    opts=in_cluster,
)

if isinstance(cluster, GkeCluster):
    pulumi.export("clusterName", cluster.name)
    pulumi.export("clusterLocation", cluster.location)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("gpuNodePoolName", gpu_pool.name)
    pulumi.export("modelReaderServiceAccount", model_access.email)
pulumi.export("kserveNamespace", kserve.namespace)
pulumi.export("kserveVersion", kserve.version)
pulumi.export("tritonRuntime", triton.name)
pulumi.export("inferenceServices", inference.urls)
