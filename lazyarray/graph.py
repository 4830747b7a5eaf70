"""The IR: immutable, slotted, hash-consed nodes with deterministic digests.

Building the same expression twice gives the same ``Node`` object, so common
subexpressions are shared from birth. ``Node ==`` is identity. A node's ``digest`` is a
structural hash that is the same in every process (caching and publishing rely on it);
it is computed on first use only, so wrapping a large literal never reads its data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import numpy as np

from lazyarray.types import ArrayType

Attrs = tuple[tuple[str, Any], ...]
Site = tuple[str, int]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_INTERNAL_PREFIXES = (_PACKAGE_DIR + os.sep, os.path.dirname(np.__file__) + os.sep)
# lazyarray.testing writes expressions as a user does: its lines are the user's
_USER_PREFIX = os.path.join(_PACKAGE_DIR, "testing") + os.sep


class Literal:
    """Holds a literal value inside node attributes without copying or hashing it.

    Equality and hash are identity. Arrays reading the same memory the same way (one
    ndarray, or views of it with its layout) share one wrapper, so they are one node;
    the content digest is computed once, on demand.
    """

    __slots__ = ("__weakref__", "_digest", "value")

    _by_digest: ClassVar[weakref.WeakValueDictionary[str, Literal]] = weakref.WeakValueDictionary()

    def __init__(self, value: Any) -> None:
        self.value = value
        self._digest: str | None = None

    @classmethod
    def of(cls, value: Any) -> Literal:
        """The one wrapper of this memory (or, for other objects, of this object) while
        any node holds it; the wrapper holds the value, so its memory stays its own."""
        key = memory_key(value)
        ref = _LITERALS.get(key)
        literal = ref() if ref is not None else None
        if literal is None:
            literal = cls(value)
            ref = _Ref(literal, _forget_literal)
            ref.key = key
            _LITERALS[key] = ref
        return literal

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = content_digest(self.value)
            Literal._by_digest[self._digest] = self
        return self._digest

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with the digest of its contents, so that loading in a process that
        holds the same data finds that literal (and so the same interned nodes)."""
        if self.mutable:  # the digest of the contents as they are now
            self._digest = None
        return (_literal_from_pickle, (self.value, self.digest))

    @property
    def mutable(self) -> bool:
        """Whether the data can change after it was wrapped: a writeable array, or a view
        of one (wrapping is by reference, as numpy views are). Results computed from a
        mutable literal are never cached, nor planned constants folded from it."""
        return may_change(self.value)

    def __repr__(self) -> str:
        value = self.value
        return f"Literal(<{type(value).__name__} {getattr(value, 'shape', '')}>)"


def _literal_from_pickle(value: Any, digest: str) -> Literal:
    found = Literal._by_digest.get(digest)
    # a live writeable array may have changed since: match its data as it is now
    if found is not None and (not found.mutable or content_digest(found.value) == digest):
        return found
    literal = Literal.of(value)
    if literal._digest is None:
        literal._digest = digest
        Literal._by_digest[digest] = literal
    return literal


def memory_key(value: Any) -> Any:
    """What an array reads: its memory's address, shape, strides and dtype (with the mask
    and fill value of a masked array); other objects are keyed by identity. An array
    owning its memory, and a view of it reading that memory the same way, are keyed by
    the owner's identity instead of its address (cheaper to read, and as unique while
    the owner lives, which its literal ensures)."""
    if type(value) is np.ndarray:
        base = value.base
        if base is None:
            return ("owner", id(value), value.shape, value.strides, value.dtype)
        if (
            type(base) is np.ndarray
            and base.base is None
            and value.shape == base.shape
            and value.strides == base.strides
            and value.dtype == base.dtype
            and _address(value) == _address(base)
        ):
            return ("owner", id(base), base.shape, base.strides, base.dtype)
        interface = value.__array_interface__
        return (interface["data"][0], value.shape, interface["strides"], value.dtype.str)
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmask(value)
        mask_key = memory_key(mask) if isinstance(mask, np.ndarray) else None
        return ("masked", memory_key(value.data), mask_key, repr(value.fill_value))
    return ("object", id(value))


