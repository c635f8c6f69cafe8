"""The embedded cluster's own parts: the part builder, the egress proxy, the pod runner."""
