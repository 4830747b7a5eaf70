"""The embedded default backend: runs a plan in-process with numpy."""

from lazyarray_numpy.backend import NumpyBackend

__all__ = ["NumpyBackend"]
