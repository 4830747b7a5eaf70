"""``lazyarray.lib.stride_tricks``: generated from the op rows whose ``namespaces``
include "lib.stride_tricks" (``sliding_window_view``)."""

from lazyarray.namespace import generated

_FUNCTIONS = generated("lib.stride_tricks")
globals().update(_FUNCTIONS)

__all__ = sorted(_FUNCTIONS)
