"""The op tables. Importing this package registers every row in ``OPS``."""

from lazyarray.ops import (
    creation,
    elementwise,
    indexing,
    kernel,
    linalg,
    masked,
    masked_stats,
    reductions,
    shape,
    update,
)
from lazyarray.ops.registry import OPS, Kind, OpDef, Trait, apply, lookup, rows_of_kind

__all__ = [
    "OPS",
    "Kind",
    "OpDef",
    "Trait",
    "apply",
    "creation",
    "elementwise",
    "indexing",
    "kernel",
    "linalg",
    "lookup",
    "masked",
    "masked_stats",
    "reductions",
    "rows_of_kind",
    "shape",
    "update",
]
