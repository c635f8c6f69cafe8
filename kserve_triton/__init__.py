"""Tools around the kserve-triton Pulumi program: `python -m kserve_triton --help`."""
