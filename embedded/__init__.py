"""The embedded cluster: real Kubernetes, cert-manager, KEDA, KServe and the Pulumi engine, built from Go
modules and run on loopback, for the end-to-end tests and `python -m kserve_triton cluster up`."""
