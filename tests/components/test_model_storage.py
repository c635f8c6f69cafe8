"""Model storage access: a read-only model account, bound to Kubernetes through Workload Identity."""

from __future__ import annotations

import pytest

from components.model_storage import ModelStorageAccess, ModelStorageAccessArgs


@pytest.fixture
def access(pulumi_mocks):
    import pulumi_gcp as gcp

    def program():
        cluster = gcp.container.Cluster("cluster", workload_identity_config={"workload_pool": "my-project.svc.id.goog"})
        ModelStorageAccess(
            "models",
            ModelStorageAccessArgs(
                project="my-project",
                cluster_name="inference",
                buckets=["team-models", "shared-weights"],
                namespaces=["models", "research"],
                workload_pool_owner=[cluster],
            ),
        )

    pulumi_mocks.run(program)
    return pulumi_mocks.monitor


EMAIL = "inference-models@my-project.iam.gserviceaccount.com"


def test_a_dedicated_service_account_reads_models(access):
    account = access.one("gcp:serviceaccount/account:Account")
    assert account.inputs["accountId"] == "inference-models"
    assert account.outputs["email"] == EMAIL


def test_read_only_on_each_model_bucket_and_nothing_else(access):
    grants = access.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert sorted((g.inputs["bucket"], g.inputs["role"], g.inputs["member"]) for g in grants) == [
        ("shared-weights", "roles/storage.objectViewer", f"serviceAccount:{EMAIL}"),
        ("team-models", "roles/storage.objectViewer", f"serviceAccount:{EMAIL}"),
    ]
    assert access.of_type("gcp:projects/iAMMember:IAMMember") == [], "no project-wide role"


def test_each_namespaces_model_reader_may_impersonate_it(access):
    bindings = access.of_type("gcp:serviceaccount/iAMMember:IAMMember")
    assert sorted(b.inputs["member"] for b in bindings) == [
        "serviceAccount:my-project.svc.id.goog[models/model-reader]",
        "serviceAccount:my-project.svc.id.goog[research/model-reader]",
    ]
    for binding in bindings:
        assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
        assert binding.inputs["serviceAccountId"] == f"projects/my-project/serviceAccounts/{EMAIL}"


def test_workload_identity_bindings_wait_for_the_cluster_that_creates_the_pool(access):
    cluster = access.one("gcp:container/cluster:Cluster")
    for binding in access.of_type("gcp:serviceaccount/iAMMember:IAMMember"):
        assert cluster.urn in binding.dependencies


def test_no_keys_are_ever_created(access):
    assert not [n for n in access.nodes.values() if n.type.startswith("gcp:serviceaccount/key:")]
