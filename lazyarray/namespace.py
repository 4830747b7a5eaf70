"""The module functions (``la.sin``, ``la.sum``, ``la.reshape``, ``la.zeros`` ...).

Elementwise, reduction and scan functions are generated from the op rows under their
numpy names, array-API names and aliases; the rest are the shared builders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lazyarray.execution import COMPUTE_KEYWORDS
from lazyarray.execution import compute as _compute
from lazyarray.ops import OPS, Kind, OpDef
from lazyarray.proxy import Array, DType, MaskedArray, Scalar, as_node, parameter
from lazyarray.proxy import build as _build
from lazyarray.proxy.params import check_inputs

_BUILT_ELSEWHERE = {"where", "clip", "round", "astype"}


def _elementwise(name: str) -> Callable[..., Any]:
    def function(*args: Any, **attrs: Any) -> Any:
        return _build.elementwise(name, *args, **attrs)

    function.__doc__ = f"Elementwise ``{name}``, lazily (numpy semantics and dtypes)."
    return function


_FACTORIES = {
    Kind.ELEMENTWISE: _elementwise,
    Kind.REDUCTION: _build.reducer,  # where= and initial= expand into expressions
}


def _from_signature(row: OpDef, public: str) -> Callable[..., Any]:
    """``la.<public>``: the array API's arguments under its name, numpy's under numpy's."""
    standard = public == row.array_api_name or row.numpy_signature is None
    signature = row.signature if standard else row.numpy_signature
    assert signature is not None

    def function(*args: Any, **kwargs: Any) -> Any:
        return _build.call(row.name, args, kwargs, signature=signature)

    function.__doc__ = row.doc or f"``{row.name}``, lazily (numpy's semantics and dtypes)."
    function.__signature__ = signature.python_signature()  # type: ignore[attr-defined]
    return function


def generated(namespace: str = "") -> dict[str, Callable[..., Any]]:
    """The functions the rows put in ``namespace`` ("" for ``lazyarray`` itself)."""
    functions: dict[str, Callable[..., Any]] = {}
    for row in OPS.values():
        if row.name in _BUILT_ELSEWHERE or namespace not in row.namespaces:
            continue
        if row.signature is None and row.kind not in _FACTORIES:
            continue
        for public in row.public_names:
            functions[public] = (
                _FACTORIES[row.kind](row.name)
                if row.kind in _FACTORIES
                else _from_signature(row, public)
            )
            functions[public].__name__ = functions[public].__qualname__ = public
    return functions


GENERATED = generated()
globals().update(GENERATED)

where = _build.where


def clip(x: Any, /, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - the standard's
    """``x`` within ``[min, max]``; a missing bound does not clip (both: ``x`` itself).
    ``np.clip(proxy, a_min, a_max)`` takes numpy's names.

    >>> import lazyarray as la
    >>> la.clip(la.arange(5), 1, 3).compute()
    array([1, 1, 2, 3, 3])
    """
    return _build.clip(x, min, max)


round = _build.round_  # noqa: A001 - numpy's name
around = _build.round_
astype = _build.astype
einsum = _build.einsum
masked_array = _build.masked_array
masked_where = _build.masked_where
masked_invalid = _build.masked_invalid


def compute(*arrays: Any, **options: Any) -> tuple[Any, ...]:
    """Computes several arrays together, sharing their common work.

    >>> import lazyarray as la
    >>> x = la.arange(5)
    >>> la.compute(x.sum(), x.max())
    (np.int64(10), np.int64(4))
    """
    arguments = {k: options.pop(k) for k in list(options) if k not in COMPUTE_KEYWORDS}
    nodes = [as_node(a) for a in arrays]
    check_inputs(tuple(nodes))  # the outputs meet here: one parameter per name
    return _compute(nodes, arguments=arguments, **options)  # type: ignore[no-any-return]


_REEXPORTED = (Array, DType, MaskedArray, Scalar, parameter)  # the public proxy types

__all__ = sorted(
    [
        *GENERATED,
        "Array",
        "DType",
        "MaskedArray",
        "Scalar",
        "parameter",
        "compute",
        "where",
        "clip",
        "round",
        "around",
        "astype",
        "einsum",
        "masked_array",
        "masked_where",
        "masked_invalid",
    ]
)
