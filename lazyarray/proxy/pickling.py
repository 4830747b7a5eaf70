"""Pickling and copying proxies.

A proxy pickles as its whole graph, written flat in topological order (one row per node:
op, input positions, attributes, site), so graphs of any depth pickle without recursion.
Loading rebuilds each row through ``Node.make`` with its op row's type rule, so a graph
that already exists in the process loads to the same interned nodes: a literal is matched
by the digest of its contents to a live one holding the same data, as it is now. Copies
share the graph, which is immutable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lazyarray.graph import Literal, Node, content_digest, toposort
from lazyarray.ops import OPS
from lazyarray.proxy.base import BaseArray, wrap

Row = tuple[str, tuple[int, ...], tuple[tuple[str, Any], ...], Any]


class SavedLiteral:
    """A literal as pickled: its value and the digest of its contents."""

    __slots__ = ("digest", "value")

    def __init__(self, value: Any, digest: str) -> None:
        self.value = value
        self.digest = digest

    def __reduce__(self) -> tuple[Any, ...]:
        return (SavedLiteral, (self.value, self.digest))


def graph_rows(root: Node) -> list[Row]:
    """``root``'s graph as rows, inputs before users; ``root`` is the last row."""
    order = toposort([root])
    position = {node: i for i, node in enumerate(order)}
    return [
        (
            node.op,
            tuple([position[child] for child in node.inputs]),
            tuple([(name, _save(value)) for name, value in node.attrs]),
            node.site,
        )
        for node in order
    ]


def load_graph(rows: list[Row]) -> Node:
    """The node of the last row, rebuilt (or found) from ``rows``."""
    live = _live_literals() if any(_has_literal(attrs) for _, _, attrs, _ in rows) else {}
    nodes: list[Node] = []
    for op, positions, saved, site in rows:
        inputs = tuple([nodes[i] for i in positions])
        attrs = tuple([(name, _restore(value, live)) for name, value in saved])
        nodes.append(Node.make(op, inputs, attrs, _rule(op, inputs, dict(attrs)), site))
    return nodes[-1]


def _rule(op: str, inputs: tuple[Node, ...], attrs: Mapping[str, Any]) -> Any:
    row = OPS[op]
    return lambda: row.infer(inputs, attrs)


def _save(value: Any) -> Any:
    if isinstance(value, Literal):
        return SavedLiteral(value.value, value.digest)
    if type(value) is tuple:
        return tuple([_save(item) for item in value])
    return value


def _restore(value: Any, live: dict[str, Literal]) -> Any:
    if isinstance(value, SavedLiteral):
        found = live.get(value.digest)
        # the live array may have changed since it was pickled: match its data as it is now
        if found is not None and content_digest(found.value) == value.digest:
            return found
        literal = Literal.of(value.value)
        literal._digest = value.digest
        return literal
    if type(value) is tuple:
        return tuple([_restore(item, live) for item in value])
    return value


def _has_literal(attrs: tuple[tuple[str, Any], ...]) -> bool:
    return any(isinstance(value, SavedLiteral) for _, value in attrs)


def _live_literals() -> dict[str, Literal]:
    """The live literals whose digest is known (pickling computes it), by digest."""
    return {
        literal._digest: literal
        for literal in list(Literal._by_memory.values())
        if literal._digest is not None
    }


def _load(rows: list[Row]) -> Any:
    return wrap(load_graph(rows))


def _reduce(self: BaseArray) -> tuple[Any, ...]:
    return (_load, (graph_rows(self._node),))


def _copy(self: BaseArray) -> Any:
    return wrap(self._node)


def _deepcopy(self: BaseArray, memo: dict[int, Any]) -> Any:
    return wrap(self._node)


def attach() -> None:
    BaseArray.__reduce__ = _reduce  # type: ignore[assignment,method-assign]
    BaseArray.__copy__ = _copy  # type: ignore[attr-defined]
    BaseArray.__deepcopy__ = _deepcopy  # type: ignore[attr-defined]
