"""``parameter``: a typed hole in an expression, filled by ``compute(name=value)``."""

from __future__ import annotations

import keyword
from typing import Any

import numpy as np

from lazyarray.errors import ArgumentError
from lazyarray.execution import COMPUTE_KEYWORDS
from lazyarray.ops import apply
from lazyarray.proxy.base import BaseArray, wrap
from lazyarray.types import Shape, as_dtype, check_supported_dtype, normalize_shape, shape_text


def parameter(
    name: str,
    type_: Any = None,
    dtype: Any = "float64",
    shape: Any = None,
    masked: bool | None = None,
) -> Any:
    """A parameter of an expression; its value is given at compute time.

    ``type_`` is ``la.Array`` (default shape: 1-d of any length), ``la.MaskedArray`` or
    ``la.Scalar``; ``shape`` may use ``None`` for sizes any argument may have. Arguments
    are cast to ``dtype`` as numpy casts them: Python scalars weakly (NEP 50; an int out of
    range is refused), arrays ``same_kind`` (integers that would wrap are refused). Two
    parameters may share a name only when declared alike.

    >>> import lazyarray as la
    >>> x = la.parameter("x", la.Array, dtype="float64")
    >>> (x * 2).compute(x=[1.0, 2.0])
    array([2., 4.])
    """
    if not isinstance(name, str):
        raise ArgumentError(f"a parameter's name must be a str, not {type(name).__name__}")
    if not name.isidentifier() or keyword.iskeyword(name) or name in COMPUTE_KEYWORDS:
        raise ArgumentError(
            f"parameter name {name!r} must be a Python identifier and not one of "
            f"compute()'s keywords ({', '.join(sorted(COMPUTE_KEYWORDS))})"
        )
    kind = _kind(type_)
    if shape is None:
        shape = () if kind == "Scalar" else (None,)
    elif isinstance(shape, (bool, np.bool_)) or not isinstance(
        shape, (int, np.integer, tuple, list)
    ):
        raise ArgumentError(
            f"a parameter's shape is a tuple of sizes (None for any), not {shape!r}"
        )
    shape = _sizes(normalize_shape(shape) if not isinstance(shape, (list, tuple)) else shape)
    if kind == "Scalar" and shape != ():
        raise ArgumentError(f"a Scalar parameter has shape (), not {shape_text(shape)}")
    if masked is not None and not isinstance(masked, (bool, np.bool_)):
        raise ArgumentError(f"masked= is True, False or None, not {masked!r}")
    is_masked = bool(masked) if masked is not None else kind == "MaskedArray"
    return wrap(
        apply(
            "parameter",
            (),
            name=name,
            dtype=check_supported_dtype(as_dtype(dtype)),
            shape=shape,
            masked=is_masked,
        )
    )


_KINDS = ("Array", "MaskedArray", "Scalar")


def _kind(type_: Any) -> str:
    """The proxy class's name: ``la.Array`` (also the default), ``la.MaskedArray`` or
    ``la.Scalar``."""
    if type_ is None:
        return "Array"
    if isinstance(type_, type) and issubclass(type_, BaseArray) and type_.__name__ in _KINDS:
        return type_.__name__
    raise ArgumentError(
        f"a parameter's type is la.Array, la.MaskedArray or la.Scalar, not {type_!r} "
        "(give its dtype with dtype=)"
    )


def _sizes(shape: Any) -> Shape:
    sizes: list[int | None] = []
    for size in shape:
        if size is None:
            sizes.append(None)
            continue
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
            raise ArgumentError(
                f"'{type(size).__name__}' object cannot be interpreted as an integer "
                f"(in the parameter's shape {tuple(shape)!r})"
            )
        if size < 0:
            raise ArgumentError(f"negative dimensions are not allowed: {tuple(shape)!r}")
        sizes.append(int(size))
    return tuple(sizes)
