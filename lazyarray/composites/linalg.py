"""The decompositions of ``lazyarray.linalg`` with several results: ``eigh``, ``eig``,
``qr``, ``slogdet``, ``svd``, returning named tuples of proxies as numpy does.

They are the only linear algebra functions not generated from a row, because a row's
function returns one array: each builds the decomposition's node (its row binds the
arguments) and one ``unpack`` node per result (``ops/decompositions.py``), so the
decomposition runs once however many of its results are used. numpy's functions reach
them too (NEP 18: ``np.linalg.svd(proxy)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from lazyarray.errors import LazyArrayError
from lazyarray.ops import OPS, apply
from lazyarray.ops.arguments import flag
from lazyarray.ops.decompositions import unpack_attributes
from lazyarray.ops.registry import at_user_line
from lazyarray.proxy import build, numpy_protocol
from lazyarray.proxy.base import as_node, wrap


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


def _results(decomposition: Any) -> list[Any]:
    node = as_node(decomposition)
    return [wrap(apply("unpack", (node,), **attrs)) for attrs in unpack_attributes(node)]


def eigh(x: Any, /, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending, real) and eigenvectors of symmetric or Hermitian matrices."""
    return EighResult(*_results(build.call("eigh", (x,), {"UPLO": UPLO})))


def eig(x: Any, /) -> EigResult:
    """Eigenvalues and eigenvectors of square matrices, complex as the standard says
    (numpy's are real when every eigenvalue is; the values are the same)."""
    return EigResult(*_results(build.call("eig", (x,), {})))


def qr(x: Any, /, mode: str = "reduced") -> Any:
    """``(Q, R)``; numpy's ``mode="r"`` gives ``R`` alone and ``mode="raw"`` the tuple
    ``(h, tau)``."""
    decomposition = build.call("qr", (x,), {"mode": mode})
    results = _results(decomposition)
    chosen = as_node(decomposition).attr("mode", "reduced")
    if chosen == "r":
        return results[0]
    return tuple(results) if chosen == "raw" else QRResult(*results)


def slogdet(x: Any, /) -> SlogdetResult:
    """The sign and the natural logarithm of the absolute value of determinants."""
    return SlogdetResult(*_results(build.call("slogdet", (x,), {})))


def svd(
    x: Any, /, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """``(U, S, Vh)``; ``compute_uv=False`` (numpy's) gives ``S`` alone, as ``svdvals``."""
    try:
        vectors = flag(compute_uv, "compute_uv")
    except LazyArrayError as exc:
        raise at_user_line(exc) from None
    if not vectors:
        return build.call("svdvals", (x,), {"hermitian": hermitian})
    options = {"full_matrices": full_matrices, "hermitian": hermitian}
    return SVDResult(*_results(build.call("svd", (x,), options)))


def _is_lazy(value: Any) -> bool:
    return hasattr(value, "__lazyarray_node__")


def _last_axis(tolerance: Any) -> Any:
    """A tolerance per matrix, against the singular values of that matrix."""
    return build.call("expand_dims", (tolerance, -1), {})


def _rank_of(
    x: Any, tol: Any = None, hermitian: bool = False, rtol: Any = None, rcond: Any = None
) -> Any:
    """numpy's ``matrix_rank`` steps: the singular values above the cutoff, counted."""
    values = build.call("svdvals", (x,), {"hermitian": hermitian})
    if tol is not None:
        cutoff = _last_axis(tol)
    else:
        cutoff = build.reduce("max", values, -1, True) * _last_axis(rtol)
    return build.call("count_nonzero", (values > cutoff,), {"axis": -1})


def _pinv_of(
    x: Any, tol: Any = None, hermitian: bool = False, rtol: Any = None, rcond: Any = None
) -> Any:
    """numpy's ``pinv`` steps: the singular values below the cutoff dropped."""
    u, s, vh = svd(build.unary("conjugate", x), full_matrices=False, hermitian=hermitian)
    cutoff = _last_axis(rtol if rtol is not None else rcond) * build.reduce("max", s, -1, True)
    large = s > cutoff
    inverse = build.where(large, 1 / build.where(large, s, 1), 0)
    transposed = build.call("matrix_transpose", (u,), {})
    spread = build.call("expand_dims", (inverse, -1), {}) * transposed
    return build.call("matmul", (build.call("matrix_transpose", (vh,), {}), spread), {})


def _with_lazy_tolerance(
    name: str, positional: tuple[str, ...], steps: Callable[..., Any], numpy: bool
) -> Callable[..., Any]:
    """``name`` as one row, or, when a tolerance is itself a lazy array (which a row's
    attribute cannot hold), numpy's own steps over rows."""

    def function(x: Any, /, *args: Any, **kwargs: Any) -> Any:
        given = {**dict(zip(positional, args, strict=False)), **kwargs}
        if any(_is_lazy(value) for value in given.values()):
            return steps(x, **given)
        return build.call(name, (x, *args), kwargs, numpy=numpy)

    row = OPS[name]
    signature = row.numpy_arguments if numpy else row.signature
    assert signature is not None
    function.__name__ = function.__qualname__ = name
    function.__doc__ = steps.__doc__
    function.__signature__ = signature.python_signature()  # type: ignore[attr-defined]
    return function


_TOLERANT = {
    "matrix_rank": (("tol", "hermitian"), _rank_of),
    "pinv": (("rcond", "hermitian"), _pinv_of),
}


COMPOSITES: dict[str, Callable[..., Any]] = {
    **{
        name: _with_lazy_tolerance(name, positional, steps, numpy=False)
        for name, (positional, steps) in _TOLERANT.items()
    },
    "eigh": eigh,
    "eig": eig,
    "qr": qr,
    "slogdet": slogdet,
    "svd": svd,
}

numpy_protocol.register(
    {
        **{getattr(np.linalg, name): function for name, function in COMPOSITES.items()},
        **{
            getattr(np.linalg, name): _with_lazy_tolerance(name, positional, steps, numpy=True)
            for name, (positional, steps) in _TOLERANT.items()
        },
    }
)
