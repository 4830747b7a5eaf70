"""Manipulation functions built from several nodes of existing rows: they return tuples
or lists of arrays (``unstack``, ``broadcast_arrays``, ``meshgrid``, ``split``), join
arrays first (``diff``'s ``prepend``/``append``, the ``*stack`` family), or are another
surface of one row with other defaults (the standard's ``linalg.diagonal`` and
``linalg.trace`` over the last two axes). A signature on a row cannot say any of these.

Each is also what ``np.<name>(proxy)`` runs (NEP 18), registered below.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import (
    CastError,
    LazyArrayError,
    OpValueError,
    ShapeError,
    UnsupportedOperation,
)
from lazyarray.graph import Node
from lazyarray.ops.arguments import axis_index, integer
from lazyarray.ops.registry import at_user_line
from lazyarray.proxy import build, indexing, numpy_protocol
from lazyarray.proxy.base import as_node, wrap
from lazyarray.types import as_dtype, broadcast_shapes, normalize_axis, result_type


def _array(value: Any) -> Node:
    """A node for ``value`` as numpy's ``asanyarray`` sees it: a Python scalar becomes
    an array of its default dtype (strong, not weak as in an operator)."""
    if hasattr(value, "__lazyarray_node__"):
        return as_node(value)
    return as_node(np.asanyarray(value))


def _known_axis(node: Node, axis: Any, what: str) -> tuple[int, int]:
    """The normalized axis and its size, which must be known before running."""
    axis = normalize_axis(axis_index(axis), node.type.ndim)
    size = node.type.shape[axis]
    if size is None:
        raise UnsupportedOperation(
            f"{what} needs the size of axis {axis}, known only when running; "
            "call compute_shape() first"
        )
    return axis, size


def _along(axis: int, item: Any) -> tuple[Any, ...]:
    return (slice(None),) * axis + (item,)


# --- the array API standard ---------------------------------------------------------


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    """The subarrays along ``axis``, as views.

    >>> import lazyarray as la
    >>> [a.compute().tolist() for a in la.unstack(la.asarray([[1, 2], [3, 4]]), axis=1)]
    [[1, 3], [2, 4]]
    """
    node = as_node(x)
    try:
        if node.type.ndim == 0:
            raise ShapeError("Input array must be at least 1-d.")
        axis, size = _known_axis(node, axis, "unstack")
    except LazyArrayError as exc:
        raise at_user_line(exc) from None
    return tuple(indexing.getitem(wrap(node), _along(axis, i)) for i in range(size))


def broadcast_arrays(*arrays: Any, subok: bool = False) -> tuple[Any, ...]:
    """The arrays broadcast against one another (views).

    >>> import lazyarray as la
    >>> [a.shape for a in la.broadcast_arrays(la.zeros((2, 1)), la.ones(3))]
    [(2, 3), (2, 3)]
    """
    nodes = [_array(a) for a in arrays]
    if not nodes:
        return ()
    try:
        shape = broadcast_shapes(*(n.type.shape for n in nodes))
        if None in shape and any(n.type.shape != shape for n in nodes):
            raise UnsupportedOperation(
                "broadcast_arrays needs the sizes it broadcasts to, known only when running"
            )
    except LazyArrayError as exc:
        raise at_user_line(exc) from None
    return tuple(
        wrap(n) if n.type.shape == shape else build.call("broadcast_to", (wrap(n), shape), {})
        for n in nodes
    )


def meshgrid(
    *arrays: Any, indexing: str = "xy", copy: bool = True, sparse: bool = False
) -> tuple[Any, ...]:
    """Coordinate arrays from coordinate vectors (``indexing="xy"``: the first two
    axes swapped, as in numpy and the standard). ``copy`` changes nothing: lazy arrays
    are never written to.

    >>> import lazyarray as la
    >>> [a.shape for a in la.meshgrid(la.arange(3), la.arange(2))]
    [(2, 3), (2, 3)]
    """
    if indexing not in ("xy", "ij"):
        raise at_user_line(OpValueError("Valid values for `indexing` are 'xy' and 'ij'."))
    count = len(arrays)
    positions = list(range(count))
    if indexing == "xy" and count > 1:
        positions[0], positions[1] = 1, 0
    grids = [
        build.call(
            "reshape",
            (wrap(_array(a)), tuple(-1 if d == p else 1 for d in range(count))),
            {},
        )
        for a, p in zip(arrays, positions, strict=True)
    ]
    return tuple(grids) if sparse else broadcast_arrays(*grids)


def diff(x: Any, /, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th differences along ``axis`` (``not_equal`` for booleans, as numpy),
    after joining ``prepend`` and ``append`` (scalars are broadcast) to ``x``.

    >>> import lazyarray as la
    >>> la.diff(la.asarray([1, 4, 9, 16]), prepend=0).compute()
    array([1, 3, 5, 7])
    """
    node = as_node(x)
    try:
        n = integer(n)
        if n == 0:
            return wrap(node)
        if n < 0:
            raise OpValueError(f"order must be non-negative but got {n!r}")
        if node.type.ndim == 0:
            raise ShapeError("diff requires input that is at least one dimensional")
        axis = normalize_axis(axis_index(axis), node.type.ndim)
        if prepend is not None or append is not None:
            node = _joined(node, axis, prepend, append)
    except LazyArrayError as exc:
        raise at_user_line(exc) from None
    return build.call("diff", (wrap(node),), {"n": n, "axis": axis})


