"""Seeded random arrays, generated lazily and blockwise.

A 10**9-element array costs nothing until computed; the same seed gives the same values
on every backend, whatever part of the array is computed. The values are lazyarray's own
counter-based stream, not numpy's ``default_rng`` stream: each value depends only on the
seed, the draw and its position, which is what lets any slice be drawn alone.

>>> import lazyarray as la
>>> rng = la.random.default_rng(42)
>>> x = rng.normal(size=(1000, 1000))
>>> x.shape
(1000, 1000)
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from lazyarray.errors import UnsupportedOperation
from lazyarray.ops import apply
from lazyarray.proxy import wrap
from lazyarray.types import as_dtype, normalize_shape


class Generator:
    """``numpy.random.Generator``'s ``random``, ``uniform``, ``normal`` and ``integers``
    with scalar parameters; each draw is a new independent stream (its own, not numpy's
    numbers)."""

    def __init__(self, seed: int) -> None:
        try:
            self.seed = operator.index(seed)
        except TypeError:
            raise UnsupportedOperation(
                f"a seed is an int here, not {type(seed).__name__} (no SeedSequence)"
            ) from None
        self._streams = 0

    def _draw(self, distribution: str, params: tuple[Any, ...], size: Any, dtype: Any) -> Any:
        stream = self._streams
        self._streams += 1
        return wrap(
            apply(
                "random",
                (),
                shape=normalize_shape(() if size is None else size),
                seed=self.seed,
                stream=stream,
                distribution=distribution,
                params=params,
                dtype=as_dtype(dtype),
            )
        )

    def random(self, size: Any = None, dtype: Any = np.float64) -> Any:
        """Uniform floats in [0, 1)."""
        return self._draw("random", (), size, dtype)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> Any:
        return self._draw("uniform", _scalars(float, low=low, high=high), size, np.float64)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None) -> Any:
        return self._draw("normal", _scalars(float, loc=loc, scale=scale), size, np.float64)

    def integers(self, low: int, high: int | None = None, size: Any = None) -> Any:
        if high is None:
            low, high = 0, low
        return self._draw("integers", _scalars(int, low=low, high=high), size, np.int64)


def _scalars(kind: type, **given: Any) -> tuple[Any, ...]:
    """The distribution's parameters as Python numbers; an array of them is refused."""
    values = []
    for name, value in given.items():
        if np.ndim(value) != 0:
            raise UnsupportedOperation(
                f"{name} is a number here, not an array of shape {np.shape(value)}: draw "
                "with scalar parameters, then scale and shift the arrays"
            )
        values.append(kind(value))
    return tuple(values)


def default_rng(seed: int = 0) -> Generator:
    return Generator(seed)


def random(size: Any = None, seed: int = 0) -> Any:
    """Uniform floats in [0, 1) from stream 0 of ``seed``."""
    return Generator(seed).random(size)


def normal(loc: float = 0.0, scale: float = 1.0, size: Any = None, seed: int = 0) -> Any:
    return Generator(seed).normal(loc, scale, size)


def uniform(low: float = 0.0, high: float = 1.0, size: Any = None, seed: int = 0) -> Any:
    return Generator(seed).uniform(low, high, size)


def integers(low: int, high: int | None = None, size: Any = None, seed: int = 0) -> Any:
    return Generator(seed).integers(low, high, size)
