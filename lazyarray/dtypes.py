"""The standard's dtype objects, ``la.bool`` to ``la.complex128``.

Each is the ``DType`` that ``x.dtype`` returns, so ``x.dtype == la.float64`` and both hash
alike (they are usable as dict keys); each also equals its numpy dtype and works as
``dtype=`` in lazyarray and numpy. No code lives here: ``bool`` below shadows the builtin
for this module only.
"""

from __future__ import annotations

from lazyarray.proxy.dtype import DType

bool = DType("bool")  # noqa: A001 - the standard's name
int8 = DType("int8")
int16 = DType("int16")
int32 = DType("int32")
int64 = DType("int64")
uint8 = DType("uint8")
uint16 = DType("uint16")
uint32 = DType("uint32")
uint64 = DType("uint64")
float32 = DType("float32")
float64 = DType("float64")
complex64 = DType("complex64")
complex128 = DType("complex128")

__all__ = [
    "bool",
    "complex64",
    "complex128",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]
