"""Graph to document: nodes in topological order (inputs first), each once, with their
attributes in the canonical encoding, literals once each by content digest."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lazyarray.errors import GraphFormatError, UnsupportedOperation
from lazyarray.graph import Literal, Node, Value, encode_attrs, encode_type, toposort
from lazyarray.ops import OPS, Trait
from lazyarray.ops.registry import attribute_types
from lazyarray.serialize.literals import encode_literal
from lazyarray.serialize.reader import declaration
from lazyarray.serialize.versions import FORMAT_VERSION
from lazyarray.stores.blobs import BlobStore

WRITER = "lazyarray"


def outputs_of(obj: Any) -> tuple[list[Node], bool]:
    """The nodes of a proxy, a node, or a tuple or list of them; and whether ``obj`` was
    one (read back as one) rather than a sequence (read back as a tuple)."""
    if isinstance(obj, (tuple, list)):
        if not obj:
            raise UnsupportedOperation("a graph document needs at least one output")
        return [_node(item) for item in obj], False
    return [_node(obj)], True


def _node(obj: Any) -> Node:
    if isinstance(obj, Node):
        return obj
    node = getattr(obj, "node", None)
    if isinstance(node, Node):
        return node
    raise UnsupportedOperation(
        f"only lazy arrays are written to graph documents, not {type(obj).__name__}"
    )


def to_dict(
    obj: Any, *, blobs: BlobStore | None = None, inline_bytes: int = 65536, version: str = ""
) -> dict[str, Any]:
    outputs, single = outputs_of(obj)
    order = toposort(outputs)
    position: dict[Node, int] = {}
    by_digest: dict[str, int] = {}
    records: list[list[Any]] = []
    literals: dict[str, dict[str, Any]] = {}
    parameters: dict[str, dict[str, Any]] = {}
    opset = 1
    for node in order:
        digest = node.digest
        index = by_digest.get(digest)
        if index is None:  # a node with the same record was written: it is this one
            row = OPS[node.op]
            _check_attributes(node, row)
            for _, value in node.attrs:
                if isinstance(value, (Literal, tuple, Value)):
                    _collect_literals(value, literals, blobs, inline_bytes)
            if Trait.ARGUMENT in row.traits:
                parameters[node.attr("name")] = declaration(node.type)
            opset = max(opset, row.since)
            index = by_digest[digest] = len(records)
            records.append(
                [
                    node.op,
                    [position[child] for child in node.inputs],
                    encode_attrs(node.attrs),
                    encode_type(node.type),
                ]
            )
        position[node] = index
    written = [position[node] for node in outputs]
    return {
        "format_version": FORMAT_VERSION,
        "writer": f"{WRITER} {version}".strip(),
        "opset": opset,
        "graph": {
            "nodes": records,
            "outputs": written[0] if single else written,
            "parameters": parameters,
            "literals": literals,
        },
    }


def _check_attributes(node: Node, row: Any) -> None:
    """Every attribute is declared by the row: what is written can be read back."""
    if not node.attrs:
        return
    declared = attribute_types(row)
    for name, _ in node.attrs:
        if name not in declared:
            raise UnsupportedOperation(
                f"op {node.op!r} cannot be written to a graph document: its attribute "
                f"{name!r} has no declared type (in the expression at {node.site_text})"
            )


def _collect_literals(
    value: Any, literals: dict[str, dict[str, Any]], blobs: BlobStore | None, inline_bytes: int
) -> None:
    for literal in _literals_in(value):
        literal.refresh()  # data that can change is named by its contents as they are now
        digest = literal.digest
        if digest not in literals:
            try:
                literals[digest] = encode_literal(literal.value, blobs, inline_bytes)
            except GraphFormatError as exc:  # the literal cannot be written; a store's
                # failure (a server that does not answer, ...) is raised as it is
                raise UnsupportedOperation(str(exc.args[0])) from exc


def _literals_in(value: Any) -> Iterable[Literal]:
    """The literals in an attribute value (a kernel's program may hold some)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Literal):
            yield item
        elif isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, Value):
            stack.extend(item.values())
