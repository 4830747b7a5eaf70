"""``python -m lazyarray.serialize schema [--check]``: writes the shipped JSON Schema
(or, with ``--check``, fails if it is stale)."""

import sys

from lazyarray.serialize.schema import SHIPPED, text

if sys.argv[1:2] != ["schema"]:
    sys.exit("usage: python -m lazyarray.serialize schema [--check]")
if sys.argv[2:] == ["--check"]:
    sys.exit(0 if SHIPPED.read_text() == text() else "schema.json is stale: run make schema")
SHIPPED.write_text(text())
