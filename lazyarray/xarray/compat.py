"""Where xarray special-cases dask arrays or numpy dtypes by type, the same case for
lazyarray proxies.

Indexing a variable with a 0-d array key (what ``idxmin``/``idxmax`` do with the
position ``argmin``/``argmax`` found) drops the indexed dimension only when xarray
knows the key is a scalar: an integer, a 0-d numpy array (read with ``.item()``, which
would compute a lazy one), or a 0-d dask array (``is_0d_dask_array``). A 0-d lazyarray
is a scalar too, without computing it: ``install`` makes xarray's check say so.

A missing value's fill (``where(cond)`` without ``other``, ``shift``, ``pad``,
``reindex``, the NaN put back by ``idxmax``) is chosen by ``dtypes.maybe_promote``, and
a rolling max's or min's by ``dtypes.get_neg_infinity``/``get_pos_infinity``, which
take only a ``numpy.dtype``; a proxy's ``dtype`` is a lazyarray ``DType`` (equal to
numpy's, not one), so ``install`` hands them its numpy dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lazyarray.proxy import BaseArray
from lazyarray.proxy.dtype import DType


def _scalar_too(original: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def is_0d_dask_array(x: Any) -> bool:
        return (isinstance(x, BaseArray) and x.ndim == 0) or original(x)

    is_0d_dask_array.lazyarray = True  # type: ignore[attr-defined]
    return is_0d_dask_array


def _numpy_dtype_too(original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` (a fill value chosen by dtype) asked of the numpy dtype a proxy's
    ``DType`` stands for: numpy's own dtype tests answer False for a ``DType``."""

    def by_numpy_dtype(dtype: Any, *args: Any, **kwargs: Any) -> Any:
        return original(dtype.numpy_dtype if isinstance(dtype, DType) else dtype, *args, **kwargs)

    by_numpy_dtype.lazyarray = True  # type: ignore[attr-defined]
    return by_numpy_dtype


def install() -> None:
    """Extends xarray's 0-d dask check and its fill values to lazyarray proxies (once;
    a version of xarray without either is left as it is)."""
    from xarray.core import dtypes, variable

    for module, name, extend in (
        (variable, "is_0d_dask_array", _scalar_too),
        (dtypes, "maybe_promote", _numpy_dtype_too),
        (dtypes, "get_pos_infinity", _numpy_dtype_too),  # rolling max, min, argmax...
        (dtypes, "get_neg_infinity", _numpy_dtype_too),
    ):
        original = getattr(module, name, None)
        if original is not None and not getattr(original, "lazyarray", False):
            setattr(module, name, extend(original))
