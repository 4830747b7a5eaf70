"""The op tables. Importing this package registers every row in ``OPS``."""

from lazyarray.ops import (
    creation,
    elementwise,
    indexing,
    kernel,
    linalg,
    manipulation,
    masked,
    padding,
    reductions,
    shape,
)
from lazyarray.ops.registry import (
    OPS,
    Kind,
    OpDef,
    Trait,
    apply,
    has,
    lookup,
    rows_of_kind,
    rows_with,
)

__all__ = [
    "OPS",
    "Kind",
    "OpDef",
    "Trait",
    "apply",
    "creation",
    "elementwise",
    "has",
    "indexing",
    "kernel",
    "linalg",
    "lookup",
    "manipulation",
    "masked",
    "padding",
    "reductions",
    "rows_of_kind",
    "rows_with",
    "shape",
]
