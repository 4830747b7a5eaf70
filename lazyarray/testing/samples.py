"""Inputs with the awkward values of each kind, written once for numpy and lazyarray
alike: the differential tests and the conformance suite draw from them."""

from __future__ import annotations

from typing import Any

import numpy as np

# big enough to run in several blocks in the kernels mode (block_bytes=1024: 128 float64)
SHAPE = (37, 41)

DTYPES = ["bool", "int8", "int64", "uint8", "float32", "float64", "complex128"]


def sample(dtype: str, shape: tuple[int, ...] = SHAPE, seed: int = 0) -> np.ndarray[Any, Any]:
    """Arrays with the awkward values of each kind: 0, -0.0, NaN, inf, negatives."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    kind = np.dtype(dtype).kind
    if kind == "b":
        values: Any = rng.integers(0, 2, size).astype(bool)
    elif kind in "iu":
        low = 0 if kind == "u" else -3
        values = rng.integers(low, 6, size)
    else:
        values = rng.normal(0, 2, size)
        special = [0.0, -0.0, np.nan, np.inf, -np.inf, 0.5]
        values[: min(len(special), size)] = special[:size]
        rng.shuffle(values)
        if kind == "c":
            values = values + 1j * rng.normal(0, 1, size)
    return np.asarray(values).astype(dtype).reshape(shape)


def masked_sample(dtype: str, shape: tuple[int, ...] = SHAPE, seed: int = 0) -> Any:
    data = sample(dtype, shape, seed)
    mask = np.random.default_rng(seed + 100).random(shape) < 0.3
    return np.ma.MaskedArray(data, mask=mask)


__all__ = ["DTYPES", "SHAPE", "masked_sample", "sample"]
