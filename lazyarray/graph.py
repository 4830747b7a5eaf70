"""The IR: immutable, slotted, hash-consed nodes with deterministic digests.

Building the same expression twice gives the same ``Node`` object, so common
subexpressions are shared from birth. ``Node ==`` is identity. A node's ``digest`` is a
structural hash that is the same in every process (caching and publishing rely on it);
it is computed on first use only, so wrapping a large literal never reads its data.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

# what node attributes hold, and its canonical spelling, are the IR's too (re-exported)
from lazyarray.canonical import (
    RECORDS,
    RECORDS_BY_CLASS,
    Attrs,
    Literal,
    Pickled,
    Value,
    _Ref,
    adopt_literal,
    canonical_json,
    content_digest,
    content_hasher,
    encode_attrs,
    encode_float,
    encode_type,
    encode_value,
    fill_value_of,
    float_bits,
    immutable_memory,
    may_change,
    memory_key,
    outputs_digest,
    record_digest,
    register_record,
)
from lazyarray.types import ArrayType

Site = tuple[str, int]
_literal_from_pickle = adopt_literal  # the name pickles written earlier refer to

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_INTERNAL_PREFIXES = (_PACKAGE_DIR + os.sep, os.path.dirname(np.__file__) + os.sep)
# lazyarray.testing writes expressions as a user does: its lines are the user's
_USER_PREFIX = os.path.join(_PACKAGE_DIR, "testing") + os.sep

_new_node = object.__new__


# The interning table: structural key -> weak reference to the one node with that key.
# A node's entry goes when the node does (nothing else holds nodes alive).
_INTERNED: dict[tuple[Any, ...], _Ref] = {}


def _forget(ref: _Ref) -> None:
    # one look-up of the key (hashing its tuples is most of the cost); an entry that is
    # not this reference's (a newer node of the key, made before this callback ran) stays
    key = ref.key
    found = _INTERNED.pop(key, None)
    if found is not ref and found is not None:
        _INTERNED[key] = found


_MAY_HOLD_FLOATS = (float, tuple, Value)


def _key(op: str, inputs: tuple[Node, ...], attrs: Attrs) -> tuple[Any, ...]:
    """The interning key. Attributes compare by value, but 0.0 == -0.0: a key with
    floats also holds their exact bits, so ``full(3, -0.0)`` is not ``full(3, 0.0)``.
    A scalar constant's key is its token, which spells its value exactly (so a NaN
    constant is one node, as any other)."""
    if op == "constant":  # a scalar's token spells it exactly, NaNs by their bits
        return (op, attrs[0][1]) if attrs[0][0] == "token" else (op, inputs, attrs)
    floats = attribute_float_bits(attrs)
    return (op, inputs, attrs, floats) if floats else (op, inputs, attrs)


def attribute_float_bits(attrs: Attrs) -> tuple[str, ...]:
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
        infer: Callable[..., ArrayType],
        site: Site | None = None,
        floats: tuple[str, ...] | None = None,
        *,
        attributes: Mapping[str, Any] | None = None,
    ) -> Node:
        """The node for ``op(inputs, attrs)``: the existing one, or a new one typed by
        ``infer`` (called only for new nodes, so its checks run once per expression):
        ``infer()``, or with ``attributes`` the op's type rule ``infer(inputs, attributes)``
        (no closure to make per call). ``site`` defaults to the caller's line outside
        lazyarray; rewrites pass the site of the node they replace. ``floats``:
        ``attribute_float_bits(attrs)``, where the caller knows them (attributes bound
        once for many nodes)."""
        # (op, inputs, attrs) is the whole key unless the attributes hold floats
        if floats is None:
            if not attrs:
                key: tuple[Any, ...] = (op, inputs, attrs)
            elif op == "constant":  # ``_key``'s, without a call
                key = (op, attrs[0][1]) if attrs[0][0] == "token" else (op, inputs, attrs)
            else:
                key = _key(op, inputs, attrs)
        else:
            key = (op, inputs, attrs, floats) if floats else (op, inputs, attrs)
        ref = _INTERNED.get(key)
        if ref is not None:
            found: Node | None = ref()
            if found is not None:
                return found
        type_ = infer() if attributes is None else infer(inputs, attributes)
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
        """The digest of the node's canonical record: op, input digests, attributes and
        type (``record_digest``); the same in every process and release."""
        if self._digest is None:
            # encoding makes short-lived lists and dicts, no cycles: the cyclic
            # collector, run over the whole heap every so many of them, would make a
            # large graph's (or kernel's) digest cost more per node than a small one's
            collecting = gc.isenabled()
            gc.disable()
            try:
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
            finally:
                if collecting:
                    gc.enable()
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
        nodes.append(Node.make(op, inputs, attrs, lambda type_=type_: type_, site))
    return nodes[-1]


def _digest_of(node: Node) -> str:
    return record_digest(
        node.op,
        [child._digest for child in node.inputs],  # type: ignore[misc]
        encode_attrs(node.attrs),
        encode_type(node.type),
    )


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


__all__ = [
    "Attrs",
    "Literal",
    "Node",
    "Pickled",
    "RECORDS",
    "RECORDS_BY_CLASS",
    "Site",
    "Value",
    "adopt_literal",
    "attribute_float_bits",
    "canonical_json",
    "content_digest",
    "content_hasher",
    "count_nodes",
    "creation_site",
    "encode_attrs",
    "encode_float",
    "encode_type",
    "encode_value",
    "existing",
    "fill_value_of",
    "find",
    "float_bits",
    "immutable_memory",
    "interned_count",
    "may_change",
    "memory_key",
    "outputs_digest",
    "record_digest",
    "register_record",
    "toposort",
]
