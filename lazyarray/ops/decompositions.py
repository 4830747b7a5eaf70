"""numpy.linalg's decompositions with several results: ``eigh``, ``eig``, ``qr``,
``slogdet``, ``svd``.

A node's value is one array, so one node holds all the results of a decomposition side
by side: each result flattened over its matrix axes, concatenated along one last axis
(shape ``stack + (total,)``, the results' common dtype). An ``unpack`` node per result
reads its part back, exactly (a real result packed among complex ones is their real
part). The decomposition node is hash-consed like any other, so however many results are
used, each backend runs the decomposition once; the cost is one copy of each result in,
and one out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpValueError, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops.arguments import to_flag
from lazyarray.ops.attrtypes import DTYPE, SIZE, Str, TupleOf, gives
from lazyarray.ops.matrix import complex_of, matrices, probe, square, to_uplo
from lazyarray.ops.registry import Kind, OpDef, register
from lazyarray.ops.signature import Param, Signature
from lazyarray.types import ArrayType

Core = tuple[int, ...]
# the results' shapes over the matrix axes, from the matrices' sizes and the attributes
Cores = Callable[[int, int, Mapping[str, Any]], tuple[Core, ...]]


def _eigh(x: Any, UPLO: Any = "L") -> tuple[Any, ...]:
    return tuple(np.linalg.eigh(x, UPLO=UPLO))


def _eig(x: Any) -> tuple[Any, ...]:
    """Complex results, as the standard says, whatever the values (numpy's are real
    when every eigenvalue is: a dtype no type rule can know before running)."""
    values, vectors = np.linalg.eig(x)
    dtype = complex_of(values.dtype)
    return values.astype(dtype, copy=False), vectors.astype(dtype, copy=False)


def _qr(x: Any, mode: Any = "reduced") -> tuple[Any, ...]:
    result = np.linalg.qr(x, mode=mode)
    return (result,) if mode == "r" else tuple(result)


def _slogdet(x: Any) -> tuple[Any, ...]:
    return tuple(np.linalg.slogdet(x))


def _svd(x: Any, full_matrices: bool = True, hermitian: bool = False) -> tuple[Any, ...]:
    return tuple(np.linalg.svd(x, full_matrices=full_matrices, hermitian=hermitian))


@gives(Str("reduced", "complete", "r", "raw"))
def _qr_mode(value: Any, inputs: tuple[Node, ...]) -> str:
    if value not in ("reduced", "complete", "r", "raw"):
        raise OpValueError(f"Unrecognized mode '{value}'")
    return str(value)


def _eigen_cores(m: int, n: int, attrs: Mapping[str, Any]) -> tuple[Core, ...]:
    return (m,), (m, m)


def _qr_cores(m: int, n: int, attrs: Mapping[str, Any]) -> tuple[Core, ...]:
    k = min(m, n)
    return {
        "reduced": ((m, k), (k, n)),
        "complete": ((m, m), (m, n)),
        "r": ((k, n),),
        "raw": ((n, m), (k,)),
    }[attrs.get("mode", "reduced")]


def _slogdet_cores(m: int, n: int, attrs: Mapping[str, Any]) -> tuple[Core, ...]:
    return (), ()


def _svd_cores(m: int, n: int, attrs: Mapping[str, Any]) -> tuple[Core, ...]:
    k = min(m, n)
    if attrs.get("full_matrices", True):
        return (m, m), (k,), (n, n)
    return (m, k), (k,), (k, n)


# op -> (numpy's decomposition, its results' matrix shapes, whether it needs square ones)
DECOMPOSITIONS: dict[str, tuple[Callable[..., tuple[Any, ...]], Cores, bool]] = {
    "eigh": (_eigh, _eigen_cores, True),
    "eig": (_eig, _eigen_cores, True),
    "qr": (_qr, _qr_cores, False),
    "slogdet": (_slogdet, _slogdet_cores, True),
    "svd": (_svd, _svd_cores, False),
}


@functools.lru_cache(maxsize=256)
def _result_dtypes(
    op: str, dtype: np.dtype[Any], attrs: tuple[tuple[str, Any], ...]
) -> tuple[np.dtype[Any], ...]:
    """numpy's result dtypes, asked on a 1x1 matrix (its errors: float16 ...)."""
    decompose = DECOMPOSITIONS[op][0]
    results = probe(decompose, [ArrayType(dtype, (1, 1))], dict(attrs))
    return tuple(np.asarray(r).dtype for r in results)


