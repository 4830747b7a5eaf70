"""``lazyarray.fft``: the array API standard's fast Fourier transform extension, generated from
the op rows whose ``namespaces`` include "fft"."""

from lazyarray.namespace import generated

_FUNCTIONS = generated("fft")
globals().update(_FUNCTIONS)

__all__ = sorted(_FUNCTIONS)
