"""numpy.ma's masked ``mean``, ``var`` and ``std``, reduced chunk by chunk and finished
as numpy.ma finishes them: same dtypes, values and masks as numpy.ma
(``numpy/ma/core.py``), quirks included.

A backend reduces each chunk of the data (a dask chunk, a block of rows) with
``valid_count`` and ``valid_total``, adds the partials up and finishes with
``mean_from``. The spread (``STATISTICS`` says which rows with ``Trait.STATISTIC`` are
spreads) takes a second pass: ``squared_anomalies`` from the mean with
kept dimensions (``kept_mean``), finished by ``spread_from``. Partials keep the reduced
dimensions (size 1); ``finish`` drops them unless the user kept them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from lazyarray.ops.reductions import statistic_accumulator

Axes = tuple[int, ...]


class Statistic(NamedTuple):
    spread: bool  # from the squared anomalies about the mean (var, std), not the mean
    root: bool  # the square root of the variance (std)


# the rows with ``Trait.STATISTIC``, by name: how each finishes
STATISTICS = {
    "mean": Statistic(spread=False, root=False),
    "var": Statistic(spread=True, root=False),
    "std": Statistic(spread=True, root=True),
}


# where a reduction of one block puts its temporaries: ``np.empty`` by default; the numpy
# backend passes buffers kept per thread for the run (``Scratch``)
Buffers = Callable[[tuple[int, ...], Any], np.ndarray[Any, Any]]


def _fresh(shape: tuple[int, ...], dtype: Any) -> np.ndarray[Any, Any]:
    return np.empty(shape, dtype)


def _valid(block: Any, scratch: Buffers) -> np.ndarray[Any, Any]:
    """Where ``block`` is not masked, written into a scratch buffer (numpy.ma's
    ``getmaskarray`` would make a new array of a block without a mask)."""
    mask = np.ma.getmask(block)
    valid = scratch(np.shape(block), np.bool_)
    if mask is np.ma.nomask:
        valid.fill(True)
        return valid
    np.logical_not(mask, out=valid)
    return valid


def zero_where(values: np.ndarray[Any, Any], mask: Any) -> np.ndarray[Any, Any]:
    """``values`` (a buffer of its own) with 0 where ``mask``: numpy.ma's ``filled(0)``,
    which numpy then sums pairwise (``np.sum(where=)`` adds one value at a time, its
    error growing with the count: a thousand times numpy.ma's over 1e5 values)."""
    if mask is not np.ma.nomask:
        np.copyto(values, 0, where=mask, casting="unsafe")
    return values


def filled_zero(block: Any, scratch: Buffers | None = None) -> np.ndarray[Any, Any]:
    """The block's data with 0 where it is masked (its data itself where it has no
    mask), in a scratch buffer where one is given."""
    data, mask = np.ma.getdata(block), np.ma.getmask(block)
    if mask is np.ma.nomask:
        return data
    if scratch is None:  # one pass, into memory of its own
        return np.where(mask, np.zeros((), data.dtype), data)
    filled = scratch(data.shape, data.dtype)
    np.copyto(filled, data)
    return zero_where(filled, mask)


def valid_count(block: Any, axes: Axes, scratch: Buffers = _fresh) -> Any:
    return _valid(block, scratch).sum(axis=axes, keepdims=True)


def valid_total(block: Any, axes: Axes, scratch: Buffers | None = None) -> Any:
    """The valid values' sum, in numpy.ma's accumulator (float32 for float16 data)."""
    dtype = statistic_accumulator(np.ma.getdata(block).dtype)
    return np.sum(filled_zero(block, scratch), axis=axes, keepdims=True, dtype=dtype)


def squared_anomalies(block: Any, mean: Any, axes: Axes, scratch: Buffers = _fresh) -> Any:
    """Sum of the squared distances from ``mean`` (masked, kept dimensions) of the valid
    values whose mean is not masked; numpy.ma takes ``|anomaly| ** 2`` of complex ones."""
    usable = _valid(block, scratch)
    usable &= ~np.ma.getmaskarray(mean)
    unusable = np.logical_not(usable, out=usable)
    data, center = np.ma.getdata(block), np.ma.getdata(mean)
    with np.errstate(all="ignore"):
        if np.iscomplexobj(data) or data.dtype != center.dtype:
            anomaly = data - center
            squared = np.absolute(anomaly) ** 2 if np.iscomplexobj(anomaly) else anomaly * anomaly
        else:  # the same arithmetic in one buffer
            squared = np.subtract(data, center, out=scratch(data.shape, data.dtype))
            np.multiply(squared, squared, out=squared)
        return np.sum(zero_where(squared, unusable), axis=axes, keepdims=True)


def mean_from(count: Any, total: Any, dtype: Any = None) -> tuple[Any, Any]:
    """(mean, mask): numpy.ma's ``dsum * 1. / cnt``, cast to ``dtype`` (float16 data's
    mean, added up in float32, is float16); a mean with dimensions (a masked division)
    also masks what is not finite, a scalar one divides plain numbers."""
    mean = total * 1.0 / count
    if dtype is not None and np.dtype(dtype) == np.float16:
        mean = mean.astype(np.float16) if np.ndim(mean) else np.float16(mean)
    empty = count == 0
    if np.ndim(mean):
        empty = empty | ~np.isfinite(mean)
    return mean, empty


def kept_mean(count: Any, total: Any, dtype: Any = None) -> Any:
    """The masked mean with kept dimensions: what numpy.ma's ``var`` subtracts (of the
    data's ``dtype`` for float16, as numpy.ma's mean)."""
    with np.errstate(all="ignore"):
        return np.ma.MaskedArray(*mean_from(count, total, dtype))


def spread_from(root: bool, ddof: int, count: Any, mean: Any, summed: Any) -> tuple[Any, Any]:
    """(variance, or with ``root`` standard deviation, mask) from the count of valid
    values, the kept mean (shaped like ``count``) and the squared anomalies' sum."""
    usable = np.where(np.ma.getmaskarray(mean), 0, count)  # values whose mean is not masked
    variance, masked = _var_from(count, usable, summed, ddof)
    return _std_from(variance, masked) if root else (variance, masked)


def _var_from(count: Any, usable: Any, summed: Any, ddof: int) -> tuple[Any, Any]:
    """A masked quotient keeps its numerator; with dimensions the mask is "nothing
    counted, or count - ddof <= 0", as a scalar the quotient's own mask."""
    degrees = count - ddof
    quotient = summed / degrees
    undefined = (usable == 0) | ~np.isfinite(quotient) | (degrees == 0)
    variance = np.where(undefined, summed, quotient)
    if np.ndim(variance):
        return variance, (count == 0) | (degrees <= 0)
    return variance, undefined


def _std_from(variance: Any, masked: Any) -> tuple[Any, Any]:
    """numpy.ma's ``sqrt(var)``, whose sqrt masks (and keeps the input of) what is not
    finite."""
    root = np.sqrt(variance)
    invalid = ~np.isfinite(root) | (variance < 0)
    return np.where(invalid, variance, root), masked | invalid


def finish(
    function: Callable[..., tuple[Any, Any]], axes: Axes, keepdims: bool, *reduced: Any
) -> tuple[Any, Any]:
    """``function`` on results whose reduced ``axes`` are kept (size 1), after dropping
    them unless the user kept them (numpy.ma tells scalars from arrays)."""
    if not keepdims:
        shape = tuple(n for d, n in enumerate(np.shape(reduced[0])) if d not in axes)
        reduced = tuple(np.reshape(r, shape) for r in reduced)
    with np.errstate(all="ignore"):
        return function(*reduced)
