"""kserve-triton: GPU inference on GKE with KServe and NVIDIA Triton, in one `pulumi up`."""

import pulumi

from components import config
from components.gke_cluster import GkeCluster, GkeClusterArgs, SystemPoolArgs
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.kserve_platform import KServePlatform, KServePlatformArgs

# Validate the whole stack config first: a bad setting must stop the program before anything exists.
settings = config.load()
gcp, cluster_cfg, gpu_cfg, kserve_cfg = settings.gcp, settings.cluster, settings.gpu_node_pool, settings.kserve

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

gpu_pool = GpuNodePool(
    "gpu",
    GpuNodePoolArgs(
        project=gcp.project,
        cluster_id=cluster.cluster.id,
        cluster_name=cluster_cfg.name,
        location=cluster_cfg.location,
        machine_type=gpu_cfg.machine_type,
        accelerator_type=gpu_cfg.accelerator_type,
        accelerator_count=gpu_cfg.gpus_per_node,
        driver_version=gpu_cfg.driver_version,
        spot=gpu_cfg.spot,
        min_nodes=gpu_cfg.min_nodes,
        max_nodes=gpu_cfg.max_nodes,
        zones=gpu_cfg.zones,
        disk_size_gb=gpu_cfg.disk_size_gb,
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
    opts=pulumi.ResourceOptions(providers=[cluster.provider]),
)

pulumi.export("clusterName", cluster.name)
pulumi.export("clusterLocation", cluster.location)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("gpuNodePoolName", gpu_pool.name)
pulumi.export("kserveNamespace", kserve.namespace)
pulumi.export("kserveVersion", kserve.version)
