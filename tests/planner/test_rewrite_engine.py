"""The rewrite engine reaches a normal form in one pass and stops on rule sets that
cycle or that rebuild the node they replace."""

from __future__ import annotations

import numpy as np

import lazyarray as la
from lazyarray.planner.rewrite import Rule, apply_rules, make


def test_replacements_are_normalized_in_one_pass() -> None:
    """-(-(-(-x))) with the rule -(-y) -> y: the replacement of the outer pair is the
    inner pair, itself rewritten, so one pass leaves x."""
    x = la.Array(np.arange(3.0)).node
    node = x
    for _ in range(40):
        node = make("negative", (node,))
    rule = Rule(
        "double_negation",
        frozenset({"negative"}),
        lambda n: n.inputs[0].inputs[0] if n.inputs[0].op == "negative" else None,
        "-(-x) -> x",
    )
    assert apply_rules((node,), [rule]) == (x,)


def test_cycling_rules_stop() -> None:
    """sin(x) -> cos(x) and cos(x) -> sin(x) (types kept): the pass ends."""
    x = la.Array(np.arange(3.0)).node
    swap = {"sin": "cos", "cos": "sin"}
    rule = Rule("swap", frozenset(swap), lambda n: make(swap[n.op], n.inputs), "sin <-> cos")
    (result,) = apply_rules((make("sin", (x,)),), [rule])
    assert result.op == "cos"
    assert result.inputs == (x,)


def test_a_replacement_reading_the_node_itself_stops() -> None:
    """x+1 -> (x+1)*1 would grow forever: the node stays what it is."""
    x = la.Array(np.arange(3.0)).node
    one = la.Array(np.float64(1.0)).node
    rule = Rule("grow", frozenset({"add"}), lambda n: make("multiply", (n, one)), "e -> e*1")
    node = make("add", (x, one))
    assert apply_rules((node,), [rule]) == (node,)