def _address(array: np.ndarray[Any, Any]) -> int:
    return int(array.__array_interface__["data"][0])


def may_change(value: Any) -> bool:
    """Whether the contents of ``value`` can change: an ndarray that is writeable, or a
    read-only view whose base is writeable or is memory we do not know (a memory map, a
    buffer); read-only arrays owning their data, views of bytes, scalars and dask arrays
    cannot."""
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmask(value)  # nomask is a numpy bool, not an array
        return may_change(value.data) or (isinstance(mask, np.ndarray) and may_change(mask))
    current = value
    while isinstance(current, np.ndarray):
        if current.flags.writeable:
            return True
        current = current.base
    return current is not None and current is not value and not isinstance(current, bytes)


def content_digest(value: Any) -> str:
    """A digest of an array's dtype, shape, mask and bytes (read once); for a dask array,
    of its name, which dask derives from its graph (computing nothing)."""
    hasher = hashlib.blake2b(digest_size=16)
    if hasattr(value, "__dask_graph__"):
        hasher.update(f"dask:{value.name}".encode())
        return hasher.hexdigest()
    if isinstance(value, np.ma.MaskedArray):
        hasher.update(b"masked")
        hasher.update(content_digest(np.ma.getmaskarray(value)).encode())
        hasher.update(repr(value.fill_value).encode())
        value = np.ma.getdata(value)
    array = np.asarray(value)
    hasher.update(f"{array.dtype.str}{array.shape}".encode())
    hasher.update(np.ascontiguousarray(array).view(np.uint8).data)
    return hasher.hexdigest()


class Value:
    """Base of the frozen dataclasses that node attributes may hold besides Python and
    numpy scalars, dtypes, tuples and literals (a fused kernel). Such a value is equal,
    hashed and pickled by its fields; it is digested by its class name and fields, and the
    bits of its floats are part of the interning key, as for a tuple."""

    __slots__ = ()

    def values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, field.name) for field in dataclasses.fields(self)])  # type: ignore[arg-type]


_new_node = object.__new__


class _Ref(weakref.ref):  # type: ignore[type-arg]
    """A weak reference that knows its interning key. ``weakref.KeyedRef`` does too, but
    its ``__new__`` and ``__init__`` are Python code: four times the cost, per node."""

    __slots__ = ("key",)
    key: tuple[Any, ...]


# The interning table: structural key -> weak reference to the one node with that key.
# A node's entry goes when the node does (nothing else holds nodes alive).
_INTERNED: dict[tuple[Any, ...], _Ref] = {}


def _forget(ref: _Ref) -> None:
    if _INTERNED.get(ref.key) is ref:
        del _INTERNED[ref.key]


# memory key -> weak reference to the one literal reading that memory that way
_LITERALS: dict[Any, _Ref] = {}


def _forget_literal(ref: _Ref) -> None:
    if _LITERALS.get(ref.key) is ref:
        del _LITERALS[ref.key]


_MAY_HOLD_FLOATS = (float, tuple, Value)


def _key(op: str, inputs: tuple[Node, ...], attrs: Attrs) -> tuple[Any, ...]:
    """The interning key. Attributes compare by value, but 0.0 == -0.0: a key with
    floats also holds their exact bits, so ``full(3, -0.0)`` is not ``full(3, 0.0)``.
    (A constant's token already spells its value exactly.)"""
    if op == "constant":
        return (op, inputs, attrs)
    floats = float_bits(attrs)
    return (op, inputs, attrs, floats) if floats else (op, inputs, attrs)


def float_bits(attrs: Attrs) -> tuple[str, ...]:
    """The exact bits of the floats in ``attrs``, as interning keys hold them."""
    floats: list[str] = []
    for _, value in attrs:
        if isinstance(value, _MAY_HOLD_FLOATS):
            _float_bits(value, floats)
    return tuple(floats)


def _float_bits(value: Any, found: list[str]) -> None:
    if isinstance(value, float):
        found.append(value.hex())
    elif isinstance(value, tuple):
        for item in value:
            if isinstance(item, _MAY_HOLD_FLOATS):
                _float_bits(item, found)
    elif isinstance(value, Value):
        _float_bits(value.values(), found)


