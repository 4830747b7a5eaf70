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
from lazyarray.ops import apply
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


COMPOSITES: dict[str, Callable[..., Any]] = {
    "eigh": eigh,
    "eig": eig,
    "qr": qr,
    "slogdet": slogdet,
    "svd": svd,
}

numpy_protocol.register(
    {getattr(np.linalg, name): function for name, function in COMPOSITES.items()}
)