def _joined(node: Node, axis: int, prepend: Any, append: Any) -> Node:
    parts = [node]
    edge = node.type.shape[:axis] + (1,) + node.type.shape[axis + 1 :]
    for value, first in ((prepend, True), (append, False)):
        if value is None:
            continue
        extra = _array(value)
        if extra.type.ndim == 0:
            if None in edge:
                raise UnsupportedOperation(
                    "diff broadcasts a scalar prepend/append to the shape of x, known only "
                    "when running"
                )
            extra = as_node(build.call("broadcast_to", (wrap(extra), edge), {}))
        parts.insert(0 if first else len(parts), extra)
    return as_node(build.call("concatenate", ([wrap(p) for p in parts], axis), {}))


# --- numpy's ------------------------------------------------------------------------


def _at_least(value: Any, ndim: int) -> Any:
    """numpy's atleast_{1,2,3}d of one array: new axes as views (numpy's placement:
    a vector is a row, and a matrix gains a last axis)."""
    node = _array(value)
    have = node.type.ndim
    if have >= ndim:
        return wrap(node)
    index: tuple[Any, ...] = {
        (1, 0): (None,),
        (2, 0): (None, None),
        (2, 1): (None, slice(None)),
        (3, 0): (None, None, None),
        (3, 1): (None, slice(None), None),
        (3, 2): (slice(None), slice(None), None),
    }[ndim, have]
    return indexing.getitem(wrap(node), index)


def _at_least_function(ndim: int) -> Callable[..., Any]:
    def function(*arys: Any) -> Any:
        result = tuple(_at_least(a, ndim) for a in arys)
        return result[0] if len(result) == 1 else result

    function.__name__ = function.__qualname__ = f"atleast_{ndim}d"
    function.__doc__ = f"numpy's ``atleast_{ndim}d``: views with at least {ndim} axes."
    return function


atleast_1d = _at_least_function(1)
atleast_2d = _at_least_function(2)
atleast_3d = _at_least_function(3)


