"""Binding ``compute(**arguments)`` to a plan's parameters, checked before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import ArgumentError
from lazyarray.graph import Node
from lazyarray.types import shape_text


def bind_arguments(parameters: Mapping[str, Node], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """numpy values for every parameter, cast to the declared dtype (``same_kind``), with
    shapes checked against the declared ones; errors name the parameter."""
    missing = sorted(parameters.keys() - arguments.keys())
    unexpected = sorted(arguments.keys() - parameters.keys())
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing argument(s) for parameter(s): {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected argument(s): {', '.join(unexpected)}")
        declared = ", ".join(sorted(parameters)) or "none"
        raise ArgumentError(f"{'; '.join(parts)} (the expression's parameters: {declared})")
    return {name: _coerce(name, parameters[name], value) for name, value in arguments.items()}


def _coerce(name: str, parameter: Node, value: Any) -> Any:
    expected = parameter.type
    if hasattr(value, "__lazyarray_node__"):
        raise ArgumentError(
            f"argument {name!r} is a lazy expression; arguments must be concrete values "
            "(compute it first)"
        )
    masked = isinstance(value, np.ma.MaskedArray)
    array = value if masked else np.asarray(value)
    if masked and not expected.masked:
        raise ArgumentError(
            f"argument {name!r} is a masked array but the parameter is declared unmasked"
        )
    if not np.can_cast(array.dtype, expected.dtype, casting="same_kind"):
        raise ArgumentError(
            f"argument {name!r} has dtype {array.dtype}, which cannot be cast to the "
            f"parameter's dtype {expected.dtype} (same_kind casting)"
        )
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
