"""Attaches methods and operators to the proxies, generated from the op tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lazyarray.ops import OPS, Kind
from lazyarray.proxy import build
from lazyarray.proxy.base import BaseArray


def _binary_methods(name: str, dunders: tuple[str, ...]) -> dict[str, Callable[..., Any]]:
    forward, *rest = dunders
    methods: dict[str, Callable[..., Any]] = {
        forward: lambda self, other: build.binary(name, self, other)
    }
    if rest:
        reflected, in_place = rest
        methods[reflected] = lambda self, other: build.binary(name, other, self)
        methods[in_place] = lambda self, other: build.inplace(name, self, other)
    return methods


def _unary_method(name: str) -> Callable[..., Any]:
    return lambda self: build.unary(name, self)


def _generated() -> dict[str, Any]:
    methods: dict[str, Any] = {}
    for row in OPS.values():
        if row.dunders and row.arity == 2:
            methods.update(_binary_methods(row.name, row.dunders))
        elif row.dunders:
            methods[row.dunders[0]] = _unary_method(row.name)
        if row.kind is Kind.REDUCTION:
            methods[row.name] = build.reducer(row.name)
        elif row.kind is Kind.SCAN:
            methods[row.name] = build.scanner(row.name)
    methods["__matmul__"] = lambda self, other: build.matmul(self, other)
    methods["__rmatmul__"] = lambda self, other: build.matmul(other, self)
    methods["__imatmul__"] = lambda self, other: build.matmul(self, other)
    return methods


# ndarray's own methods and properties, in numpy's signatures
_ARRAY_METHODS: dict[str, Any] = {
    "astype": build.astype,
    "reshape": build.reshape,
    "ravel": build.ravel,
    "flatten": build.ravel,
    "transpose": build.transpose,
    "squeeze": build.squeeze,
    "swapaxes": build.swapaxes,
    "clip": build.clip,
    "round": build.round_,
    "take": build.take,
    "dot": build.dot,
    "conj": lambda self: build.unary("conjugate", self),
    "conjugate": lambda self: build.unary("conjugate", self),
    "__getitem__": build.getitem,
    "T": property(lambda self: build.transpose(self)),
    "mT": property(lambda self: build.swapaxes(self, -1, -2)),
    "real": property(lambda self: build.unary("real", self)),
    "imag": property(lambda self: build.unary("imag", self)),
}


def attach() -> None:
    for name, method in {**_generated(), **_ARRAY_METHODS}.items():
        setattr(BaseArray, name, method)