def layout(op: str, x: Node, attrs: Mapping[str, Any]) -> list[tuple[Core, np.dtype[Any]]]:
    """Each result's shape over the matrix axes and its dtype, in order."""
    _, decompose_cores, needs_square = DECOMPOSITIONS[op]
    if needs_square:
        square(x)
    _, m, n = matrices(x)
    if m is None or n is None:
        raise UnsupportedOperation(
            f"{op} of matrices whose size is known only when they are computed is not "
            "supported; compute them first"
        )
    dtypes = _result_dtypes(op, x.type.dtype, tuple(sorted(attrs.items())))
    return list(zip(decompose_cores(m, n, attrs), dtypes, strict=True))


def unpack_attributes(packed: Node) -> list[dict[str, Any]]:
    """The attributes of the ``unpack`` node of each result of ``packed``."""
    start = 0
    parts: list[dict[str, Any]] = []
    for core, dtype in layout(packed.op, packed.inputs[0], packed.kwargs):
        stop = start + math.prod(core)
        parts.append({"start": start, "stop": stop, "shape": core, "dtype": dtype})
        start = stop
    return parts


def _packed(decompose: Callable[..., tuple[Any, ...]]) -> Callable[..., Any]:
    def run(x: Any, **attrs: Any) -> Any:
        results = decompose(x, **attrs)
        stack = np.shape(x)[:-2]
        flat = [np.reshape(r, stack + (math.prod(np.shape(r)[len(stack) :]),)) for r in results]
        return np.concatenate(flat, axis=-1)

    return run


def _rule_of(op: str) -> Callable[[tuple[Node, ...], Mapping[str, Any]], ArrayType]:
    def infer(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
        (x,) = inputs
        parts = layout(op, x, attrs)
        dtype = np.result_type(*[dtype for _, dtype in parts])
        total = sum(math.prod(core) for core, _ in parts)
        return ArrayType(dtype, x.type.shape[:-2] + (total,))

    return infer


def _unpack(packed: Any, *, start: int, stop: int, shape: Core, dtype: np.dtype[Any]) -> Any:
    part = packed[..., start:stop].reshape(packed.shape[:-1] + shape)
    if part.dtype != dtype:  # a real result packed among complex ones
        part = part.real
    return part.copy()  # its own memory: the other results can be freed


def _unpack_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (packed,) = inputs
    total = packed.type.shape[-1]
    start, stop, shape = attrs["start"], attrs["stop"], tuple(attrs["shape"])
    if not 0 <= start <= stop <= (total or 0) or stop - start != math.prod(shape):
        raise OpValueError(f"unpack: [{start}:{stop}] as {shape} is not a part of {total}")
    return ArrayType(np.dtype(attrs["dtype"]), packed.type.shape[:-1] + shape)


def _decomposition_row(op: str, params: tuple[Param, ...]) -> OpDef:
    """A row the composites of ``lazyarray.linalg`` build through (its signature binds
    their arguments); no surface of its own."""
    decompose, _, _ = DECOMPOSITIONS[op]
    return OpDef(
        op,
        Kind.LINALG,
        _packed(decompose),
        _rule_of(op),
        None,
        arity=1,
        signature=Signature(("x",), params),
        namespaces=(),
    )


ROWS = [
    _decomposition_row("eigh", (Param("UPLO", to_uplo, "L"),)),
    _decomposition_row("eig", ()),
    _decomposition_row("qr", (Param("mode", _qr_mode, "reduced"),)),
    _decomposition_row("slogdet", ()),
    _decomposition_row(
        "svd",
        (Param("full_matrices", to_flag, True), Param("hermitian", to_flag, False)),
    ),
    OpDef(
        "unpack",
        Kind.LINALG,
        _unpack,
        _unpack_rule,
        None,
        arity=1,
        namespaces=(),
        attributes={"start": SIZE, "stop": SIZE, "shape": TupleOf(SIZE, 64), "dtype": DTYPE},
    ),
]

register(*ROWS)