def _concatenate(
    arrays: Sequence[Any], axis: int, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    """numpy's concatenate with ``dtype=`` and ``casting=``: each input cast first."""
    nodes = [as_node(a) for a in arrays]
    if nodes and (dtype is not None or casting != "same_kind"):
        try:
            target = (
                as_dtype(dtype)
                if dtype is not None
                else result_type(*(n.type.promotion_key for n in nodes))
            )
            for n in nodes:
                if not np.can_cast(n.type.dtype, target, casting):  # type: ignore[arg-type]
                    raise CastError(
                        f"Cannot cast array data from {n.type.dtype!r} to {target!r} "
                        f"according to the rule '{casting}'"
                    )
        except LazyArrayError as exc:
            raise at_user_line(exc) from None
        arrays = [build.astype(wrap(n), target) for n in nodes]
    return build.call("concatenate", (list(arrays), axis), {})


def _as_tuple(result: Any) -> tuple[Any, ...]:
    return result if isinstance(result, tuple) else (result,)


def hstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """numpy's ``hstack``: along the first axis of vectors, the second of the rest."""
    arrays = _as_tuple(atleast_1d(*tup))
    axis = 0 if arrays and arrays[0].ndim == 1 else 1
    return _concatenate(arrays, axis, dtype, casting)


def vstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """numpy's ``vstack``: vectors as rows, joined along the first axis."""
    return _concatenate(_as_tuple(atleast_2d(*tup)), 0, dtype, casting)


def dstack(tup: Sequence[Any]) -> Any:
    """numpy's ``dstack``: joined along the third axis."""
    return _concatenate(_as_tuple(atleast_3d(*tup)), 2)


def column_stack(tup: Sequence[Any]) -> Any:
    """numpy's ``column_stack``: vectors as columns, joined along the second axis."""
    columns = []
    for value in tup:
        node = _array(value)
        if node.type.ndim < 2:
            index = (slice(None), None) if node.type.ndim == 1 else (None, None)
            columns.append(indexing.getitem(wrap(node), index))
        else:
            columns.append(wrap(node))
    return _concatenate(columns, 1)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """numpy's ``array_split``: ``n`` near-equal parts, or the parts between indices
    (views).

    >>> import lazyarray as la
    >>> [p.shape for p in la.array_split(la.arange(7), 3)]
    [(3,), (2,), (2,)]
    """
    node = as_node(ary)
    try:
        if isinstance(indices_or_sections, (list, tuple, np.ndarray)):
            axis = normalize_axis(axis_index(axis), node.type.ndim)
            points = [0, *[integer(i) for i in indices_or_sections], None]
        else:
            sections = integer(indices_or_sections)
            if sections <= 0:
                raise OpValueError("number sections must be larger than 0.")
            axis, size = _known_axis(node, axis, "array_split")
            each, extras = divmod(size, sections)
            sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
            points = np.cumsum(sizes).tolist()
    except LazyArrayError as exc:
        raise at_user_line(exc) from None
    return [
        indexing.getitem(wrap(node), _along(axis, slice(start, stop)))
        for start, stop in itertools.pairwise(points)
    ]


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """numpy's ``split``: as ``array_split``, but ``n`` parts must be equal."""
    if not isinstance(indices_or_sections, (list, tuple, np.ndarray)):
        node = as_node(ary)
        try:
            sections = integer(indices_or_sections)
            _, size = _known_axis(node, axis, "split")
            if sections and size % sections:
                raise OpValueError("array split does not result in an equal division")
        except LazyArrayError as exc:
            raise at_user_line(exc) from None
    return array_split(ary, indices_or_sections, axis)


# --- lazyarray.linalg: the standard's, over the last two axes ------------------------


def matrix_diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The standard's ``linalg.diagonal``: the diagonals of the last two axes.

    >>> import lazyarray as la
    >>> la.linalg.diagonal(la.eye(3) * 2, offset=1).compute()
    array([0., 0.])
    """
    ndim = as_node(x).type.ndim  # below two axes, the row says numpy's error
    return build.call("diagonal", (x, offset, ndim - 2, ndim - 1), {})


def matrix_trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """The standard's ``linalg.trace``: the sums of the diagonals of the last two axes
    (numpy's dtype, which is the standard's: same as ``x``, or the default integer for
    smaller integers).

    >>> import lazyarray as la
    >>> la.linalg.trace(la.ones((2, 3, 3))).compute()
    array([3., 3.])
    """
    ndim = as_node(x).type.ndim
    return build.call("trace", (x, offset, ndim - 2, ndim - 1, dtype), {})


matrix_diagonal.__name__ = matrix_diagonal.__qualname__ = "diagonal"
matrix_trace.__name__ = matrix_trace.__qualname__ = "trace"

LINALG: dict[str, Callable[..., Any]] = {"diagonal": matrix_diagonal, "trace": matrix_trace}

numpy_protocol.register(
    {
        np.unstack: unstack,
        np.broadcast_arrays: broadcast_arrays,
        np.meshgrid: meshgrid,
        np.diff: diff,
        np.atleast_1d: atleast_1d,
        np.atleast_2d: atleast_2d,
        np.atleast_3d: atleast_3d,
        np.hstack: hstack,
        np.vstack: vstack,
        np.dstack: dstack,
        np.column_stack: column_stack,
        np.split: split,
        np.array_split: array_split,
        np.linalg.diagonal: matrix_diagonal,
        np.linalg.trace: matrix_trace,
    }
)

__all__ = [
    "unstack",
    "broadcast_arrays",
    "meshgrid",
    "diff",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "split",
    "array_split",
]
