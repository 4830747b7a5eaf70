"""``python -m lazyarray``: the ``lazyarray`` command."""

import sys

from lazyarray.cli import main

if __name__ == "__main__":  # not when a tool imports this module to read it
    sys.exit(main())
