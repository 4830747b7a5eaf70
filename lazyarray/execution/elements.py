"""Element reads: ``float(x[i])`` in a loop computes ``x`` once.

Reading an array's elements one at a time (a loop of ``int(x[i, j])``, a check comparing
``x[i] == y[j]``) would plan and run the expression once per element. When the array
read is small and settled (no parameters, no data that can change under it), its whole
value is computed once, the way numpy holds it, and kept in the result cache by the
array's digest; each element is then read from that value, and a few elementwise ops
over such elements and scalar constants run on them directly, by their rows. Anything
else takes the usual road: the element's own graph, planned and run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lazyarray.config import Options, snapshot
from lazyarray.execution.cache import results
from lazyarray.execution.compute import compute
from lazyarray.execution.formats import to_python
from lazyarray.graph import Literal, Node, find
from lazyarray.ops import OPS, Kind, Trait, has
from lazyarray.ops.indexing import element_index

# computing more than this to read one element costs more than planning the read
WHOLE_BYTES = 16 * 2**20
# the elementwise ops over elements run directly: a check such as ``x[i] == y[j]``
_DEPTH = 4
NOT_READ = object()


def read_element(node: Node) -> Any:
    """The value of 0-d ``node`` (as ``compute`` gives it) when it is an element of a
    small settled array, or elementwise ops over such elements and constants;
    ``NOT_READ`` otherwise."""
    if node.type.masked:
        return NOT_READ
    value = _value(node, _DEPTH, snapshot())
    return NOT_READ if value is NOT_READ else to_python(value, node.type)


def _value(node: Node, depth: int, options: Options) -> Any:
    index = element_index(node)
    if index is not None:
        return _element(node.inputs[0], index, options)
    row = OPS[node.op]
    if Trait.LITERAL in row.traits:
        value = node.attr("value")
        if not isinstance(value, Literal):
            return value  # a scalar constant
        return NOT_READ if value.mutable or node.type.ndim else value.value
    if row.kind is not Kind.ELEMENTWISE or depth == 0 or node.type.ndim or node.type.masked:
        return NOT_READ
    values = [_value(child, depth - 1, options) for child in node.inputs]
    if any([value is NOT_READ for value in values]):
        return NOT_READ
    try:
        return row.impl(*values, **dict(node.attrs))
    except Exception:  # the usual road raises it, at the user's line
        return NOT_READ


def _element(whole: Node, index: tuple[int, ...], options: Options) -> Any:
    """``whole[index]`` as a 0-d array (as a backend holds it), from ``whole``'s value."""
    type_ = whole.type
    size = type_.size  # known: the index was checked against every axis
    if type_.masked or whole.has_parameters or size * type_.dtype.itemsize > WHOLE_BYTES:  # type: ignore[operator]
        return NOT_READ
    key = _key(whole, options)
    held = results.peek(key)
    if held is None:
        if _reads_changing_data(whole):
            return NOT_READ
        value = compute([whole], unpack=True)
        results.put(key, [value], options.cache_bytes)
    else:
        value = held[0]
    return np.asarray(value[index])


def _key(node: Node, options: Options) -> str:
    backend = options.backend if isinstance(options.backend, str) else options.backend.name
    return f"elements|{node.digest}|{backend}|fast_math={options.fast_math}"


def _reads_changing_data(node: Node) -> bool:
    def changing(child: Node) -> bool:
        value = child.attr("value")
        return has(child, Trait.LITERAL) and isinstance(value, Literal) and value.mutable

    return bool(find([node], changing))
