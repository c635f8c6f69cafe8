"""kserve-triton: GPU inference on GKE with KServe and NVIDIA Triton, in one `pulumi up`."""

import pulumi

from components import config, gcp_catalog
from components.gke_cluster import GkeCluster, GkeClusterArgs, SystemPoolArgs
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.inference_services import InferenceServiceArgs, InferenceServices, InferenceServicesArgs
from components.kserve_platform import KServePlatform, KServePlatformArgs
from components.model_storage import ModelStorageAccess, ModelStorageAccessArgs
from components.triton_runtime import RUNTIME_NAME, TritonRuntime, TritonRuntimeArgs

# Validate the whole stack config first: a bad setting must stop the program before anything exists.
settings = config.load()
gcp, cluster_cfg, gpu_cfg, kserve_cfg = settings.gcp, settings.cluster, settings.gpu_node_pool, settings.kserve
services = [InferenceServiceArgs(**isvc.model_dump()) for isvc in settings.inference_services]
per_gpu = gcp_catalog.gpu_share(gpu_cfg.machine_type, gpu_cfg.gpus_per_node)

cluster = GkeCluster(
    "gke",
    GkeClusterArgs(
        project=gcp.project,
        name=cluster_cfg.name,
        location=cluster_cfg.location,
        region=cluster_cfg.region,
        release_channel=cluster_cfg.release_channel,
        deletion_protection=cluster_cfg.deletion_protection,
        protect=cluster_cfg.protect,
        system_pool=SystemPoolArgs(**cluster_cfg.system_node_pool.model_dump()),
    ),
)
in_cluster = pulumi.ResourceOptions(providers=[cluster.provider])

gpu_pool = GpuNodePool(
    "gpu",
    GpuNodePoolArgs(
        project=gcp.project,
        cluster_id=cluster.cluster.id,
        cluster_name=cluster_cfg.name,
        location=cluster_cfg.location,
        accelerator_count=gpu_cfg.gpus_per_node,
        **gpu_cfg.model_dump(exclude={"accelerator_count"}),
    ),
)

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
        image=settings.triton.image,
        per_gpu=per_gpu,
        accelerator=gpu_cfg.accelerator_type,
        shm_size=settings.triton.shm_size,
        startup_timeout_seconds=settings.triton.startup_timeout_seconds,
        kserve_controller=kserve.controller,
    ),
    opts=in_cluster,
)

model_access = ModelStorageAccess(
    "models",
    ModelStorageAccessArgs(
        project=gcp.project,
        cluster_name=cluster_cfg.name,
        buckets=settings.model_storage.buckets,
        namespaces=sorted({s.namespace for s in services}),
    ),
)

inference = InferenceServices(
    "isvc",
    InferenceServicesArgs(
        services=services,
        runtime_name=RUNTIME_NAME,
        per_gpu=per_gpu,
        gpu_capacity=gpu_cfg.max_nodes * gpu_cfg.gpus_per_node,
        gpu_accelerator=gpu_cfg.accelerator_type,
        model_reader_email=model_access.email,
        deployment_mode=kserve_cfg.deployment_mode,
        cluster_local=kserve_cfg.ingress.class_name is None,
        depends_on=[triton.runtime, kserve.controller, gpu_pool.node_pool, *model_access.bindings],
    ),
    opts=in_cluster,
)

pulumi.export("clusterName", cluster.name)
pulumi.export("clusterLocation", cluster.location)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("gpuNodePoolName", gpu_pool.name)
pulumi.export("kserveNamespace", kserve.namespace)
pulumi.export("kserveVersion", kserve.version)
pulumi.export("tritonRuntime", triton.name)
pulumi.export("modelReaderServiceAccount", model_access.email)
pulumi.export("inferenceServices", inference.urls)
