"""The team's InferenceServices, served by the Triton runtime, each in its namespace with model access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from components.gcp_catalog import GpuShare
from components.kserve_types import (
    DeploymentStrategy,
    InferenceService,
    InferenceServiceSpec,
    ModelFormat,
    ModelSpec,
    PredictorSpec,
    RollingUpdate,
)
from components.model_storage import MODEL_READER_KSA
from components.triton_runtime import GPU_TOLERATION, RUNTIME_NAME, triton_resources

if TYPE_CHECKING:
    from settings import StackSettings

# Namespaces every cluster already has.
EXISTING_NAMESPACES = {"default"}


@dataclass(frozen=True)
class InferenceServiceArgs:
    name: str
    namespace: str
    model_format: str
    model_format_version: str | None
    storage_uri: str
    gpus: int
    min_replicas: int
    max_replicas: int
    runtime_version: str | None
    bucket: str | None = None
    """The GCS bucket of a gs:// storage URI."""


@dataclass(frozen=True)
class InferenceServicesArgs:
    services: list[InferenceServiceArgs]
    runtime_name: str
    per_gpu: GpuShare
    gpu_capacity: int
    """GPUs the pool can hold at its largest: decides whether a rollout may add a replica first."""
    gpu_accelerator: str | None
    """None on a cluster without GPUs."""
    model_reader_email: pulumi.Input[str] | None
    """The GCP service account the `model-reader` Kubernetes account impersonates; None: no cloud access."""
    deployment_mode: str
    cluster_local: bool
    """No Ingress: label the services cluster-local."""
    depends_on: list[pulumi.Resource]
    """What must exist before every InferenceService: the runtime, the KServe controller, GPU nodes."""
    grants_for: Callable[[str, str | None], list[pulumi.Resource]] | None = None
    """(namespace, bucket) -> the grants one model's pods need to download it (its own, no other model's)."""

    @classmethod
    def from_settings(
        cls,
        stack: StackSettings,
        model_reader_email: pulumi.Input[str] | None,
        depends_on: list[pulumi.Resource],
        grants_for: Callable[[str, str | None], list[pulumi.Resource]] | None = None,
    ) -> InferenceServicesArgs:
        pool = stack.gpu_node_pool
        return cls(
            services=[
                InferenceServiceArgs(**isvc.model_dump(), bucket=isvc.bucket) for isvc in stack.inference_services
            ],
            runtime_name=RUNTIME_NAME,
            per_gpu=stack.replica_size,
            gpu_capacity=pool.gpu_capacity if pool else 0,
            gpu_accelerator=pool.accelerator_type if pool else None,
            model_reader_email=model_reader_email,
            deployment_mode=stack.kserve.deployment_mode,
            cluster_local=stack.kserve.ingress.class_name is None,
            depends_on=depends_on,
            grants_for=grants_for,
        )


def predictor_url(service: InferenceServiceArgs) -> str:
    return f"http://{service.name}-predictor.{service.namespace}.svc.cluster.local"


def rollout_strategy(service: InferenceServiceArgs, spare_gpus: int) -> DeploymentStrategy:
    """Start the new replica first when the pool has a GPU to spare for it; otherwise stop one first, or a
    rollout would wait forever for a GPU that cannot exist (Kubernetes' default surges 25%)."""
    if spare_gpus >= service.gpus:
        update = RollingUpdate(max_surge=1, max_unavailable=0)
    else:
        update = RollingUpdate(max_surge=0, max_unavailable=1)
    return DeploymentStrategy(type="RollingUpdate", rolling_update=update)


def predictor(args: InferenceServicesArgs, service: InferenceServiceArgs) -> PredictorSpec:
    gpus = service.gpus if args.gpu_accelerator else 0
    spare = args.gpu_capacity - sum(s.min_replicas * s.gpus for s in args.services)
    return PredictorSpec(
        min_replicas=service.min_replicas,
        max_replicas=service.max_replicas,
        service_account_name=MODEL_READER_KSA,
        # An InferenceService's tolerations replace the runtime's (no merge key), so repeat the GPU one.
        tolerations=[GPU_TOLERATION] if gpus else None,
        deployment_strategy=rollout_strategy(service, spare) if gpus else None,
        model=ModelSpec(
            model_format=ModelFormat(name=service.model_format, version=service.model_format_version),
            # Named explicitly: pytorch is never auto-selected, and no other runtime can take over a model.
            runtime=args.runtime_name,
            runtime_version=service.runtime_version,
            storage_uri=service.storage_uri,
            # KServe defaults to v1, which Triton does not speak: no runtime would be found for onnx/tensorrt.
            protocol_version="v2",
            resources=triton_resources(args.per_gpu.times(max(gpus, 1)), gpus),
        ),
    )


class InferenceServices(pulumi.ComponentResource):
    """Namespaces, a `model-reader` service account per namespace, and one InferenceService per entry.
    Pass the cluster provider in `opts.providers`."""

    urls: pulumi.Output[dict[str, str]]
    """namespace/name -> the predictor's in-cluster URL."""

    def __init__(self, name: str, args: InferenceServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kserve-triton:kserve:InferenceServices", name, None, opts)

        namespaces: dict[str, pulumi.Input[str]] = {}
        accounts: dict[str, k8s.core.v1.ServiceAccount] = {}
        for namespace in dict.fromkeys(s.namespace for s in args.services):
            if namespace in EXISTING_NAMESPACES:
                namespaces[namespace] = namespace
            else:
                created = k8s.core.v1.Namespace(
                    f"{name}-{namespace}",
                    metadata={"name": namespace},
                    opts=pulumi.ResourceOptions(parent=self),
                )
                namespaces[namespace] = created.metadata["name"]
            accounts[namespace] = k8s.core.v1.ServiceAccount(
                f"{name}-{namespace}-model-reader",
                metadata={
                    "name": MODEL_READER_KSA,
                    "namespace": namespaces[namespace],
                    "annotations": (
                        {"iam.gke.io/gcp-service-account": args.model_reader_email}
                        if args.model_reader_email is not None
                        else None
                    ),
                },
                # Workload Identity needs no token in the pod, and Triton never calls the Kubernetes API.
                automount_service_account_token=False,
                opts=pulumi.ResourceOptions(parent=self),
            )

        labels = {"networking.kserve.io/visibility": "cluster-local"} if args.cluster_local else None
        self.services: list[InferenceService] = []
        for service in args.services:
            self.services.append(
                InferenceService(
                    f"{name}-{service.namespace}-{service.name}",
                    name=service.name,
                    namespace=namespaces[service.namespace],
                    annotations={"serving.kserve.io/deploymentMode": args.deployment_mode},
                    labels=labels,
                    spec=InferenceServiceSpec(predictor=predictor(args, service)),
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[
                            *args.depends_on,
                            *(args.grants_for(service.namespace, service.bucket) if args.grants_for else []),
                            accounts[service.namespace],
                        ],
                    ),
                )
            )

        self.urls = pulumi.Output.from_input({f"{s.namespace}/{s.name}": predictor_url(s) for s in args.services})
        self.register_outputs({"urls": self.urls})
