"""Every op row through a graph document and back: the same interned node, the same
digest, and the document's graph digest equal to it. The cases come from the tables
(every ufunc, reduction and scan row) and from the conformance suite's cases for the
rest; planner-built nodes (fused kernels, masked results, regions of generated
sources) come from plans. A coverage test checks every row is met."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.errors import UnsupportedOperation
from lazyarray.graph import Node, toposort
from lazyarray.ops import OPS, Kind
from lazyarray.ops.registry import undeclared_arguments
from lazyarray.planner import make_plan
from lazyarray.proxy import wrap
from lazyarray.testing.samples import DTYPES, sample
from lazyarray.testing.suite.cases import ELEMENTWISE, MASKED, MASKED_X, STRUCTURAL, X

Build = Callable[[], Any]

UFUNCS = sorted(
    name
    for name, row in OPS.items()
    if row.kind is Kind.ELEMENTWISE and any(isinstance(f, np.ufunc) for f in row.numpy_functions)
)
REDUCTIONS = sorted(name for name, row in OPS.items() if row.kind in (Kind.REDUCTION, Kind.SCAN))
NOT_WRITTEN = {"dask_array"}  # a dask collection is no data a document can hold


def _ufunc(name: str) -> Any:
    """The ufunc over samples of the first dtype it takes (Python scalars too)."""
    arity = OPS[name].arity or 1
    for dtype in DTYPES:
        try:
            return getattr(la, name)(*[la.asarray(sample(dtype, seed=i)) for i in range(arity)])
        except TypeError:
            continue
    raise AssertionError(f"{name} takes no dtype")


def _reduction(name: str) -> Any:
    x = la.asarray(MASKED_X) if name == "count" else la.asarray(X)
    reduce = getattr(x, name, None) or getattr(la, name)
    if name in ("cumsum", "cumprod"):
        return reduce(axis=1)
    if name in ("std", "var"):
        return reduce(axis=(0, 2), ddof=1)
    if name in ("argmin", "argmax"):
        return reduce(axis=-1, keepdims=True)
    return reduce(axis=1, keepdims=True)


def _planned(build: Build, **options: Any) -> Build:
    """The outputs of a plan of ``build()``: the nodes the planner makes."""

    def planned() -> Any:
        outputs = build()
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        plan = make_plan([o.node for o in outputs], None, frozenset(), **options)
        found = tuple([wrap(node) for node in plan.outputs])
        return found if len(found) > 1 else found[0]

    return planned


def _random() -> Any:
    rng = la.random.default_rng(7)
    return rng.normal(size=(3, 4)) + rng.integers(0, 10, size=4) + rng.random((3, 1))


def _read() -> Any:
    """A stored source (an npy file in memory), sliced: its region pushed into it."""
    fsspec = pytest.importorskip("fsspec")
    with fsspec.open("memory://serialize-rows/x.npy", "wb") as file:
        np.save(file, X)
    return la.open_source("npy", "memory://serialize-rows/x.npy")[1:, ::2] * 2


CASES: dict[str, Build] = {
    **{f"structural {k}": (lambda c=c: c(la, la.asarray(X))) for k, c in STRUCTURAL.items()},
    **{f"masked {k}": (lambda c=c: c(la, la.asarray(MASKED_X))) for k, c in MASKED.items()},
    **{
        f"elementwise {k}": (lambda c=c: c(la, la.asarray(X), la.asarray(X * 2)))
        for k, c in ELEMENTWISE.items()
    },
    **{f"ufunc {name}": (lambda name=name: _ufunc(name)) for name in UFUNCS},
    **{f"reduction {name}": (lambda name=name: _reduction(name)) for name in REDUCTIONS},
    "parameter": lambda: la.parameter("x", la.MaskedArray, dtype="float32", shape=(None, 3)) * 2,
    "scalar parameter": lambda: la.parameter("s", la.Scalar, dtype="int64") + 1,
    "random": _random,
    "numpy scalars": lambda: la.asarray(X) * np.float32(-0.0) + np.int8(3),
    "python scalars": lambda: la.asarray(X) * -0.0 + float("nan") - float("inf") + 1j,
    "masked_array": lambda: la.masked_array(la.asarray(X), la.asarray(X) > 0, fill_value=2.5),
    "tuple of outputs": lambda: (la.asarray(X).sum(), la.asarray(X).max(axis=0)),
    "one-tuple": lambda: (la.asarray(X) + 1,),
    "unpack": lambda: la.linalg.svd(la.asarray(np.eye(3)))[1],
    "fused": _planned(lambda: (la.sin(la.asarray(X)) * 2 + 1).sum(axis=1)),
    "fused generated": _planned(lambda: (la.arange(240.0) * 2 + la.full(240, 0.5)).sum()),
    "masked_result": _planned(lambda: la.sin(la.asarray(MASKED_X)) + 1, small_bytes=0),
    "region": _planned(lambda: _random()[1:, ::2], small_bytes=0),
    "read": _planned(_read),
}


def _outputs(value: Any) -> list[Node]:
    return [item.node for item in value] if isinstance(value, tuple) else [value.node]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_row_reads_back_as_the_same_node(case: str) -> None:
    value = CASES[case]()
    text = la.to_json(value)
    back = la.from_json(text)
    assert isinstance(back, tuple) == isinstance(value, tuple)
    assert [n for n in _outputs(back)] == _outputs(value)  # Node == is identity
    doc = serialize.loads(text)
    outputs = _outputs(value)
    digest = serialize.graph_digest(doc)
    if isinstance(value, tuple):
        from lazyarray.graph import outputs_digest

        assert digest == outputs_digest([n.digest for n in outputs])
    else:
        assert digest == outputs[0].digest
    assert la.to_json(back) == text  # and writes the same bytes again


def test_every_row_is_met_by_a_case() -> None:
    met: set[str] = set()
    for build in CASES.values():
        met.update(node.op for node in toposort(_outputs(build())))
    assert set(OPS) - NOT_WRITTEN - met == set()


def test_every_argument_declares_its_attribute_type() -> None:
    assert {
        name: undeclared_arguments(row) for name, row in OPS.items() if undeclared_arguments(row)
    } == {}


def test_a_dask_array_is_not_written() -> None:
    dask_array = pytest.importorskip("dask.array")
    with pytest.raises(UnsupportedOperation, match="dask_array"):
        la.to_json(la.from_dask(dask_array.ones(3)) + 1)


def test_reading_builds_what_computes() -> None:
    """A document read in a fresh graph (its literals copied, so no node is shared)
    computes what the original does."""
    value = CASES["structural int arrays broadcast"]()
    back = la.from_json(la.to_json(value))
    np.testing.assert_array_equal(back.compute(), value.compute())
