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
from lazyarray.graph import Node, Site
from lazyarray.ops.attrtypes import AttrType, Union
from lazyarray.ops.signature import Bound, Signature
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
    # numpy's statistics beyond the standard's reductions (NaN-skipping reductions and
    # scans, quantiles, histograms, weighted averages): opaque to the planner's passes
    STATISTICS = "statistics"
    KERNEL = "kernel"  # a fused group of ops, built by the planner

    # members are singletons compared by identity: hashed by it too, in C (Enum's own
    # hash is Python code, and passes ask traits and kinds of every node)
    __hash__ = object.__hash__


class Trait(enum.Enum):
    """What passes and backends ask of an op; none of them tests an op's name."""

    COMMUTATIVE = "commutative"  # f(a, b) == f(b, a)
    ASSOCIATIVE = "associative"
    PRESERVES_SHAPE = "preserves_shape"
    UNKNOWN_SIZE = "unknown_size"  # result size known only after running
    NEEDS_PYTHON = "needs_python"  # runs arbitrary Python (custom functions)
    # a source computed from its attributes alone; its impl takes ``region`` (an encoded
    # basic index) and returns exactly ``whole[region]``, computing only those elements
    GENERATED = "generated"
    # a generated source drawn from a counter-based random stream in blocks of
    # ``ops.rng.RANDOM_BLOCK`` values: work cut on block edges draws each block once
    RANDOM = "random"
    # a source read from storage (``ops/sources.py``): its impl takes ``region`` as a
    # generated source's does and reads only the chunks the region touches; it is read
    # once per step, never per kernel block (a chunk would be decoded once per block)
    STORED = "stored"
    LITERAL = "literal"  # its value is its ``value`` attribute (a constant)
    ARGUMENT = "argument"  # its value is the compute argument its ``name`` attribute names
    VIEW = "view"  # numpy returns a view of the input: no new memory, no work
    # on masked inputs numpy.ma also masks results the plain op computes (invalid or out
    # of the op's domain: ``inf / 1`` is masked), so identities such as x/1 -> x fail there
    MASKS_INVALID = "masks_invalid"
    # a reduction whose partial results over blocks combine by the same op (a sum of
    # sums, a max of maxes): a kernel can finish with it, block by block
    BLOCKWISE = "blockwise"
    # numpy.ma's statistics of a count and a sum (mean, var, std): backends reduce them
    # chunk by chunk (``lazyarray.runtime.masked_stats``), not by numpy.ma's copies
    STATISTIC = "statistic"
    INVOLUTION = "involution"  # f(f(x)) == x, attributes equal (-(-x), ~~x, flip(flip(x)))
    IDEMPOTENT = "idempotent"  # f(f(x)) == f(x) (abs(abs(x)), floor(floor(x)))
    # the input's elements in C order under a new shape (reshape, ravel): a chain of them
    # is one, and one to the input's own shape is the input
    RESHAPE = "reshape"

    __hash__ = object.__hash__  # as Kind's


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
    # a request this row states through other rows (``reshape(order="F")`` through
    # transposes): ``expand(inputs, attrs)`` returns the node, or ``None`` to build this op
    expand: Callable[[tuple[Node, ...], Mapping[str, Any]], Node | None] | None = None
    doc: str = ""
    # the types of the attributes its signature's arguments do not set (graph documents)
    attributes: Mapping[str, AttrType] | None = None
    # what is wrong with a node's attributes taken together, beyond their types (a
    # document's nodes are checked before they are built); None when nothing is
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    # the op-set version in which this op's meaning last changed (``lazyarray.serialize``):
    # a released row never changes; a new meaning is a new ``since`` and an upgrader
    since: int = 1

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
        return Node.make(op, inputs, key, row.infer, attributes=attrs)
    except LazyArrayError as exc:
        raise _at_user_line(exc) from exc.__cause__


def apply_at(site: Site | None, op: str, inputs: tuple[Node, ...], attrs: dict[str, Any]) -> Node:
    """``apply`` at ``site``, the user's line as the caller read it before calling
    further in (each frame between the user and the node is one more frame to read)."""
    row = OPS[op]
    key = (
        (tuple(sorted(attrs.items())) if len(attrs) > 1 else tuple(attrs.items())) if attrs else ()
    )
    try:
        return Node.make(op, inputs, key, row.infer, site, attributes=attrs)
    except LazyArrayError as exc:
        raise _at_user_line(exc) from exc.__cause__


def apply_bound(site: Site | None, op: str, inputs: tuple[Node, ...], bound: Bound) -> Node:
    """``apply_at`` with the attributes as a signature binds them."""
    infer = OPS[op].infer
    try:
        return Node.make(op, inputs, bound.key, infer, site, bound.floats, attributes=bound.attrs)
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


def attribute_types(row: OpDef) -> dict[str, AttrType]:
    """Every attribute a node of ``row`` may hold, and its type: its signatures'
    arguments' (both surfaces', joined), then the row's own ``attributes``."""
    cached = _ATTRIBUTE_TYPES.get(row.name)
    if cached is not None and cached[0] is row:
        return cached[1]
    kinds: dict[str, list[AttrType]] = {}
    for signature in (row.signature, row.numpy_signature):
        for param in signature.params if signature is not None else ():
            kind = param.attr_type
            if kind is not None and all(kind is not k for k in kinds.get(param.target, ())):
                kinds.setdefault(param.target, []).append(kind)
    found = {name: k[0] if len(k) == 1 else Union(*k) for name, k in kinds.items()}
    found.update(row.attributes or {})
    _ATTRIBUTE_TYPES[row.name] = (row, found)
    return found


_ATTRIBUTE_TYPES: dict[str, tuple[OpDef, dict[str, AttrType]]] = {}


def undeclared_arguments(row: OpDef) -> list[str]:
    """The arguments of ``row``'s signatures whose attribute has no declared type."""
    return [
        param.name
        for signature in (row.signature, row.numpy_signature)
        for param in (signature.params if signature is not None else ())
        if param.attr_type is None and param.target not in (row.attributes or {})
    ]


def rows_of_kind(*kinds: Kind) -> list[OpDef]:
    return [row for row in OPS.values() if row.kind in kinds]


def rows_with(trait: Trait) -> list[OpDef]:
    return [row for row in OPS.values() if trait in row.traits]


def has(node: Node, trait: Trait) -> bool:
    """Whether ``node``'s op has ``trait``."""
    return trait in OPS[node.op].traits
