"""NEP 13 / NEP 18: ``np.sin(x)``, ``np.mean(x, axis=0)``, ``np.concatenate([x, y])`` on
proxies return proxies. The dispatch tables are derived from the op rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lazyarray.errors import UnsupportedOperation
from lazyarray.ops import OPS, Kind
from lazyarray.proxy import build
from lazyarray.proxy.base import BaseArray, as_node

_REDUCE = {
    np.add: "sum",
    np.multiply: "prod",
    np.maximum: "max",
    np.minimum: "min",
    np.logical_and: "all",
    np.logical_or: "any",
}
_ACCUMULATE = {np.add: "cumsum", np.multiply: "cumprod"}


def _no_out(kwargs: dict[str, Any]) -> None:
    out = kwargs.pop("out", None)
    outs = out if isinstance(out, tuple) else (out,)
    if any(o is not None for o in outs):
        raise UnsupportedOperation("out= is not supported: lazy arrays are immutable")


def _like(fill: Any) -> Callable[..., Any]:
    def call(prototype: Any, dtype: Any = None, **_: Any) -> Any:
        return build.full_like(prototype, fill, dtype)

    return call


def _numpy_call(name: str) -> Callable[..., Any]:
    return lambda *args, **kwargs: build.call(name, args, kwargs, numpy=True)


def _functions() -> dict[Any, Callable[..., Any]]:
    table: dict[Any, Callable[..., Any]] = {}
    for row in OPS.values():
        for function in row.numpy_functions:
            if isinstance(function, np.ufunc):
                continue
            if row.kind is Kind.REDUCTION:
                table[function] = build.reducer(row.name)
            elif row.signature is not None:
                table[function] = _numpy_call(row.name)
            elif hasattr(build, row.name):
                table[function] = getattr(build, row.name)
            elif row.kind is Kind.ELEMENTWISE:
                table[function] = lambda *a, _name=row.name, **k: build.elementwise(_name, *a, **k)
    table.update(
        {
            np.clip: build.clip,
            np.round: build.round_,
            np.around: build.round_,
            np.real: lambda a: build.unary("real", a),
            np.imag: lambda a: build.unary("imag", a),
            np.shape: lambda a: a.shape,
            np.ndim: lambda a: a.ndim,
            np.size: lambda a: a.size,
            np.zeros_like: _like(0),
            np.ones_like: _like(1),
            np.empty_like: _like(0),
            np.full_like: lambda a, fill_value, dtype=None, **_: build.full_like(
                a, fill_value, dtype
            ),
        }
    )
    return table


_UFUNCS = {
    function: row
    for row in OPS.values()
    for function in row.numpy_functions
    if isinstance(function, np.ufunc)
}
FUNCTIONS = _functions()


def register(functions: dict[Any, Callable[..., Any]]) -> None:
    """NEP 18 for functions built from several rows (``lazyarray.composites``): numpy's
    function -> lazyarray's."""
    FUNCTIONS.update(functions)


def array_ufunc(self: Any, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    _no_out(kwargs)
    row = _UFUNCS.get(ufunc)
    if method == "__call__" and row is not None:
        if row.signature is not None:  # gufuncs with arguments of their own (vecdot's axis)
            return build.call(row.name, inputs, kwargs, numpy=True)
        return build.elementwise(row.name, *_cast_for(ufunc, inputs, kwargs))
    if method == "outer" and row is not None and not kwargs and len(inputs) == 2:
        left, right = as_node(inputs[0]), as_node(inputs[1])
        new_axes = tuple(range(left.type.ndim, left.type.ndim + right.type.ndim))
        spread = build.call("expand_dims", (inputs[0], new_axes), {}) if new_axes else inputs[0]
        return build.elementwise(row.name, spread, inputs[1])
    if method == "reduce" and ufunc in _REDUCE:
        axis = kwargs.pop("axis", 0)
        keepdims = kwargs.pop("keepdims", False)
        return build.reduce(_REDUCE[ufunc], inputs[0], axis, keepdims, **kwargs)
    if method == "accumulate" and ufunc in _ACCUMULATE:
        axis, dtype = kwargs.get("axis", 0), kwargs.get("dtype")
        return build.call(_ACCUMULATE[ufunc], (inputs[0], axis, dtype), {}, numpy=True)
    ours = (BaseArray, np.ndarray, np.generic, int, float, complex, list, tuple)
    if all(isinstance(i, ours) for i in inputs):
        call = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        given = f" with {', '.join(sorted(kwargs))}=" if kwargs else ""
        raise UnsupportedOperation(
            f"{call}{given} is not supported on lazyarray arrays (docs/array-api.md lists "
            "what is); compute first, np.asarray(x), to use numpy's"
        )
    return NotImplemented  # another array type may implement it


# ufunc keywords that leave numpy's result as it is when given their defaults
_NEUTRAL = {"casting": "same_kind", "order": "K", "subok": True, "where": True}


def _cast_for(ufunc: np.ufunc, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The inputs as ``ufunc(*inputs, dtype=...)`` sees them: cast to ``dtype`` first
    (numpy runs the loop of that dtype); other keywords only at their defaults."""
    dtype = kwargs.pop("dtype", None)
    for key, value in kwargs.items():
        neutral = key in _NEUTRAL and (
            value is _NEUTRAL[key] or (isinstance(value, (str, bool)) and value == _NEUTRAL[key])
        )
        if not neutral:
            raise UnsupportedOperation(
                f"numpy.{ufunc.__name__}(..., {key}={value!r}) is not supported on lazyarray arrays"
            )
    if dtype is None:
        return list(inputs)
    return [build.astype(value, dtype, casting="same_kind") for value in inputs]


def array_function(
    self: Any, func: Any, types: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    implementation = FUNCTIONS.get(func)
    if implementation is not None:
        return implementation(*args, **kwargs)
    if all(issubclass(t, (BaseArray, np.ndarray)) for t in types):
        name = f"{func.__module__}.{func.__name__}".replace("numpy._core.", "numpy.")
        raise UnsupportedOperation(
            f"{name} is not supported on lazyarray arrays (the supported numpy functions "
            "are listed in docs/array-api.md); compute first, np.asarray(x), to use numpy's"
        )
    return NotImplemented  # another array type may implement it


def attach() -> None:
    BaseArray.__array_ufunc__ = array_ufunc  # type: ignore[attr-defined]
    BaseArray.__array_function__ = array_function  # type: ignore[attr-defined]
