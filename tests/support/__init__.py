"""Harnesses the suites share: real servers (Triton, Prometheus), real helm renders, schema validation, the
policy pack run as the engine would, and the stack configs the tests deploy."""
