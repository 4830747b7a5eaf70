"""``python -m lazyarray``: the ``lazyarray`` command."""

import sys

from lazyarray.cli import main

sys.exit(main())
