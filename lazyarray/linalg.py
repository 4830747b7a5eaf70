"""``lazyarray.linalg``: the array API standard's linear algebra extension, generated from
the op rows whose ``namespaces`` include "linalg", and the decompositions with several
results (``lazyarray.composites``)."""

from lazyarray.composites import LINALG
from lazyarray.namespace import generated

_FUNCTIONS = {**generated("linalg"), **LINALG}
globals().update(_FUNCTIONS)

__all__ = sorted(_FUNCTIONS)
