"""kserve-triton: GPU inference on GKE with KServe and NVIDIA Triton, in one `pulumi up`."""

import pulumi

from components import config
from components.existing_cluster import ExistingCluster, ExistingClusterArgs
from components.gke_cluster import GkeCluster, GkeClusterArgs, SystemPoolArgs
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.image_cache import ImageCache, ImageCacheArgs, cached_image
from components.inference_services import InferenceServiceArgs, InferenceServices, InferenceServicesArgs
from components.kserve_platform import KServePlatform, KServePlatformArgs
from components.model_storage import ModelStorageAccess, ModelStorageAccessArgs
from components.triton_runtime import RUNTIME_NAME, TritonRuntime, TritonRuntimeArgs

# Validate the whole stack config first: a bad setting must stop the program before anything exists.
settings = config.load()
cluster_cfg, gpu_cfg, kserve_cfg, triton_cfg = (
    settings.cluster,
    settings.gpu_node_pool,
    settings.kserve,
    settings.triton,
)
services = [InferenceServiceArgs(**isvc.model_dump()) for isvc in settings.inference_services]

triton_image = triton_cfg.image
if cluster_cfg.existing is not None:  # no GCP resources, no GPUs
    cluster = ExistingCluster("cluster", ExistingClusterArgs(context=cluster_cfg.existing.context))
    gpu_pool = model_access = None
else:
    project = settings.gcp.project
    cluster = GkeCluster(
        "gke",
        GkeClusterArgs(
            project=project,
            region=cluster_cfg.region,
            production=settings.production,
            system_pool=SystemPoolArgs(**cluster_cfg.system_node_pool.model_dump()),
            **cluster_cfg.model_dump(include={"name", "location", "release_channel", "deletion_protection", "protect"}),
        ),
    )
    image_cache = None
    if settings.image_cache_on:
        image_cache = ImageCache(
            "images",
            ImageCacheArgs(project=project, region=cluster_cfg.region, repository_id=settings.image_cache.repository),
        )
        triton_image = cached_image(triton_cfg.image, image_cache.prefix)
    gpu_pool = GpuNodePool(
        "gpu",
        GpuNodePoolArgs(
            project=project,
            cluster_id=cluster.cluster.id,
            cluster_name=cluster_cfg.name,
            location=cluster_cfg.location,
            accelerator_count=gpu_cfg.gpus_per_node,
            image_repository=image_cache.repository if image_cache else None,
            depends_on=image_cache.apis if image_cache else [],
            **gpu_cfg.model_dump(exclude={"accelerator_count"}),
        ),
    )
    model_access = ModelStorageAccess(
        "models",
        ModelStorageAccessArgs(
            project=project,
            cluster_name=cluster_cfg.name,
            buckets=settings.model_storage.buckets,
            namespaces=sorted({s.namespace for s in services}),
            workload_pool_owner=[cluster.cluster],
        ),
    )
in_cluster = pulumi.ResourceOptions(providers=[cluster.provider])
accelerator = gpu_cfg.accelerator_type if gpu_cfg else None

# Not on the GPU pool's path: KServe installs while GPU nodes are still being created.
kserve = KServePlatform(
    "kserve",
    KServePlatformArgs(
        kserve_version=kserve_cfg.version,
        cert_manager_version=kserve_cfg.cert_manager.version,
        deployment_mode=kserve_cfg.deployment_mode,
        ingress_class=kserve_cfg.ingress.class_name,
        ingress_domain=kserve_cfg.ingress.domain,
        system_node_selector=cluster.system_node_selector,
        protect_crds=kserve_cfg.protect_crds,
    ),
    opts=in_cluster,
)
triton = TritonRuntime(
    "triton",
    TritonRuntimeArgs(
        image=triton_image,
        per_gpu=settings.replica_size,
        accelerator=accelerator,
        shm_size=triton_cfg.shm_size,
        startup_timeout_seconds=triton_cfg.startup_timeout_seconds,
        kserve_controller=kserve.controller,
    ),
    opts=in_cluster,
)
inference = InferenceServices(
    "isvc",
    InferenceServicesArgs(
        services=services,
        runtime_name=RUNTIME_NAME,
        per_gpu=settings.replica_size,
        gpu_capacity=gpu_cfg.max_nodes * gpu_cfg.gpus_per_node if gpu_cfg else 0,
        gpu_accelerator=accelerator,
        model_reader_email=model_access.email if model_access else None,
        deployment_mode=kserve_cfg.deployment_mode,
        cluster_local=kserve_cfg.ingress.class_name is None,
        depends_on=[
            triton.runtime,
            kserve.controller,
            *([gpu_pool.node_pool, *gpu_pool.image_bindings] if gpu_pool else []),
            *(model_access.bindings if model_access else []),
        ],
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
