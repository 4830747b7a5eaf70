"""The op row and the one table every surface is generated from.

An op is a frozen row: its name, kind, numpy implementation (the reference semantics, the
constant folder and the numpy backend's default lowering), type rule, masked variant,
and the names under which numpy, the array API and Python's operators know it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Any

from lazyarray.errors import LazyArrayError, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops.signature import Signature
from lazyarray.types import ArrayType

Infer = Callable[[tuple[Node, ...], Mapping[str, Any]], ArrayType]
Impl = Callable[..., Any]


class Kind(enum.Enum):
    ELEMENTWISE = "elementwise"
    REDUCTION = "reduction"
    SCAN = "scan"
    SHAPE = "shape"
    INDEXING = "indexing"
    LINALG = "linalg"
    CREATION = "creation"
    SOURCE = "source"
    MASKED = "masked"
    # sorting, sets and searching: each needs a whole axis (or the whole array) at once,
    # and several have sizes known only after running
    SORTING = "sorting"
    KERNEL = "kernel"  # a fused group of ops, built by the planner


class Trait(enum.Enum):
    COMMUTATIVE = "commutative"
    ASSOCIATIVE = "associative"
    PRESERVES_SHAPE = "preserves_shape"
    UNKNOWN_SIZE = "unknown_size"  # result size known only after running
    NEEDS_PYTHON = "needs_python"  # runs arbitrary Python (custom functions)
    # a source computed from its attributes alone; its impl takes ``region`` (an encoded
    # basic index) and returns exactly ``whole[region]``, computing only those elements
    GENERATED = "generated"


@dataclasses.dataclass(frozen=True, slots=True)
class OpDef:
    """One row of the op table."""

    name: str
    kind: Kind
    impl: Impl
    infer: Infer
    masked_impl: Impl | None = None  # ``None``: the op refuses masked inputs
    array_api_name: str | None = None
    aliases: tuple[str, ...] = ()
    dunders: tuple[str, ...] = ()  # e.g. ("__add__", "__radd__", "__iadd__")
    numpy_functions: tuple[Any, ...] = ()  # routed here by __array_ufunc__/__array_function__
    traits: frozenset[Trait] = frozenset()
    arity: int | None = None  # ``None``: variadic
    # the arguments of ``la.<name>`` (and its array-API name and aliases); ``None``: the
    # op is built by its family's builder (ufuncs, reductions) or only by the planner
    signature: Signature | None = None
    # numpy's arguments, where they differ: NEP 18 (``np.<name>(proxy)``) and methods
    numpy_signature: Signature | None = None
    method: bool = False  # also an ndarray method, ``x.<name>(...)``, in numpy's arguments
    # where its module functions live: "" is ``lazyarray`` itself; "linalg", "fft" are
    # ``lazyarray.linalg`` and ``lazyarray.fft`` (the array API's extensions)
    namespaces: tuple[str, ...] = ("",)
    doc: str = ""

    @property
    def numpy_arguments(self) -> Signature | None:
        return self.numpy_signature or self.signature

    @property
    def public_names(self) -> tuple[str, ...]:
        extra = (self.array_api_name,) if self.array_api_name else ()
        return tuple(dict.fromkeys((self.name, *extra, *self.aliases)))

    def implementation(self, masked: bool) -> Impl:
        if not masked:
            return self.impl
        if self.masked_impl is None:
            raise UnsupportedOperation(f"{self.name} is not defined for masked arrays")
        return self.masked_impl


OPS: dict[str, OpDef] = {}


def register(*rows: OpDef) -> None:
    for row in rows:
        if row.name in OPS:
            raise ValueError(f"op {row.name!r} is declared twice")
        OPS[row.name] = row


def lookup(name: str) -> OpDef:
    try:
        return OPS[name]
    except KeyError:
        raise UnsupportedOperation(f"unknown op {name!r}") from None


def apply(op: str, inputs: tuple[Node, ...], /, **attrs: Any) -> Node:
    """The node for ``op`` over ``inputs``; its type is checked here, at the user's
    line, and any error names that line."""
    row = OPS[op]
    key = (
        (tuple(sorted(attrs.items())) if len(attrs) > 1 else tuple(attrs.items())) if attrs else ()
    )
    try:
        return Node.make(op, inputs, key, lambda: row.infer(inputs, attrs))
    except LazyArrayError as exc:
        raise _at_user_line(exc) from exc.__cause__


def at_user_line(exc: LazyArrayError) -> LazyArrayError:
    """``exc`` naming the user's line (the first frame outside lazyarray)."""
    return _at_user_line(exc)


def _at_user_line(exc: LazyArrayError) -> LazyArrayError:
    from lazyarray.graph import creation_site

    site = creation_site()
    if site is not None and exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]} (in the expression at {site[0]}:{site[1]})",)
    return exc


def rows_of_kind(*kinds: Kind) -> list[OpDef]:
    return [row for row in OPS.values() if row.kind in kinds]
