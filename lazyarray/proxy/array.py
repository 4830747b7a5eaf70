"""The proxy classes users construct: ``Array``, ``MaskedArray`` and ``Scalar``."""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.graph import creation_site
from lazyarray.ops.creation import constant_node
from lazyarray.proxy import build
from lazyarray.proxy.base import BaseArray, as_node, wrap


class Array(BaseArray):
    """A lazy n-dimensional array: operations record graph nodes; ``compute`` runs them.

    Any size of numpy array can be wrapped; wrapping neither copies nor reads it.

    >>> import lazyarray as la
    >>> x = la.Array([[1, 2, 3], [4, 5, 6]])
    >>> (x * 2).sum(axis=0).compute()
    array([10, 14, 18])
    """

    __slots__ = ()

    def __new__(cls, arr: Any) -> Any:
        if type(arr) is np.ndarray:  # the common case, without ``as_node``'s questions
            return wrap(constant_node(arr, creation_site()))
        return wrap(as_node(arr, creation_site()))

    @classmethod
    def from_numpy(cls, arr: np.ndarray[Any, Any]) -> Any:
        """Wraps an ndarray (no copy, no pass over its data)."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"from_numpy expects a numpy.ndarray, not {type(arr).__name__}")
        return cls(arr)


class MaskedArray(BaseArray):
    """A lazy array with missing or invalid entries, following numpy.ma semantics.

    >>> import lazyarray as la
    >>> m = la.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False])
    >>> float(m.mean())
    2.0
    """

    __slots__ = ()

    def __new__(cls, data: Any, mask: Any = False, fill_value: Any = None) -> Any:
        plain_mask = isinstance(mask, bool) and not mask
        if isinstance(data, np.ma.MaskedArray) and plain_mask and fill_value is None:
            return wrap(as_node(data))
        return build.masked_array(data, mask, fill_value)

    @classmethod
    def from_numpy(
        cls, arr: np.ndarray[Any, Any], mask: Any = False, fill_value: Any = None
    ) -> Any:
        """Wraps a numpy.ma.MaskedArray, or an ndarray with a mask."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"from_numpy expects a numpy array, not {type(arr).__name__}")
        return cls(arr, mask, fill_value)

    def filled(self, fill_value: Any = None) -> Any:
        """An Array with masked entries replaced by ``fill_value`` (default: the array's)."""
        return build.unary("filled", self, fill_value=fill_value)

    def compressed(self) -> Any:
        """The unmasked values as a 1-d Array (its length is known only after computing)."""
        return build.unary("compressed", self)

    def getmaskarray(self) -> Any:
        return build.unary("getmaskarray", self)

    def getdata(self) -> Any:
        """The data under the mask, as an Array (``la.getdata(x)`` too)."""
        return build.unary("getdata", self)

    @property
    def mask(self) -> Any:
        return build.unary("getmaskarray", self)

    @property
    def data(self) -> Any:
        return build.unary("getdata", self)

    @property
    def fill_value(self) -> Any:
        """A Scalar: numpy.ma's fill value for this array (known after computing)."""
        return build.unary("fill_value", self)


class Scalar(BaseArray):
    """A lazy 0-d value, e.g. the result of a full reduction; ``float(s)`` computes it."""

    __slots__ = ()

    def __new__(cls, obj: Any) -> Any:
        node = as_node(obj)
        if node.type.ndim != 0:
            raise ValueError(f"a Scalar holds one value, not shape {node.type.shape}")
        return wrap(node)
