"""``lazyarray.lib.stride_tricks``: generated from the op rows whose ``namespaces``
include "lib.stride_tricks" (``sliding_window_view``).

>>> import lazyarray as la
>>> la.lib.stride_tricks.sliding_window_view(la.arange(5), 3).compute()
array([[0, 1, 2],
       [1, 2, 3],
       [2, 3, 4]])
"""

from lazyarray.namespace import generated

_FUNCTIONS = generated("lib.stride_tricks")
globals().update(_FUNCTIONS)

__all__ = sorted(_FUNCTIONS)
