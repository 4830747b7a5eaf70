"""Random expression graphs (the strategy of ``test_random_graphs``) through graph
documents: read back while the graph is alive, the same nodes (equal values held in
different memory, two literal nodes, are one literal in a document: one node read back,
with the same digest); read back after it is gone, nodes built anew with the same
digests, writing the same bytes."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
from hypothesis import given

import lazyarray as la
from lazyarray import serialize
from lazyarray.graph import Literal, Node, find
from tests.properties.test_random_graphs import _lazy, evaluate, inputs


def _build(drawn: tuple[Any, list[Any]]) -> Any:
    tree, leaves = drawn
    try:
        return evaluate(tree, la, [_lazy(leaf) for leaf in leaves])
    except (TypeError, ValueError):  # a combination numpy refuses, refused when written
        return None


def _literals_apart(node: Node) -> bool:
    """Whether two literal nodes of the graph hold equal values in different memory:
    a document holds such values once, so they read back as one node."""
    literals = find([node], lambda n: isinstance(n.attr("value"), Literal))
    return len({n.digest for n in literals}) < len(literals)


@given(inputs())
def test_random_graphs_read_back_as_the_same_graph(drawn: tuple[Any, list[Any]]) -> None:
    lazy = _build(drawn)
    if lazy is None:
        return
    text = la.to_json(lazy)
    digest = lazy.node.digest
    if _literals_apart(lazy.node):  # one literal per content in a document
        assert la.from_json(text).node.digest == digest
    else:
        assert la.from_json(text).node is lazy.node
    assert serialize.graph_digest(serialize.loads(text)) == digest
    node = weakref.ref(lazy.node)
    del lazy
    for generation in (0, 1):  # the graph and its literals' wrappers gone: built anew
        if node() is not None:  # (a full collection per example costs seconds in a
            gc.collect(generation)  # whole run; a node a random source keeps may stay)
    again = la.from_json(text)
    assert again.node.digest == digest
    assert la.to_json(again) == text


@given(inputs())
def test_random_graphs_read_back_compute_the_same(drawn: tuple[Any, list[Any]]) -> None:
    lazy = _build(drawn)
    if lazy is None:
        return
    back = la.from_json(la.to_json(lazy))
    expected, got = lazy.compute(cache=False), back.compute(cache=False)
    np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(expected))
    np.testing.assert_array_equal(np.ma.getdata(got), np.ma.getdata(expected))
