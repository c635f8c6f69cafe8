"""`python -m settings`: print the configuration table; `--update-docs` rewrites it into the README and the
config block into Pulumi.yaml."""

import sys

from settings.reference import reference_table, update_docs

if sys.argv[1:] == ["--update-docs"]:
    update_docs()
else:
    print(reference_table())
