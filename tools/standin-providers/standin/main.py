"""Entry point of a stand-in provider executable: `python -m standin.main NAME`, or the
terraform-provider-NAME script the mirror installer writes."""

import os
import sys

from . import server
from .aap import AapProvider
from .google import GoogleProvider
from .provider import Schemas
from .vault import VaultProvider

PROVIDERS = {"google": GoogleProvider, "vault": VaultProvider, "aap": AapProvider}
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "schemas")


def main(name):
    if name not in PROVIDERS:
        sys.stderr.write(f"unknown stand-in provider {name!r}; known: {', '.join(sorted(PROVIDERS))}\n")
        return 2
    schemas = Schemas.from_dir(os.path.join(SCHEMA_DIR, name))
    return server.serve(PROVIDERS[name](schemas))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
