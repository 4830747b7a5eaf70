"""Pickling and copying proxies: the whole graph travels, loads to the same interned
nodes in the process that has them, and computes the same values."""

from __future__ import annotations

import copy
import gc
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from tests import kit
from tests.conftest import assert_same

DATA = np.arange(300 * 200, dtype=np.float64).reshape(300, 200) / 7  # above small_bytes


def _expressions() -> dict[str, Any]:
    x = la.Array(DATA)
    masked = la.MaskedArray(DATA, mask=DATA % 3 < 1)
    return {
        "literal": x,
        "chain": ((x * 2 - 1) / 3).sum(axis=0),
        "scalar": (x**2).mean(),
        "masked": masked * 2 + 1,
        "masked mean": masked.mean(axis=1),
        "indexing": x[::3, [1, 4, 2]][True],
        "generated": la.arange(10**5)[3:400:7] * -0.0,
        "where": la.where(x > 100, x, -x).max(axis=1, keepdims=True),
    }


NAMES = ["literal", "chain", "scalar", "masked", "masked mean", "indexing", "generated", "where"]


@pytest.mark.parametrize("name", NAMES)
def test_pickle_loads_the_same_node_and_computes_the_same(name: str, backend: str) -> None:
    expression = _expressions()[name]
    loaded = pickle.loads(pickle.dumps(expression))
    assert type(loaded) is type(expression)
    assert loaded.node is expression.node  # the same interned graph
    assert_same(loaded.compute(backend=backend), expression.compute(backend=backend))


@pytest.mark.parametrize("name", NAMES)
def test_copies_share_the_immutable_graph(name: str) -> None:
    expression = _expressions()[name]
    for duplicate in (copy.copy(expression), copy.deepcopy(expression)):
        assert type(duplicate) is type(expression)
        assert duplicate is not expression
        assert duplicate.node is expression.node


def test_parameters_travel_and_bind(backend: str) -> None:
    p = la.parameter("p", la.Array, dtype="float32", shape=(None, 200))
    k = la.parameter("k", la.Scalar, dtype="int8")
    expression = (p * k).sum(axis=0)
    loaded = pickle.loads(pickle.dumps(expression))
    assert loaded.node is expression.node
    assert [q.node.attr("name") for q in loaded.params] == ["k", "p"]
    values = DATA.astype(np.float32)
    products = values * np.int8(3)
    assert_same(
        loaded.compute(p=values, k=3, backend=backend),
        products.sum(axis=0),
        bound=kit.reduction_bound("sum", products, axis=0),
    )


def test_dtype_pickles_and_copies() -> None:
    dtype = la.Array(DATA).dtype
    for duplicate in (pickle.loads(pickle.dumps(dtype)), copy.copy(dtype), copy.deepcopy(dtype)):
        assert duplicate == dtype == np.float64


def test_a_changed_literal_is_not_matched_to_a_stale_pickle() -> None:
    data = DATA.copy()
    x = la.Array(data)
    blob = pickle.dumps(x * 2)
    data[0, 0] = -1.0  # the wrapped array changes in place after pickling
    loaded = pickle.loads(blob)
    assert loaded.node.inputs[0] is not x.node
    assert loaded.compute()[0, 0] == DATA[0, 0] * 2


def test_a_fresh_process_loads_the_graph_with_the_same_digest() -> None:
    x = la.Array(DATA)
    expression = (x * 2 + la.parameter("p", la.Scalar)).sum(axis=0)
    script = (
        "import pickle, sys, numpy as np\n"
        "y = pickle.loads(sys.stdin.buffer.read())\n"
        "sys.stdout.write(y.node.digest + ' ' + repr(float(y.compute(p=1.5).sum())))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(expression),
        capture_output=True,
        check=True,
        timeout=120,
    )
    digest, total = done.stdout.decode().split()
    assert digest == expression.node.digest
    assert float(total) == float(expression.compute(p=1.5).sum())


def test_a_graph_100000_nodes_deep_pickles_and_rebuilds() -> None:
    z = la.Array(np.arange(5.0))
    for _ in range(50_000):
        z = z * 1.0001 + 1
    blob = pickle.dumps(z)
    assert pickle.loads(blob).node is z.node  # every row found its node again
    del z
    gc.collect()
    rebuilt = pickle.loads(blob)  # no live graph: every node is made again
    assert (rebuilt.node.op, rebuilt.shape, rebuilt.dtype) == ("add", (5,), np.float64)
    assert rebuilt.node.inputs[0].inputs[0].op == "add"


def test_a_deep_graph_rebuilt_computes_the_same(backend: str) -> None:
    z = la.Array(DATA)
    for step in range(40):
        z = z * 1.0001 + step
    expected = z.compute(backend=backend)
    blob = pickle.dumps(z)
    del z
    gc.collect()
    assert_same(pickle.loads(blob).compute(backend=backend), expected)
