"""The preview identity's Kubernetes RBAC (bootstrap/preview-rbac.yaml): valid, read-only, secrets only in Helm's
release namespaces, and enough to refresh everything the program declares for dev and prod."""

from __future__ import annotations

import re

import pytest
import yaml

from kserve_triton.offline import run_stack
from tests.support.schemas import builtin_errors
from tests.support.stacks import PROJECT_OVERRIDE, ROOT

MANIFEST = ROOT / "bootstrap" / "preview-rbac.yaml"
PREVIEW_USER = "PREVIEW_SERVICE_ACCOUNT_EMAIL"
READ = {"get", "list", "watch"}


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]


def of_kind(documents: list[dict], kind: str) -> list[dict]:
    return [d for d in documents if d["kind"] == kind]


def rules_bound(documents: list[dict], binding_kind: str, namespace: str | None = None) -> list[dict]:
    """The rules the preview user gets from bindings of this kind (in `namespace`, for RoleBindings)."""
    roles = {r["metadata"]["name"]: r for r in of_kind(documents, "ClusterRole")}
    rules = []
    for binding in of_kind(documents, binding_kind):
        if namespace is not None and binding["metadata"]["namespace"] != namespace:
            continue
        assert binding["roleRef"]["kind"] == "ClusterRole"
        rules += roles[binding["roleRef"]["name"]]["rules"]
    return rules


def can(rules: list[dict], verbs: set[str], group: str, resource: str) -> bool:
    return any(
        group in rule["apiGroups"]
        and (resource in rule["resources"] or "*" in rule["resources"])
        and set(rule["verbs"]) >= verbs
        for rule in rules
    )


def test_every_object_is_valid_kubernetes(documents):
    assert [d["kind"] for d in documents].count("ClusterRole") == 2
    for document in documents:
        assert builtin_errors(document) == [], document["metadata"]["name"]


def test_it_grants_reading_only(documents):
    for role in of_kind(documents, "ClusterRole"):
        for rule in role["rules"]:
            assert set(rule["verbs"]) <= READ, f"{role['metadata']['name']}: {rule}"
            assert "*" not in rule["apiGroups"] and "nonResourceURLs" not in rule


def test_it_binds_only_the_preview_identity(documents):
    for binding in of_kind(documents, "ClusterRoleBinding") + of_kind(documents, "RoleBinding"):
        assert binding["subjects"] == [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": PREVIEW_USER}
        ], "the bootstrap replaces the placeholder with the preview service account's email"


def test_secrets_are_never_readable_cluster_wide(documents):
    cluster_wide = rules_bound(documents, "ClusterRoleBinding")
    assert not any("" in rule["apiGroups"] and {"secrets", "*"} & set(rule["resources"]) for rule in cluster_wide)


def kubernetes_types(stack: str) -> set[tuple[str, str | None]]:
    """(type token, Helm release namespace) of every Kubernetes resource the program registers for a stack."""
    nodes = run_stack(stack, overrides=PROJECT_OVERRIDE).monitor.nodes
    nodes = nodes.values() if isinstance(nodes, dict) else nodes
    return {
        (n.type, n.inputs.get("namespace") if n.type == "kubernetes:helm.sh/v3:Release" else None)
        for n in nodes
        if n.custom and n.type.startswith("kubernetes:") and not n.type.startswith("pulumi:providers:")
    }


def group_and_resource(token: str) -> tuple[str, str]:
    """`kubernetes:networking.k8s.io/v1:NetworkPolicy` -> ("networking.k8s.io", "networkpolicies"); a patch
    (`kubernetes:apps/v1:DeploymentPatch`) reads the object it patches: ("apps", "deployments")."""
    match = re.fullmatch(r"kubernetes:(?P<group>[^/]+)/[^:]+:(?P<kind>\w+)", token)
    assert match, token
    group = "" if match["group"] == "core" else match["group"]
    kind = match["kind"].removesuffix("Patch").lower()
    return group, (kind[:-1] + "ies" if kind.endswith("y") else kind + "s")


def test_resource_names():
    assert group_and_resource("kubernetes:networking.k8s.io/v1:NetworkPolicy") == (
        "networking.k8s.io",
        "networkpolicies",
    )
    assert group_and_resource("kubernetes:apps/v1:DeploymentPatch") == ("apps", "deployments")
    assert group_and_resource("kubernetes:core/v1:NamespacePatch") == ("", "namespaces")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_preview_identity_can_read_everything_the_program_declares(documents, stack):
    cluster_wide = rules_bound(documents, "ClusterRoleBinding")
    types = kubernetes_types(stack)
    assert any(token == "kubernetes:helm.sh/v3:Release" for token, _ in types), "the program has Helm releases"
    for token, namespace in types:
        if token == "kubernetes:helm.sh/v3:Release":
            # A release's refresh reads Helm's record of it (get, or list by label): Secrets in its namespace.
            assert can(rules_bound(documents, "RoleBinding", namespace), {"get", "list"}, "", "secrets"), namespace
        else:
            assert can(cluster_wide, READ, *group_and_resource(token)), token
