"""Attaches methods and operators to the proxies, generated from the op tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lazyarray.ops import OPS, Kind
from lazyarray.proxy import build, indexing
from lazyarray.proxy.base import BaseArray


def _binary_methods(name: str, dunders: tuple[str, ...]) -> dict[str, Callable[..., Any]]:
    forward, *rest = dunders
    methods: dict[str, Callable[..., Any]] = {forward: build.operator_method(name)}
    if rest:
        reflected, in_place = rest
        methods[reflected] = build.operator_method(name, reflected=True)
        methods[in_place] = lambda self, other: build.inplace(name, self, other)
    return methods


def _unary_method(name: str) -> Callable[..., Any]:
    return lambda self: build.unary(name, self)


def _signature_method(name: str) -> Callable[..., Any]:
    return lambda self, *args, **kwargs: build.call(name, (self, *args), kwargs, numpy=True)


# ndarray's ``x ** 2``, ``x ** -1`` and ``x ** 0.5`` (an exact Python int or float
# exponent; numpy's fast_scalar_power): square, reciprocal and sqrt instead of power,
# whose results differ for complex data, and whose dtype differs for a boolean squared
# (int8, not int64). Arrays only: numpy.ma and numpy's scalars take power.
_FAST_POWERS = {
    (int, 2): ("square", "biufc"),
    (int, -1): ("reciprocal", "fc"),
    (float, 0.5): ("sqrt", "fc"),
}


def _array_power(power: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        kind = type(other)
        if kind is int or kind is float:
            fast = _FAST_POWERS.get((kind, other))
            found = self._node.type
            if fast and not found.masked and found.ndim and found.dtype.kind in fast[1]:
                return build.unary(fast[0], self)
        return power(self, other)

    return method


def _generated() -> dict[str, Any]:
    methods: dict[str, Any] = {}
    for row in OPS.values():
        if row.dunders and row.arity == 2:
            methods.update(_binary_methods(row.name, row.dunders))
        elif row.dunders:
            methods[row.dunders[0]] = _unary_method(row.name)
        if row.kind is Kind.REDUCTION:
            methods[row.name] = build.reducer(row.name)
        elif row.method and row.signature is not None:
            methods[row.name] = _signature_method(row.name)
    # matmul's operators check masked inputs, which the elementwise fast path skips
    methods["__matmul__"] = lambda self, other: build.call("matmul", (self, other), {})
    methods["__rmatmul__"] = lambda self, other: build.call("matmul", (other, self), {})
    methods["__imatmul__"] = methods["__matmul__"]
    methods["__pow__"] = _array_power(methods["__pow__"])
    methods["__ipow__"] = _array_power(methods["__ipow__"])
    return methods


# ndarray's own methods and properties, in numpy's signatures
_ARRAY_METHODS: dict[str, Any] = {
    "astype": build.astype,
    "reshape": build.reshape,  # x.reshape(2, 3): sizes as separate arguments too
    "flatten": lambda self: build.call("ravel", (self,), {}),
    "transpose": build.transpose,  # x.transpose(1, 0): axes as separate arguments too
    "clip": build.clip,
    "round": build.round_,
    "conj": lambda self: build.unary("conjugate", self),
    "conjugate": lambda self: build.unary("conjugate", self),
    "__getitem__": indexing.getitem,
    "T": property(lambda self: build.transpose(self)),
    "mT": property(lambda self: build.call("swapaxes", (self, -1, -2), {})),
    "real": property(lambda self: build.unary("real", self)),
    "imag": property(lambda self: build.unary("imag", self)),
}


def attach() -> None:
    for name, method in {**_generated(), **_ARRAY_METHODS}.items():
        setattr(BaseArray, name, method)
