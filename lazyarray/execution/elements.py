"""Element reads: ``float(x[i])`` in a loop computes ``x`` once.

Reading an array's elements one at a time (a loop of ``int(x[i, j])``, a test comparing
element by element) would plan and run the expression once per element. When the array
read is small and settled (no parameters, no data that can change under it), its whole
value is computed once, the way numpy holds it, and kept in the result cache by the
array's digest; each element is then read from that value. Anything else takes the
usual road: the element's own graph, planned and run.
"""

from __future__ import annotations

from typing import Any

from lazyarray.config import Options, snapshot
from lazyarray.execution.cache import results
from lazyarray.execution.compute import compute
from lazyarray.graph import Literal, Node, find
from lazyarray.ops import Trait, has
from lazyarray.ops.indexing import element_index

# computing more than this to read one element costs more than planning the read
WHOLE_BYTES = 16 * 2**20
NOT_READ = object()


def read_element(node: Node) -> Any:
    """The value of ``node`` when it reads one element of a small settled array, from
    that array's value (computed once); ``NOT_READ`` otherwise."""
    index = element_index(node)
    if index is None:
        return NOT_READ
    whole = node.inputs[0]
    type_ = whole.type
    size = type_.size  # known: the index was checked against every axis
    if type_.masked or whole.has_parameters or size * type_.dtype.itemsize > WHOLE_BYTES:  # type: ignore[operator]
        return NOT_READ
    options = snapshot()
    key = _key(whole, options)
    held = results.peek(key)
    if held is None:
        if _reads_changing_data(whole):
            return NOT_READ
        value = compute([whole], unpack=True)
        results.put(key, [value], options.cache_bytes)
        return value[index]
    return held[0][index]


def _key(node: Node, options: Options) -> str:
    backend = options.backend if isinstance(options.backend, str) else options.backend.name
    return f"elements|{node.digest}|{backend}|fast_math={options.fast_math}"


def _reads_changing_data(node: Node) -> bool:
    def changing(child: Node) -> bool:
        value = child.attr("value")
        return has(child, Trait.LITERAL) and isinstance(value, Literal) and value.mutable

    return bool(find([node], changing))
