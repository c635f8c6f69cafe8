"""What KServe's own `kserve-tritonserver` runtime declares it serves: the model formats (with versions) and
protocols, as `config/runtimes/kserve-tritonserver.yaml` in KServe v0.20.0 lists them, in upstream order.

The settings check an InferenceService's `modelFormat` against these before anything exists, and the runtime
component declares them: both read them here. `pytorch` is served but never auto-selected, because KServe's
TorchServe runtime claims it (an InferenceService must name this runtime to get Triton).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServedFormat:
    name: str
    version: str
    auto_select: bool = False
    priority: int | None = None


SERVED_FORMATS: tuple[ServedFormat, ...] = (
    ServedFormat("tensorrt", "8", auto_select=True, priority=1),
    ServedFormat("tensorflow", "1", auto_select=True, priority=1),
    ServedFormat("tensorflow", "2", auto_select=True, priority=1),
    ServedFormat("onnx", "1", auto_select=True, priority=1),
    ServedFormat("pytorch", "1"),
    ServedFormat("triton", "2", auto_select=True, priority=1),
)
PROTOCOL_VERSIONS: tuple[str, ...] = ("v2", "grpc-v2")


def formats_served() -> dict[str, list[str]]:
    """Model format name -> the versions the runtime declares for it."""
    served: dict[str, list[str]] = {}
    for model_format in SERVED_FORMATS:
        served.setdefault(model_format.name, []).append(model_format.version)
    return served
