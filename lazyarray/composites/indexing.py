"""``ix_``: a tuple of index arrays (one per sequence, each along its own axis), which a
row cannot return. Also what ``np.ix_(proxy, ...)`` runs (NEP 18)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.errors import OpValueError
from lazyarray.ops.indexing import known_values
from lazyarray.ops.registry import at_user_line
from lazyarray.proxy import as_node, build, indexing, numpy_protocol, wrap


def ix_(*args: Any) -> tuple[Any, ...]:
    """numpy's ``ix_``: the open mesh ``x[ix_(rows, cols)]`` selects the block of
    ``rows`` by ``cols``. Each 1-d sequence lies along its own axis of the result's
    broadcast; a boolean one stands for its nonzero positions (lazily for a lazy one,
    whose size then becomes known when running).

    >>> import lazyarray as la
    >>> x = la.arange(12).reshape(3, 4)
    >>> x[la.ix_([0, 2], [1, 3])].compute()
    array([[ 1,  3],
           [ 9, 11]])
    """
    out = []
    for k, arg in enumerate(args):
        if hasattr(arg, "__lazyarray_node__") or isinstance(arg, np.ndarray):
            node = as_node(arg)
        else:
            given = np.asarray(arg)
            node = as_node(given.astype(np.intp) if given.size == 0 else given)
        if node.type.ndim != 1:
            raise at_user_line(OpValueError("Cross index must be 1 dimensional"))
        if node.type.dtype.kind == "b":
            flags = known_values(node)
            if flags is not None:
                node = as_node(np.flatnonzero(flags))
            else:
                node = build.apply("flatnonzero", (node,))
        along = (None,) * k + (slice(None),) + (None,) * (len(args) - k - 1)
        out.append(indexing.getitem(wrap(node), along))
    return tuple(out)


numpy_protocol.register({np.ix_: ix_})

__all__ = ["ix_"]
