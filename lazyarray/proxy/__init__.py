"""The proxy types: Array, MaskedArray, Scalar, DType, and ``parameter``."""

from lazyarray.proxy import documents, methods, numpy_protocol, pickling, standard
from lazyarray.proxy.array import Array, MaskedArray, Scalar
from lazyarray.proxy.base import BaseArray, as_node, wrap
from lazyarray.proxy.dtype import DType
from lazyarray.proxy.parameter import parameter

documents.attach()
methods.attach()
numpy_protocol.attach()
pickling.attach()
standard.attach()

__all__ = [
    "Array",
    "BaseArray",
    "DType",
    "MaskedArray",
    "Scalar",
    "as_node",
    "parameter",
    "wrap",
]
