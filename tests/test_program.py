"""The real __main__.py, run under mocks with each stack file's configuration."""

from __future__ import annotations

import pytest
import yaml

from conftest import STACK_FILES, stack_config, unwrap_secret


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=[f.name for f in STACK_FILES])
def test_every_stack_file_deploys_under_mocks(stack_file, pulumi_mocks):
    pulumi_mocks.configure(stack_config(stack_file))
    pulumi_mocks.run_main()
    assert pulumi_mocks.monitor.nodes, f"{stack_file.name} registered nothing"


def test_dev_stack_exports_what_a_user_needs(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main()
    exports = pulumi_mocks.exports
    assert exports["clusterName"].value == "kserve-triton-dev"
    assert exports["clusterLocation"].value == "us-central1-a"
    assert exports["gpuNodePoolName"].value.startswith("gpu-")
    assert exports["kubeconfig"].secret, "the kubeconfig output must be a secret"
    kubeconfig = yaml.safe_load(unwrap_secret(exports["kubeconfig"].value))
    assert kubeconfig["current-context"] == "gke_my-gcp-project_us-central1-a_kserve-triton-dev"
    assert not any(e.secret for name, e in exports.items() if name != "kubeconfig")


def test_dev_stack_is_a_cheap_zonal_spot_set_up(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main()
    monitor = pulumi_mocks.monitor
    cluster = monitor.one("gcp:container/cluster:Cluster")
    gpu_pool = monitor.one("gcp:container/nodePool:NodePool", "gpu")
    assert cluster.inputs["location"] == "us-central1-a"
    assert cluster.inputs["deletionProtection"] is False and cluster.protect is False
    assert gpu_pool.inputs["nodeConfig"]["spot"] is True
    assert gpu_pool.inputs["autoscaling"]["totalMinNodeCount"] == 0
    assert gpu_pool.inputs["nodeConfig"]["guestAccelerators"][0]["count"] == 1


def test_kserve_installs_on_the_cluster_without_waiting_for_gpu_nodes(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main()
    monitor = pulumi_mocks.monitor
    gpu_pool = monitor.one("gcp:container/nodePool:NodePool", "gpu")
    provider = monitor.one("pulumi:providers:kubernetes")
    assert not monitor.depends_on(provider, gpu_pool)
    for release in monitor.of_type("kubernetes:helm.sh/v3:Release"):
        assert monitor.provider_of(release) is provider, f"{release.name} must use the cluster's provider"
        assert monitor.depends_on(release, monitor.one("gcp:container/nodePool:NodePool", "gke-system"))
        assert not monitor.depends_on(release, gpu_pool), f"{release.name} must not wait for GPU nodes"


def test_dev_stack_exports_the_kserve_namespace_and_version(pulumi_mocks, dev_config):
    pulumi_mocks.configure(dev_config)
    pulumi_mocks.run_main()
    assert pulumi_mocks.exports["kserveNamespace"].value == "kserve"
    assert pulumi_mocks.exports["kserveVersion"].value == "v0.20.0"
