"""``lazyarray.linalg``: the array API standard's linear algebra extension, generated from
the op rows whose ``namespaces`` include "linalg", and the decompositions with several
results (``composites_linalg``)."""

from lazyarray.composites_linalg import COMPOSITES
from lazyarray.composites_manipulation import LINALG
from lazyarray.namespace import generated

_FUNCTIONS = {**generated("linalg"), **LINALG, **COMPOSITES}
globals().update(_FUNCTIONS)

__all__ = sorted(_FUNCTIONS)
