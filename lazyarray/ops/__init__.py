"""The op tables. Importing this package registers every row in ``OPS``."""

from lazyarray.ops import (
    creation,
    decompositions,
    elementwise,
    fourier,
    indexing,
    kernel,
    linalg,
    masked,
    masked_stats,
    matrix,
    products,
    reductions,
    shape,
)
from lazyarray.ops.registry import OPS, Kind, OpDef, Trait, apply, lookup, rows_of_kind

__all__ = [
    "OPS",
    "Kind",
    "OpDef",
    "Trait",
    "apply",
    "creation",
    "decompositions",
    "elementwise",
    "fourier",
    "indexing",
    "kernel",
    "linalg",
    "lookup",
    "masked",
    "masked_stats",
    "matrix",
    "products",
    "reductions",
    "rows_of_kind",
    "shape",
]
