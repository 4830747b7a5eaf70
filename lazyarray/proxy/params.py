"""The parameters under each node, so that two parameters with one name but different
declarations are refused at the line that brings them together."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from lazyarray.errors import ArgumentError
from lazyarray.graph import Node, creation_site
from lazyarray.ops import Trait, has
from lazyarray.types import shape_text

# node -> {name: parameter node} for the parameters at or below it; filled on demand and
# kept per node, so each check reads its inputs' maps instead of their graphs
_UNDER: weakref.WeakKeyDictionary[Node, Mapping[str, Node]] = weakref.WeakKeyDictionary()
_NONE: Mapping[str, Node] = {}


def check_inputs(inputs: tuple[Node, ...]) -> Mapping[str, Node] | None:
    """Raises ``ArgumentError`` if ``inputs`` hold two different parameters of one name;
    returns the parameters they hold together, for ``remember``, when several do."""
    carrying = [node for node in inputs if node.has_parameters]
    if len(carrying) < 2:
        return None
    maps = [parameters_under(node) for node in carrying]
    biggest = max(maps, key=len)
    merged: dict[str, Node] = dict(biggest)
    for found_map in maps:
        if found_map is biggest:
            continue
        for name, found in found_map.items():
            other = merged.setdefault(name, found)
            if other is not found:
                _conflict(name, other, found)
    return biggest if len(merged) == len(biggest) else merged


def remember(node: Node, parameters: Mapping[str, Node] | None) -> Node:
    """Records what ``check_inputs`` found under ``node``, so the next check reads it."""
    if parameters is not None and node not in _UNDER:
        _UNDER[node] = parameters
    return node


def parameters_under(root: Node) -> Mapping[str, Node]:
    """The parameters at or below ``root``, by name (iterative: any depth)."""
    known = _UNDER.get(root)
    if known is not None:
        return known
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node in _UNDER:
            continue
        if has(node, Trait.ARGUMENT):
            _UNDER[node] = {node.attr("name"): node}
        elif not expanded:
            stack.append((node, True))
            stack.extend(
                (child, False)
                for child in node.inputs
                if child.has_parameters and child not in _UNDER
            )
        else:
            _UNDER[node] = _union([_UNDER[c] for c in node.inputs if c.has_parameters])
    return _UNDER[root]


def _union(maps: list[Mapping[str, Node]]) -> Mapping[str, Node]:
    """Shares a child's map when it holds everything (the common case: one parameter)."""
    biggest = max(maps, key=len, default=_NONE)
    if all(m is biggest or m.items() <= biggest.items() for m in maps):
        return biggest
    merged: dict[str, Node] = {}
    for m in maps:
        merged.update(m)
    return merged


def _declaration(node: Node) -> str:
    t = node.type
    kind = "Scalar" if t.ndim == 0 else "MaskedArray" if t.masked else "Array"
    return f"{kind} of dtype {t.dtype} and shape {shape_text(t.shape)}"


def _conflict(name: str, first: Node, second: Node) -> Any:
    site = creation_site()
    where = f" (in the expression at {site[0]}:{site[1]})" if site else ""
    raise ArgumentError(
        f"two different parameters are named {name!r}: {_declaration(first)} (declared at "
        f"{first.site_text}) and {_declaration(second)} (declared at {second.site_text}); "
        f"give them different names{where}"
    )
