"""Binding ``compute(**arguments)`` to a plan's parameters, checked before anything runs."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import ArgumentError, ValueOverflowError
from lazyarray.graph import Node
from lazyarray.types import check_python_int_fits, shape_text

# Python scalars are weak (NEP 50): they take the parameter's dtype when its kind can hold
# them, as in ``int8_array + 5``
_WEAK_SCALARS = (bool, int, float, complex)
# a nested list of Python scalars is read as they are (``np.asarray(values, dtype)``):
# the Python scalar of each kind numpy makes of one, whose promotion decides
_LISTED = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}


def bind_arguments(parameters: Mapping[str, Node], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """numpy values for every parameter, cast to the declared dtype, with shapes checked
    against the declared ones; errors name the parameter.

    The casting rule is numpy's: a Python scalar is weak (NEP 50), so it is accepted when
    ``declared_array + value`` would keep the declared dtype, and a Python int out of the
    dtype's range is refused as numpy refuses it (``ValueOverflowError``); a nested list
    of Python numbers is weak as they are (``[1, 2]`` fills a uint8 parameter, ``[-1]``
    is refused); an array (or a numpy scalar) is cast ``same_kind``, as
    ``astype(dtype, casting="same_kind")``, except that integer values which do not fit
    an integer dtype are refused instead of wrapping. A float too large for a narrower
    float becomes ``inf``, with numpy's warning."""
    check_names(
        sorted(parameters.keys() - arguments.keys()),
        sorted(arguments.keys() - parameters.keys()),
        missing_what="argument(s) for parameter(s)",
        known=f"the expression's parameters: {', '.join(sorted(parameters)) or 'none'}",
    )
    return {name: _coerce(name, parameters[name], value) for name, value in arguments.items()}


def _coerce(name: str, parameter: Node, value: Any) -> Any:
    expected = parameter.type
    if hasattr(value, "__lazyarray_node__"):
        raise ArgumentError(
            f"argument {name!r} is a lazy expression; arguments must be concrete values "
            "(compute it first)"
        )
    if type(value) in _WEAK_SCALARS:
        return _weak_scalar(name, expected.dtype, value, parameter)
    masked = isinstance(value, np.ma.MaskedArray)
    try:
        array = value if masked else np.asarray(value)
    except (ValueError, OverflowError) as exc:  # a ragged list, an int no dtype holds
        raise ArgumentError(f"argument {name!r} is not an array numpy can make: {exc}") from None
    if masked and not expected.masked:
        raise ArgumentError(
            f"argument {name!r} is a masked array but the parameter is declared unmasked"
        )
    if isinstance(value, list | tuple) and array.dtype == object and expected.dtype.kind in "fc":
        with contextlib.suppress(TypeError, ValueError, OverflowError):  # ints past int64
            array = np.asarray(value, expected.dtype)
    if isinstance(value, list | tuple) and _weak_kind(array.dtype, expected.dtype):
        pass  # Python numbers, weak as a Python scalar is: value-checked below
    elif not np.can_cast(array.dtype, expected.dtype, casting="same_kind"):
        raise ArgumentError(
            f"argument {name!r} has dtype {array.dtype}, which cannot be cast to the "
            f"parameter's dtype {expected.dtype} (same_kind casting)"
        )
    _check_integers_fit(name, array, expected.dtype)
    if array.ndim != expected.ndim or any(
        want is not None and want != got
        for want, got in zip(expected.shape, array.shape, strict=True)
    ):
        raise ArgumentError(
            f"argument {name!r} has shape {array.shape}; the parameter expects "
            f"{shape_text(expected.shape)}"
        )
    if array.dtype != expected.dtype:
        array = array.astype(expected.dtype)
    if expected.masked and not masked:
        array = np.ma.MaskedArray(array)
    return array[()] if expected.ndim == 0 and not masked else array


def _weak_kind(listed: np.dtype[Any], dtype: np.dtype[Any]) -> bool:
    """Whether Python numbers that numpy reads as ``listed`` keep ``dtype`` as a Python
    scalar of their kind does (a list of ints fills a uint8 parameter, as ``5`` does)."""
    scalar = _LISTED.get(listed.kind)
    if scalar is None:
        return False
    try:
        return bool(np.result_type(np.empty(0, dtype), scalar) == dtype)
    except TypeError:
        return False


def _weak_scalar(name: str, dtype: np.dtype[Any], value: Any, parameter: Node) -> Any:
    try:
        kept = np.result_type(np.empty(0, dtype), value) == dtype
    except TypeError:  # no promotion at all (a datetime and a Python int)
        kept = False
    if not kept:
        raise ArgumentError(
            f"argument {name!r} is a Python {type(value).__name__}, which cannot be cast "
            f"to the parameter's dtype {dtype} (same_kind casting)"
        )
    try:
        check_python_int_fits(value, dtype)
    except ValueOverflowError as exc:
        raise ValueOverflowError(f"argument {name!r}: {exc}") from None
    try:
        array = np.asarray(value, dtype)
    except OverflowError as exc:  # 10**400 for a float64
        raise ArgumentError(f"argument {name!r}: {exc} for {dtype}") from None
    if parameter.type.shape:
        return _coerce(name, parameter, array)
    return np.ma.MaskedArray(array) if parameter.type.masked else array[()]


def _check_integers_fit(name: str, array: Any, dtype: np.dtype[Any]) -> None:
    """``astype`` would wrap integers that do not fit; a parameter refuses them."""
    if array.dtype.kind not in "iu" or dtype.kind not in "iu" or array.size == 0:
        return
    if np.can_cast(array.dtype, dtype, casting="safe"):
        return
    values = array.compressed() if isinstance(array, np.ma.MaskedArray) else array
    if values.size == 0:
        return
    low, high = values.min(), values.max()
    info = np.iinfo(dtype)
    if low < info.min or high > info.max:
        bad = high if high > info.max else low
        raise ValueOverflowError(
            f"argument {name!r}: integer {bad} out of bounds for {dtype} "
            f"(the values range from {low} to {high})"
        )


def check_names(
    missing: list[str], unexpected: list[str], *, missing_what: str, known: str
) -> None:
    """Raises ``ArgumentError`` naming the missing and unexpected arguments, with what is
    ``known`` (the declared names)."""
    parts = []
    if missing:
        parts.append(f"missing {missing_what}: {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected argument(s): {', '.join(unexpected)}")
    if parts:
        raise ArgumentError(f"{'; '.join(parts)} ({known})")
