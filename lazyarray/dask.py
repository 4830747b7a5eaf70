"""Bridges to dask.array: ``from_dask`` wraps a dask array as a lazy source (its chunks
are kept by the dask backend), ``to_dask`` turns an expression into a dask array without
computing it. Both need ``pip install 'lazyarray[dask]'``.

>>> import numpy as np, lazyarray as la
>>> import dask.array as da
>>> x = la.from_dask(da.ones((4, 6), chunks=(2, 3)))
>>> y = la.to_dask(x * 2 + 1)
>>> y.chunks, float(y.sum().compute())
(((2, 2), (3, 3)), 72.0)
"""

from __future__ import annotations

from typing import Any

from lazyarray.graph import Literal
from lazyarray.ops import apply
from lazyarray.proxy import as_node, wrap


def from_dask(array: Any) -> Any:
    """A lazy source reading ``array`` (a dask array); computing it on the numpy backend
    computes the dask array."""
    if not hasattr(array, "__dask_graph__"):
        raise TypeError(f"from_dask expects a dask array, not {type(array).__name__}")
    return wrap(apply("dask_array", (), value=Literal.of(array)))


def to_dask(*arrays: Any, **arguments: Any) -> Any:
    """The optimized expression as a dask array (not computed); several expressions
    come back as a tuple of dask arrays sharing one graph, like ``dask.persist``'s
    (what they have in common is computed once)."""
    from lazyarray.backend import get_backend
    from lazyarray.config import snapshot
    from lazyarray.planner import bind_arguments, make_plan, parameters_of

    if not arrays:
        raise TypeError("to_dask expects at least one array")
    nodes = [as_node(x) for x in arrays]
    bound = bind_arguments(parameters_of(nodes), arguments)
    options = snapshot()
    plan = make_plan(nodes, bound, options.disabled, small_bytes=options.small_bytes)
    backend = get_backend("dask")
    backend.check(plan)
    lowered = backend.lower(plan, bound, options)  # type: ignore[attr-defined]
    return lowered[0] if len(arrays) == 1 else tuple(lowered)
