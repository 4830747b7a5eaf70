"""Pickling and copying proxies.

A proxy pickles as its node: a graph of any depth is written flat, inputs first, and a
literal with the digest of its contents (``Node.__reduce__``, ``Literal.__reduce__`` in
``lazyarray.graph``), so a graph that exists in the process loads to the same interned
nodes. Copies share the graph, which is immutable.
"""

from __future__ import annotations

from typing import Any

from lazyarray.proxy.base import BaseArray, wrap


def _reduce(self: BaseArray) -> tuple[Any, ...]:
    return (wrap, (self._node,))


def _copy(self: BaseArray) -> Any:
    return wrap(self._node)


def _deepcopy(self: BaseArray, memo: dict[int, Any]) -> Any:
    return wrap(self._node)


def attach() -> None:
    BaseArray.__reduce__ = _reduce  # type: ignore[assignment,method-assign]
    BaseArray.__copy__ = _copy  # type: ignore[attr-defined]
    BaseArray.__deepcopy__ = _deepcopy  # type: ignore[attr-defined]
