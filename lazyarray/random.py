"""Seeded random arrays, generated lazily and blockwise.

A 10**9-element array costs nothing until computed; the same seed gives the same values
on every backend, whatever part of the array is computed.

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

from lazyarray.ops import apply
from lazyarray.proxy import wrap
from lazyarray.types import as_dtype, normalize_shape


class Generator:
    """Like ``numpy.random.Generator``; each draw is a new independent stream."""

    def __init__(self, seed: int) -> None:
        self.seed = operator.index(seed)
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
        return self._draw("uniform", (float(low), float(high)), size, np.float64)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None) -> Any:
        return self._draw("normal", (float(loc), float(scale)), size, np.float64)

    def integers(self, low: int, high: int | None = None, size: Any = None) -> Any:
        if high is None:
            low, high = 0, low
        return self._draw("integers", (int(low), int(high)), size, np.int64)


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
