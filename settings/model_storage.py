"""Where models are read from: buckets this stack grants read access to, and world-readable ones."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import field_validator

from settings.base import Problem, Settings, Text

if TYPE_CHECKING:
    from settings.stack import StackSettings

BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


class ModelStorageSettings(Settings):
    """Model buckets: granted read-only to InferenceServices through Workload Identity, or public."""

    buckets: list[Text] = []
    """GCS buckets the models are read from; the model service account gets read-only access to each."""
    public_buckets: list[Text] = ["kfserving-examples"]
    """World-readable GCS buckets (nothing to grant), e.g. KServe's public sample models."""

    @field_validator("buckets", "public_buckets")
    @classmethod
    def _bucket_names(cls, buckets: list[str]) -> list[str]:
        for bucket in buckets:
            if not BUCKET.match(bucket):
                raise ValueError(f"{bucket!r} is not a GCS bucket name (3-63 lowercase letters, digits, . _ -)")
        return buckets

    @property
    def readable(self) -> set[str]:
        return set(self.buckets) | set(self.public_buckets)


def stack_problems(stack: StackSettings) -> list[Problem]:
    if not stack.on_gke and stack.model_storage.buckets:
        return [
            Problem(
                "modelStorage.buckets",
                stack.model_storage.buckets,
                "granting bucket access needs GKE Workload Identity; use modelStorage.publicBuckets",
            )
        ]
    return []
