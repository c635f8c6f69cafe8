"""The end-to-end suite: the project's real `pulumi up` into the embedded cluster (embedded/), where the real
cert-manager, KServe and KEDA run as local processes."""