def existing(op: str, inputs: tuple[Node, ...], attrs: Attrs) -> Node | None:
    """The live node with this key, if any (a fast path for literal scalars)."""
    ref = _INTERNED.get(_key(op, inputs, attrs))
    return None if ref is None else ref()


def interned_count() -> int:
    return len(_INTERNED)


class Node:
    """One operation in an expression graph; never build it directly, use ``Node.make``."""

    __slots__ = (
        "__weakref__",
        "_digest",
        "attrs",
        "has_parameters",
        "inputs",
        "op",
        "site",
        "type",
    )

    op: str
    inputs: tuple[Node, ...]
    attrs: Attrs
    type: ArrayType
    site: Site | None
    has_parameters: bool  # a parameter is this node or below it
    _digest: str | None

    @classmethod
    def make(
        cls,
        op: str,
        inputs: tuple[Node, ...],
        attrs: Attrs,
        infer: Callable[[], ArrayType],
        site: Site | None = None,
        floats: tuple[str, ...] | None = None,
    ) -> Node:
        """The node for ``op(inputs, attrs)``: the existing one, or a new one typed by
        ``infer`` (called only for new nodes, so its checks run once per expression).
        ``site`` defaults to the caller's line outside lazyarray; rewrites pass the site
        of the node they replace. ``floats``: ``float_bits(attrs)``, where the caller
        knows them (attributes bound once for many nodes)."""
        # (op, inputs, attrs) is the whole key unless the attributes hold floats
        if floats is None:
            key = _key(op, inputs, attrs) if attrs else (op, inputs, attrs)
        else:
            key = (op, inputs, attrs, floats) if floats else (op, inputs, attrs)
        ref = _INTERNED.get(key)
        if ref is not None:
            found: Node | None = ref()
            if found is not None:
                return found
        type_ = infer()
        node = _new_node(cls)
        _SET_OP(node, op)
        _SET_INPUTS(node, inputs)
        _SET_ATTRS(node, attrs)
        _SET_TYPE(node, type_)
        _SET_SITE(node, site if site is not None else creation_site())
        _SET_DIGEST(node, None)
        parameters = op == "parameter"
        for child in inputs:
            if child.has_parameters:
                parameters = True
                break
        _SET_HAS_PARAMETERS(node, parameters)
        ref = _Ref(node, _forget)
        ref.key = key
        _INTERNED[key] = ref
        return node

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Node is immutable; cannot set {name!r}")

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.attrs)

    def attr(self, name: str, default: Any = None) -> Any:
        for key, value in self.attrs:
            if key == name:
                return value
        return default

    @property
    def digest(self) -> str:
        """Structural digest: op, attributes, input digests and type."""
        if self._digest is None:
            # inputs first, never below a node whose digest is known: digesting each
            # step of a growing chain costs one node per step, not the whole chain
            stack = [self]
            while stack:
                node = stack[-1]
                pending = [child for child in node.inputs if child._digest is None]
                if pending:
                    stack += pending
                else:
                    stack.pop()
                    if node._digest is None:  # a node met twice is digested once
                        _SET_DIGEST(node, _digest_of(node))
        return self._digest  # type: ignore[return-value]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as flat rows, inputs first, so any depth pickles without recursion;
        unpickling builds through the interning table (``Node.make``)."""
        order = toposort([self])
        index = {node: i for i, node in enumerate(order)}
        rows = [
            (
                node.op,
                tuple([index[child] for child in node.inputs]),
                node.attrs,
                node.type,
                node.site,
            )
            for node in order
        ]
        return (_from_rows, (rows,))

    @property
    def site_text(self) -> str:
        return f"{self.site[0]}:{self.site[1]}" if self.site else "<unknown>"

    def __repr__(self) -> str:
        return (
            f"<Node {self.op} dtype={self.type.dtype} shape={self.type.shape}"
            f"{' masked' if self.type.masked else ''} at {self.site_text}>"
        )


# slot setters: the only way to write a Node's fields (its __setattr__ refuses), and the
# fastest (graph construction's hot path)
_SLOTS = Node.__dict__
_SET_OP = _SLOTS["op"].__set__
_SET_INPUTS = _SLOTS["inputs"].__set__
_SET_ATTRS = _SLOTS["attrs"].__set__
_SET_TYPE = _SLOTS["type"].__set__
_SET_SITE = _SLOTS["site"].__set__
_SET_DIGEST = _SLOTS["_digest"].__set__
_SET_HAS_PARAMETERS = _SLOTS["has_parameters"].__set__


def _from_rows(rows: list[tuple[str, tuple[int, ...], Attrs, ArrayType, Site | None]]) -> Node:
    nodes: list[Node] = []
    for op, refs, attrs, type_, site in rows:
        inputs = tuple([nodes[ref] for ref in refs])
        nodes.append(Node.make(op, inputs, attrs, lambda type_=type_: type_, site))  # type: ignore[misc]
    return nodes[-1]


def _digest_of(node: Node) -> str:
    children = ",".join([child._digest for child in node.inputs])  # type: ignore[misc]
    text = f"{node.op}|{_encode_attrs(node.attrs)}|{_encode_type(node.type)}|{children}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _encode_type(type_: ArrayType) -> str:
    weak = type_.weak.__name__ if type_.weak is not None else ""
    return f"{type_.dtype.str}{type_.shape}{type_.masked:d}{weak}"


def _encode_attrs(value: Any) -> str:
    if isinstance(value, Literal):
        return f"L{value.digest}"
    if isinstance(value, tuple):
        return "(" + ",".join([_encode_attrs(v) for v in value]) + ")"
    if isinstance(value, np.dtype):
        return f"dtype:{value.str}"
    if isinstance(value, Value):
        return type(value).__name__ + _encode_attrs(value.values())
    return f"{type(value).__name__}:{value!r}"


# code object -> None where it is defined inside lazyarray or numpy, else the sites of
# its instructions (one tuple per instruction that built a node, shared by every node
# built there). Keyed by the instruction's offset: a frame's line number is found by
# scanning the code's line table, which takes microseconds in a long function
_SITES: dict[Any, dict[int, Site] | None] = {}
_UNSEEN: dict[int, Site] = {}  # a marker: a code object met for the first time


def creation_site() -> Site | None:
    """file:line of the first frame outside lazyarray and numpy: the user's line."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        sites = _SITES.get(code, _UNSEEN)
        if sites is _UNSEEN:
            name = code.co_filename
            internal = name.startswith(_INTERNAL_PREFIXES) and not name.startswith(_USER_PREFIX)
            sites = _SITES[code] = None if internal else {}
        if sites is not None:
            offset = frame.f_lasti
            site = sites.get(offset)
            if site is None:
                site = sites[offset] = (code.co_filename, frame.f_lineno)
            return site
        frame = frame.f_back  # type: ignore[assignment]
    return None


