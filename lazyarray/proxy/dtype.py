"""``DType``: the proxy for a dtype; known without computing, equal to the numpy dtype."""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.types import as_dtype


class DType:
    """Compares equal to the numpy dtype it stands for (``x.dtype == np.float64``).

    >>> import lazyarray as la
    >>> la.Array([1.0, 2.0]).dtype == "float64"
    True
    """

    __slots__ = ("numpy_dtype",)

    def __init__(self, type_: Any) -> None:
        self.numpy_dtype: np.dtype[Any] = as_dtype(type_)

    @property
    def dtype(self) -> np.dtype[Any]:
        """Lets ``np.dtype(x.dtype)`` and numpy functions taking ``dtype=`` accept it."""
        return self.numpy_dtype

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DType):
            return self.numpy_dtype == other.numpy_dtype
        try:
            return bool(self.numpy_dtype == as_dtype(other))
        except (TypeError, ValueError):  # not a dtype: unequal, as numpy says
            return False

    def __hash__(self) -> int:
        return hash(self.numpy_dtype)

    def __getattr__(self, name: str) -> Any:
        if name == "numpy_dtype":  # not yet set (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.numpy_dtype, name)  # kind, itemsize, name, char ...

    def compute(self, **_: Any) -> np.dtype[Any]:
        return self.numpy_dtype

    inspect = compute

    def __str__(self) -> str:
        return str(self.numpy_dtype)

    def __repr__(self) -> str:
        return f"DType({self.numpy_dtype})"
