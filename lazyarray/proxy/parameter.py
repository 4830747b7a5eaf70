"""``parameter``: a typed hole in an expression, filled by ``compute(name=value)``."""

from __future__ import annotations

import keyword
from typing import Any

from lazyarray.errors import ArgumentError
from lazyarray.execution import COMPUTE_KEYWORDS
from lazyarray.ops import apply
from lazyarray.proxy.base import wrap
from lazyarray.types import as_dtype, check_supported_dtype, normalize_shape


def parameter(
    name: str,
    type_: Any = None,
    dtype: Any = "float64",
    shape: Any = None,
    masked: bool | None = None,
) -> Any:
    """A parameter of an expression; its value is given at compute time.

    ``type_`` is ``la.Array`` (default shape: 1-d of any length), ``la.MaskedArray`` or
    ``la.Scalar``; ``shape`` may use ``None`` for sizes any argument may have.

    >>> import lazyarray as la
    >>> x = la.parameter("x", la.Array, dtype="float64")
    >>> (x * 2).compute(x=[1.0, 2.0])
    array([2., 4.])
    """
    if not name.isidentifier() or keyword.iskeyword(name) or name in COMPUTE_KEYWORDS:
        raise ArgumentError(
            f"parameter name {name!r} must be a Python identifier and not one of "
            f"compute()'s keywords ({', '.join(sorted(COMPUTE_KEYWORDS))})"
        )
    kind = getattr(type_, "__name__", "Array")
    if shape is None:
        shape = () if kind == "Scalar" else (None,)
    is_masked = bool(masked) if masked is not None else kind == "MaskedArray"
    return wrap(
        apply(
            "parameter",
            (),
            name=name,
            dtype=check_supported_dtype(as_dtype(dtype)),
            shape=normalize_shape(shape),
            masked=is_masked,
        )
    )