def toposort(outputs: Iterable[Node], within: Callable[[Node], bool] | None = None) -> list[Node]:
    """Every node reachable from ``outputs``, inputs before users (a depth-first
    postorder); with ``within``, only through inputs it accepts (a kernel's members).
    Iterative, so graph depth is limited by memory, not by Python's recursion limit;
    the stack holds nodes only, no frame object per level."""
    order: list[Node] = []
    done: set[Node] = set()  # nodes hash by identity, as hash-consing allows
    expanded: set[Node] = set()  # inputs pushed; emitted when met again
    emit, finish, expand = order.append, done.add, expanded.add
    for root in outputs:
        stack = [root]
        push, pop = stack.append, stack.pop
        while stack:
            node = pop()
            if node in done:
                continue
            inputs = node.inputs
            if not inputs or node in expanded:  # a source, or its inputs are done
                finish(node)
                emit(node)
                continue
            expand(node)
            push(node)
            for child in reversed(inputs):  # the first input is emitted first
                if child not in done and (within is None or within(child)):
                    push(child)
    return order


def count_nodes(outputs: Sequence[Node]) -> int:
    return len(toposort(outputs))


def find(outputs: Iterable[Node], predicate: Callable[[Node], bool]) -> list[Node]:
    return [node for node in toposort(outputs) if predicate(node)]
