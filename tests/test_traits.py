"""Passes and backends ask traits and kinds, never op names; every row has a lowering on
every backend, and an op without one is refused before anything runs; the fused kernel
is one frozen value that pickles, interns and digests deterministically."""

from __future__ import annotations

import ast
import dataclasses
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import get_backend
from lazyarray.errors import UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.ops import OPS, Kind, OpDef, Trait, apply, rows_with
from lazyarray.ops.kernel import Kernel
from lazyarray.planner import make_plan
from lazyarray.proxy import wrap
from lazyarray.runtime.masked_stats import STATISTICS
from lazyarray.types import ArrayType
from lazyarray_dask.lower import BY_OP, lowering_of

ROOT = Path(__file__).resolve().parents[1]
# what asks about ops: the planner, the runtime, execution, the backend layer, backends
SCANNED = [
    ROOT / "lazyarray" / "planner",
    ROOT / "lazyarray" / "runtime",
    ROOT / "lazyarray" / "execution",
    ROOT / "lazyarray" / "backend.py",
    ROOT / "lazyarray" / "jobs.py",
    ROOT / "backends",
]
# the rule engine dispatches on the op names its rules declare (``Rule.ops``, ``reads``)
ALLOWED = {"lazyarray/planner/rewrite.py"}
_COMPARING = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def _is_op(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "op"


def _is_named_op(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "op"


def _names(node: ast.expr) -> bool:
    """A string, or a literal collection holding one: op names spelled out."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names(item) for item in node.elts)
    return False


def name_comparisons(source: str) -> list[int]:
    """Lines comparing an op with a name or a set of names: ``node.op == "sum"``,
    ``node.op in SOME_SET``, ``op in ("min", "max")``, ``match node.op``. Comparing two
    nodes' ops (the same op twice: ``inner.op == node.op``) is structure, not a name."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(isinstance(o, _COMPARING) for o in node.ops):
            operands = [node.left, *node.comparators]
            an_op = any(map(_is_op, operands)) and not all(map(_is_op, operands))
            if an_op or (any(map(_is_named_op, operands)) and any(map(_names, operands))):
                lines.append(node.lineno)
        elif isinstance(node, ast.Match) and (_is_op(node.subject) or _is_named_op(node.subject)):
            lines.append(node.lineno)
    return sorted(lines)


def _modules() -> Iterator[Path]:
    for place in SCANNED:
        yield from [place] if place.suffix == ".py" else sorted(place.rglob("*.py"))


def test_the_scan_finds_name_comparisons() -> None:
    source = """
if node.op == "sum": pass
if node.inputs[0].op in _FREE_OPS: pass
if op in ("min", "max"): pass
if inner.op == node.op: pass
if op in TABLE: pass
match node.op:
    case "x": pass
"""
    assert name_comparisons(source) == [2, 3, 4, 7]


def test_passes_and_backends_never_compare_op_names() -> None:
    found = {}
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        lines = name_comparisons(path.read_text())
        if lines and relative not in ALLOWED:
            found[relative] = lines
    assert not found, f"ask a Trait or Kind (lazyarray/ops/registry.py), not a name: {found}"


# --- every row has its lowering ------------------------------------------------------


def test_every_row_has_a_dask_lowering() -> None:
    missing = [name for name, row in OPS.items() if lowering_of(row) is None]
    assert not missing


def test_dask_overrides_name_declared_ops() -> None:
    assert set(BY_OP) <= set(OPS)


def test_every_statistic_says_how_it_finishes() -> None:
    assert {row.name for row in rows_with(Trait.STATISTIC)} == set(STATISTICS)


@pytest.fixture
def throwaway() -> Iterator[Callable[[OpDef], None]]:
    """Registers rows for one test."""
    added: list[str] = []

    def register(row: OpDef) -> None:
        OPS[row.name] = row
        added.append(row.name)

    yield register
    for name in added:
        del OPS[name]


def _same_type(inputs: tuple[Node, ...], attrs: Any) -> ArrayType:
    return inputs[0].type


def _counted(calls: list[int]) -> Callable[..., Any]:
    def impl(x: Any) -> Any:
        calls.append(1)
        return np.asarray(x) + 0

    return impl


def test_an_op_without_a_dask_lowering_is_refused_before_running(
    throwaway: Callable[[OpDef], None],
) -> None:
    calls: list[int] = []
    # an indexing op: the dask backend has no lowering for indexing by kind, only per op
    throwaway(OpDef("frobnicate", Kind.INDEXING, _counted(calls), _same_type, arity=1))
    x = la.Array(np.arange(1000.0))
    y = wrap(apply("frobnicate", ((x * 2).node,))) + 1
    plan = make_plan([y.node])
    with pytest.raises(UnsupportedOperation, match="backend 'dask' cannot run op 'frobnicate'"):
        get_backend("dask").check(plan)
    with pytest.raises(UnsupportedOperation, match=r"'dask'.*'frobnicate'.*kind indexing"):
        y.compute(backend="dask", cache=False)
    assert calls == []
    np.testing.assert_array_equal(
        y.compute(backend="numpy", cache=False), np.arange(1000.0) * 2 + 1
    )
    assert calls == [1]


def test_a_masked_input_without_a_masked_implementation_is_refused_before_running(
    throwaway: Callable[[OpDef], None],
) -> None:
    first: list[int] = []
    second: list[int] = []
    counted = _counted(first)
    throwaway(OpDef("tally", Kind.SHAPE, counted, _same_type, counted, arity=1))
    throwaway(OpDef("plain_only", Kind.SHAPE, _counted(second), _same_type, None, arity=1))
    data = np.ma.MaskedArray(np.arange(1000.0), mask=np.arange(1000) % 3 == 0)
    x = la.MaskedArray(data)
    y = wrap(apply("plain_only", (apply("tally", (x.node,)),)))
    with pytest.raises(
        UnsupportedOperation,
        match=r"backend 'numpy' cannot run op 'plain_only'.*not defined for masked arrays",
    ):
        y.compute(backend="numpy", cache=False)
    assert first == [] and second == []  # refused before the first step ran


# --- the fused kernel, a value ------------------------------------------------------

_N = 300_000


def _kernel_node(fill: float = 2.5) -> Node:
    x = la.Array(np.linspace(0.0, 1.0, _N))
    rng = la.random.default_rng(5)
    expression = ((x * fill + la.full(_N, fill)) * rng.normal(size=_N)).sum()
    (node,) = make_plan([expression.node]).outputs
    assert OPS[node.op].kind is Kind.KERNEL
    return node


def test_a_kernel_is_one_frozen_attribute() -> None:
    node = _kernel_node()
    ((name, kernel),) = node.attrs
    assert name == "kernel" and isinstance(kernel, Kernel)
    assert kernel.reduction is not None and kernel.reduction.op == "sum"
    assert [i.op for i in kernel.program if not i.refs] == ["full", "random"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kernel.arity = 0  # type: ignore[misc]
    assert node.type == kernel.result


def test_a_kernel_pickles_to_an_equal_value_and_the_same_node() -> None:
    node = _kernel_node()
    kernel = node.attr("kernel")
    copy = pickle.loads(pickle.dumps(kernel))
    assert copy == kernel and hash(copy) == hash(kernel) and copy is not kernel
    assert pickle.loads(pickle.dumps(node)) is node


def test_kernels_differing_in_the_sign_of_a_zero_are_different_nodes() -> None:
    positive, negative = _kernel_node(0.0), _kernel_node(-0.0)
    assert positive is not negative
    assert positive.digest != negative.digest


def test_a_kernel_digest_is_the_same_in_another_process() -> None:
    program = (
        "import sys; sys.path[:0] = [p for p in sys.argv[1:]];"
        "from tests.test_traits import _kernel_node; print(_kernel_node().digest)"
    )
    paths = [str(ROOT), str(ROOT / "backends")]
    run = subprocess.run(
        [sys.executable, "-c", program, *paths], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == _kernel_node().digest
