"""``histogram`` and ``average``: numpy's statistics that are not one node. ``histogram``
returns the counts and the edges; ``average`` takes an optional array (the weights) and,
with ``returned=True``, returns a pair. Each builds its nodes from the rows of
``lazyarray/ops/statistics.py``; ``np.histogram(proxy)`` and ``np.average(proxy)``
(NEP 18) come here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.errors import LazyArrayError, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops.arguments import flag
from lazyarray.ops.registry import at_user_line
from lazyarray.ops.statistics import to_bins, to_ordered_axes, to_range
from lazyarray.proxy import numpy_protocol
from lazyarray.proxy.base import as_node, wrap
from lazyarray.proxy.build import apply


def histogram(
    a: Any,
    bins: Any = 10,
    range: Any = None,  # noqa: A002 - numpy's name
    density: Any = None,
    weights: Any = None,
) -> tuple[Any, Any]:
    """numpy's ``histogram``: lazy counts and edges. The edges are known without the
    data when ``range`` (or the edges themselves) is given; otherwise they follow the
    data's minimum and maximum, lazily, as the counts do.

    >>> import lazyarray as la
    >>> counts, edges = la.histogram(la.arange(10), bins=2, range=(0, 10))
    >>> counts.compute(), edges.compute()
    (array([5, 5]), array([ 0.,  5., 10.]))
    """
    try:
        data = _unmasked("histogram", as_node(a))
        inputs = [data]
        if weights is not None:
            inputs.append(_unmasked("histogram", as_node(weights)))
        attrs: dict[str, Any] = {}
        if range is not None:
            attrs["range"] = to_range(range, ())
        if density is not None and flag(density, "density"):
            attrs["density"] = True
        if hasattr(bins, "__lazyarray_node__") or (not isinstance(bins, str) and np.ndim(bins)):
            given = bins if hasattr(bins, "__lazyarray_node__") else _frozen(bins)
            edges = _unmasked("histogram", as_node(given))
            counts = apply("histogram_counts", (*inputs, edges), **attrs)
            return wrap(counts), wrap(edges)
        attrs["bins"] = to_bins(bins, ())
        counts = apply("histogram_counts", tuple(inputs), **attrs)
        if range is None and data.type.size != 0:
            edges = apply("histogram_bin_edges", (data,), bins=attrs["bins"])
        else:  # numpy's edges read the data's dtype only
            empty = np.empty(0, data.type.dtype)
            edges = as_node(_frozen(np.histogram_bin_edges(empty, attrs["bins"], range)))
    except LazyArrayError as exc:
        raise at_user_line(exc) from exc.__cause__
    return wrap(counts), wrap(edges)


def average(
    a: Any, axis: Any = None, weights: Any = None, returned: Any = False, *, keepdims: Any = False
) -> Any:
    """numpy's ``average`` (numpy.ma's for masked arrays); with ``returned=True``, the
    average and the sum of the weights.

    >>> import lazyarray as la
    >>> la.average(la.arange(4), weights=la.arange(4)).compute()
    np.float64(2.3333333333333335)
    """
    try:
        data = as_node(a)
        inputs = (data,) if weights is None else (data, as_node(weights))
        attrs: dict[str, Any] = {}
        axes = to_ordered_axes(axis, inputs)
        if axes is not None:
            attrs["axis"] = axes
        if flag(keepdims, "keepdims"):
            attrs["keepdims"] = True
        result = apply("average", inputs, **attrs)
        if not flag(returned, "returned"):
            return wrap(result)
        return wrap(result), wrap(apply("sum_of_weights", inputs, **attrs))
    except LazyArrayError as exc:
        raise at_user_line(exc) from exc.__cause__


def _unmasked(name: str, node: Node) -> Node:
    if node.type.masked:
        raise UnsupportedOperation(
            f"{name} is not defined for masked arrays (numpy.ma has no masked {name}); "
            "use .filled() or .compressed() first"
        )
    return node


def _frozen(value: Any) -> Any:
    array = np.array(value)
    array.flags.writeable = False
    return array


numpy_protocol.register({np.histogram: histogram, np.average: average})

__all__ = ["average", "histogram"]
