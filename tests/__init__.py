"""The test suites: one folder per package they test (`catalog/`, `settings/`, `components/`, `policy/`,
`kserve_triton/`), the whole program (`program/`), delivery (`delivery/`: the deploy script, the workflow, the
preview identity's RBAC), and apart from them what the suites stand on: `support/` (harnesses: real servers,
helm renders, schemas, the policy pack without the CLI, shared configs) and `upstream/` (models of upstream
behaviour, each naming the upstream file and version it mirrors)."""
