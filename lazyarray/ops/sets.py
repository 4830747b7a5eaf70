"""Set functions: ``unique`` (numpy's arguments, one output array per node) and ``isin``.

numpy's ``unique`` returns up to four arrays; a node is one array, so the row's
``output`` attribute names which one ("values", "indices", "inverse" or "counts") and
the other attributes are numpy's own: the flags decide numpy's algorithm (a stable sort
with ``return_index``), hence which of two equal values (``-0.0`` and ``0.0``) is
kept. The array API's ``unique_*`` functions are numpy's with ``equal_nan=False``
(NaNs distinct), built by ``lazyarray.composites.sorting``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lazyarray.errors import OpArgumentError, OpValueError
from lazyarray.graph import Node
from lazyarray.ops.arguments import choice, to_axis, to_flag
from lazyarray.ops.attrtypes import Str, gives, optional
from lazyarray.ops.registry import Kind, OpDef, Trait, register
from lazyarray.ops.settled import settled_shape
from lazyarray.ops.signature import Param, Signature
from lazyarray.ops.sorting import INDEX
from lazyarray.types import ArrayType

OUTPUTS = ("values", "indices", "inverse", "counts")
_FLAGS = {"indices": "return_index", "inverse": "return_inverse", "counts": "return_counts"}


def _unique(
    x: Any,
    output: str = "values",
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: int | None = None,
    equal_nan: bool = True,
) -> Any:
    flags: dict[str, Any] = {
        "return_index": return_index,
        "return_inverse": return_inverse,
        "return_counts": return_counts,
    }
    found = np.unique(x, axis=axis, equal_nan=equal_nan, **flags)
    if not isinstance(found, tuple):
        return found
    returned = [name for name in OUTPUTS if name == "values" or flags[_FLAGS[name]]]
    return found[returned.index(output)]


def _unique_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    (x,) = inputs
    output = attrs.get("output", "values")
    if output != "values" and not attrs.get(_FLAGS[output], False):
        raise OpArgumentError(f"unique: output {output!r} needs {_FLAGS[output]}=True")
    axis = attrs.get("axis")
    if output == "inverse":
        return ArrayType(INDEX, x.type.shape if axis is None else (x.type.shape[axis],))
    dtype = x.type.dtype if output == "values" else INDEX
    if output == "values" and axis is not None:
        shape = x.type.shape[:axis] + (None,) + x.type.shape[axis + 1 :]
    else:
        shape = (None,)
    # the count of unique values is known now where x is settled (``ops/settled.py``)
    known = settled_shape("unique", inputs, attrs)
    return ArrayType(dtype, shape if known is None else known)


def _isin(
    x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False, kind: Any = None
) -> Any:
    return np.isin(x1, x2, assume_unique=assume_unique, invert=invert, kind=kind)


def _isin_rule(inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> ArrayType:
    if attrs.get("kind") == "table" and any(n.type.dtype.kind not in "biu" for n in inputs):
        raise OpValueError(
            "The 'table' method is only supported for boolean or integer arrays. "
            "Please select 'sort' or None for kind."
        )
    return ArrayType(np.dtype(bool), inputs[0].type.shape)


@gives(optional(Str("sort", "table")))
def _isin_kind(value: Any, inputs: tuple[Node, ...]) -> str | None:
    if value not in (None, "sort", "table"):
        raise OpValueError(f"Invalid kind: {value!r}. Please use None, 'sort' or 'table'.")
    return value  # type: ignore[no-any-return]


ROWS = [
    OpDef(
        "unique",
        Kind.SORTING,
        _unique,
        _unique_rule,
        arity=1,
        traits=frozenset({Trait.UNKNOWN_SIZE}),
        # built by the composites (``np.unique``, ``la.unique_*``), which return tuples
        namespaces=(),
        signature=Signature(
            ("ar",),
            (
                Param("output", choice(*OUTPUTS), "values", stored=True),
                Param("return_index", to_flag, False),
                Param("return_inverse", to_flag, False),
                Param("return_counts", to_flag, False),
                Param("axis", to_axis, None),
                Param("equal_nan", to_flag, True, keyword=True),
            ),
        ),
    ),
    OpDef(
        "isin",
        Kind.SORTING,
        _isin,
        _isin_rule,
        array_api_name="isin",
        numpy_functions=(np.isin,),
        arity=2,
        signature=Signature(("x1", "x2"), (Param("invert", to_flag, False, keyword=True),)),
        numpy_signature=Signature(
            ("element", "test_elements"),
            (
                Param("assume_unique", to_flag, False),
                Param("invert", to_flag, False),
                Param("kind", _isin_kind, None, keyword=True),
            ),
        ),
        doc="Whether each element of ``x1`` is in ``x2`` (the array API's ``isin``).",
    ),
]

register(*ROWS)
