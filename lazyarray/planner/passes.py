"""The planner's stages, in their fixed order. Each is a pure function from output nodes
to output nodes; each can be switched off by name (``config.set(disabled={"fuse"})``),
and so can every rule inside a stage.

    bind      parameters become constants holding the arguments
    fold      ops on small constants run now (the op rows' numpy implementations)
    simplify  algebraic rules, each exact for the dtypes it fires on
    pushdown  indexes move toward the sources, so only what is needed is read
    decompose mean, var and std of float64 become the sums numpy computes them with
    unmask    masked elementwise ops become plain ops on data and masks (numpy.ma's rules)
    fuse      elementwise groups (and a trailing reduction) become kernels

Dead nodes never reach a plan: a plan holds what its outputs reach, nothing else.
Identical subexpressions are one node without a stage of their own: every node, a
rewrite's included, is built through the interning table (``Node.make``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from lazyarray.graph import Node, toposort
from lazyarray.ops import Trait, has
from lazyarray.ops.creation import constant_node
from lazyarray.planner.decompose import DECOMPOSE
from lazyarray.planner.fold import fold_constants
from lazyarray.planner.fusion import fuse
from lazyarray.planner.pushdown import PUSHDOWN
from lazyarray.planner.rewrite import (
    Outputs,
    Rule,
    apply_rules,
    matches_any,
    rebuild,
    transform,
)
from lazyarray.planner.rules import SIMPLIFY
from lazyarray.planner.unmask import unmask


@dataclasses.dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Outputs, Mapping[str, Any], frozenset[str]], Outputs]
    rules: tuple[Rule, ...] = ()
    doc: str = ""


def _bind(outputs: Outputs, arguments: Mapping[str, Any], disabled: frozenset[str]) -> Outputs:
    def visit(node: Node, inputs: tuple[Node, ...]) -> Node:
        if has(node, Trait.ARGUMENT) and node.attr("name") in arguments:
            value = arguments[node.attr("name")]
            return constant_node(value) if hasattr(value, "dtype") else node
        return rebuild(node, inputs)

    return transform(outputs, visit) if arguments else outputs


def _fold(outputs: Outputs, arguments: Mapping[str, Any], disabled: frozenset[str]) -> Outputs:
    return fold_constants(outputs)


def _rules(rules: list[Rule]) -> Callable[[Outputs, Mapping[str, Any], frozenset[str]], Outputs]:
    def run(outputs: Outputs, arguments: Mapping[str, Any], disabled: frozenset[str]) -> Outputs:
        order = toposort(outputs)
        if not matches_any(order, rules):
            return outputs  # nothing any rule could match: skip the rewrite passes
        return apply_rules(outputs, rules, disabled, order)  # one pass: the fixed point

    return run


def _unmask(outputs: Outputs, arguments: Mapping[str, Any], disabled: frozenset[str]) -> Outputs:
    return unmask(outputs)


def _fuse(outputs: Outputs, arguments: Mapping[str, Any], disabled: frozenset[str]) -> Outputs:
    return fuse(outputs)


STAGES = (
    Stage("bind", _bind, doc="parameters become constants holding the arguments"),
    Stage("fold", _fold, doc="ops on small constants run now"),
    Stage("simplify", _rules(SIMPLIFY), tuple(SIMPLIFY), "algebraic rules"),
    Stage("pushdown", _rules(PUSHDOWN), tuple(PUSHDOWN), "indexes move toward the sources"),
    Stage("decompose", _rules(DECOMPOSE), tuple(DECOMPOSE), "statistics as sums"),
    Stage("unmask", _unmask, doc="masked elementwise ops on data and masks"),
    Stage("fuse", _fuse, doc="elementwise groups become kernels"),
)

RULES = {rule.name: rule for stage in STAGES for rule in stage.rules}
_STAGE_RULES = tuple((stage, frozenset(rule.name for rule in stage.rules)) for stage in STAGES)
NAMES = frozenset(stage.name for stage in STAGES) | frozenset(RULES)


def check_names(disabled: frozenset[str]) -> None:
    """Refuses a name of no stage nor rule (a typo would silently disable nothing)."""
    unknown = disabled - NAMES
    if unknown:
        raise ValueError(
            f"unknown pass or rule name(s): {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(NAMES))}"
        )


def optimize(
    outputs: Outputs,
    arguments: Mapping[str, Any],
    disabled: frozenset[str] = frozenset(),
    until: str | None = None,
    only: frozenset[str] | None = None,
) -> Outputs:
    """Runs the stages in order, skipping disabled ones; ``until`` stops after a stage;
    ``only`` runs just those stages and rules (for testing each alone)."""
    check_names(disabled)
    for stage, rule_names in _STAGE_RULES:
        runs = stage.name not in disabled and (
            only is None or stage.name in only or bool(rule_names & only)
        )
        if runs:
            skipped = disabled
            if only is not None and stage.name not in only:
                skipped = disabled | (rule_names - only)
            outputs = stage.run(outputs, arguments, skipped)
        if until == stage.name:
            break
    return outputs


__all__ = ["NAMES", "RULES", "STAGES", "Stage", "optimize"]
