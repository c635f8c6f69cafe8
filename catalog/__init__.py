"""Facts about the world the program relies on, each with its source: GCP machine types, accelerators, regions
and zones (`gcp`, `gcp_locations`), GKE's GPU scheduling labels (`gpu_placement`), Triton releases
(`triton_releases`), what KServe's Triton runtime serves (`kserve_runtime`), and Triton's, DCGM's and
kube-state-metrics' metric names with the queries built on them (`triton_metrics`).

The bottom floor: nothing here imports `settings`, `components` or any tool (tests/test_layering.py).
"""
