"""The document's properties: canonical bytes (in another process too), exact floats,
literals once each, inline or in a blob store (streamed in, memory-mapped out, never
copied whole), and the identity of a graph: its document's digest is its node's."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.errors import GraphFormatError
from lazyarray.graph import Literal
from lazyarray.stores.blobs import FolderBlobs, MemoryBlobs

ROOT = Path(__file__).resolve().parents[1]

# the same graph, built by this module in any process
PROGRAM = """
import numpy as np, lazyarray as la
x = la.parameter("x", la.Array, dtype="float64", shape=(None, 4))
data = np.arange(12.0).reshape(3, 4)
data[0, :3] = [np.nan, -0.0, np.inf]
data[1, 0] = -np.float64(np.nan)
m = la.MaskedArray(np.ma.MaskedArray(data, mask=data > 5, fill_value=-1.5))
rng = la.random.default_rng(3)
y = ((m * -0.0 + float("nan")).filled(1.5) @ la.asarray(data).T)[::-1, 1:]
z = (x[:, ::2] - np.float32(-np.inf) + rng.normal(size=(3, 2))).sum(axis=0)
GRAPH = (y, z, la.asarray(data).astype("int32")[:, [0, 2]], -np.nan * la.ones(3))
"""


def _graph() -> Any:
    scope: dict[str, Any] = {}
    exec(PROGRAM, scope)
    return scope["GRAPH"]


def test_the_same_graph_is_the_same_bytes_in_another_process() -> None:
    here = la.to_json(_graph())
    assert la.to_json(_graph()) == here
    program = PROGRAM + (
        "import hashlib, sys\n"
        "sys.stdout.write(hashlib.sha256(la.to_json(GRAPH).encode()).hexdigest())\n"
    )
    paths = [str(ROOT), str(ROOT / "backends")]
    run = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}\n" + program],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout == hashlib.sha256(here.encode()).hexdigest()


def test_floats_are_exact_nan_signs_and_zero_signs_included() -> None:
    values = [0.0, -0.0, float("inf"), -float("inf"), float("nan"), -float("nan"), 1e-310, 0.1]
    for value in values:
        y = la.asarray(np.ones(2)) * value
        text = la.to_json(y)
        back = la.from_json(text)
        assert back.node is y.node
        got = back.node.inputs[1].attr("value")
        assert np.float64(got).tobytes() == np.float64(value).tobytes()
    assert "NaN" not in la.to_json(la.asarray(np.ones(2)) * float("nan"))
    assert '{"float":"fff8000000000000"}' in la.to_json(la.asarray(np.ones(2)) * -float("nan"))


def test_python_ints_numpy_holds_are_written_uint64_s_included() -> None:
    """A Python int is written as numpy holds it: up to uint64's largest
    (``uint64_array + 2**63``), which then reads back as the same graph and values."""
    u = la.asarray(np.array([1, 2], np.uint64))
    for built in (u + 2**63, u < 2**64 - 1, u - 1):
        back = la.from_json(la.to_json(built))
        assert back.node is built.node
        np.testing.assert_array_equal(back.compute(cache=False), built.compute(cache=False))
    text = la.to_json(u + 2**63)
    assert str(2**63) in text
    with pytest.raises(GraphFormatError, match="outside"):  # no numpy integer holds it
        la.from_json(text.replace(str(2**63), str(2**64)))


def test_graph_digest_is_the_output_nodes_digest() -> None:
    y, z, *_ = _graph()
    assert serialize.graph_digest(serialize.to_dict(y)) == y.node.digest
    both = serialize.to_dict((y, z))
    assert serialize.graph_digest(both) == serialize.graph_digest(json.loads(la.to_json((y, z))))
    assert serialize.graph_digest(both) != y.node.digest


def test_the_graph_part_does_not_depend_on_the_writer() -> None:
    doc = serialize.to_dict(_graph())
    assert set(doc) == {"format_version", "writer", "opset", "graph"}
    assert doc["writer"] == f"lazyarray {la.__version__}"
    assert doc["opset"] == 1 and doc["format_version"] == serialize.FORMAT_VERSION


def test_parameters_are_declared() -> None:
    x = la.parameter("x", la.MaskedArray, dtype="float32", shape=(None, 3))
    n = la.parameter("n", la.Scalar, dtype="int64")
    doc = serialize.to_dict((x * n).sum())
    assert serialize.parameters(doc) == {
        "x": {"dtype": "<f4", "shape": [None, 3], "masked": True},
        "n": {"dtype": "<i8", "shape": [], "masked": False},
    }
    y = serialize.from_dict(doc)
    assert y.compute(x=np.ma.ones((2, 3), np.float32), n=2) == 12


def test_identical_literals_and_constants_appear_once() -> None:
    a, b = np.arange(5.0), np.arange(5.0)  # two arrays, one content
    y = la.asarray(a) + la.asarray(b)
    for _ in range(1000):
        y = y * 1.0001
    doc = serialize.to_dict(y)
    assert len(doc["graph"]["literals"]) == 1
    constants = [n for n in doc["graph"]["nodes"] if n[0] == "constant"]
    assert len(constants) == 2  # the literal once, 1.0001 once
    assert len(doc["graph"]["nodes"]) == 1003
    np.testing.assert_array_equal(la.from_json(la.to_json(y)).compute(), y.compute())


def test_a_live_literal_is_reused_unless_it_changed() -> None:
    data = np.arange(4.0)
    y = la.asarray(data) + 1
    text = la.to_json(y)
    assert la.from_json(text).node is y.node
    data[0] = 100.0  # the document holds the old contents
    back = la.from_json(text)
    assert back.node is not y.node
    np.testing.assert_array_equal(back.compute(), [1.0, 2.0, 3.0, 4.0])


def test_large_literals_go_to_the_blob_store_and_come_back_mapped(tmp_path: Path) -> None:
    blobs = FolderBlobs(tmp_path)
    data = np.arange(10_000.0)
    masked = np.ma.MaskedArray(np.arange(3000.0), mask=np.arange(3000) % 7 == 0)
    y = (la.asarray(data)[:3000] + la.asarray(masked)).sum()
    doc = serialize.to_dict(y, blobs=blobs, inline_bytes=1000)
    references = serialize.blob_references(doc)
    assert len(references) == 3  # the data, the masked data and its mask
    assert all(r in blobs for r in references)
    del y, masked
    data[:] = 0  # the literal no longer matches: it is read from the store
    back = serialize.from_dict(doc, blobs=blobs)
    literals = [n.attr("value") for n in la.graph.toposort([back.node]) if n.op == "constant"]
    arrays = [lit.value for lit in literals if isinstance(lit, Literal)]
    plain = next(a for a in arrays if not isinstance(a, np.ma.MaskedArray))
    assert not plain.flags.writeable and not plain.flags.owndata
    assert all(not lit.mutable for lit in literals if isinstance(lit, Literal))
    expected = (
        np.arange(3000.0) + np.ma.MaskedArray(np.arange(3000.0), mask=np.arange(3000) % 7 == 0)
    ).sum()
    assert back.compute() == expected
    assert serialize.graph_digest(doc) == back.node.digest
    memory = MemoryBlobs()
    again = serialize.to_dict(back, blobs=memory, inline_bytes=1000)
    assert again["graph"] == doc["graph"]  # the same blobs, by the same digests
    assert serialize.from_dict(again, blobs=memory).node is back.node


@pytest.mark.parametrize("store", ["folder", "memory"])
def test_a_large_literal_is_never_held_twice(tmp_path: Path, store: str) -> None:
    """Written streaming (a block at a time) and read memory-mapped: the peak of
    Python's (and numpy's) allocations stays far below the literal's size. (The 1 GB
    case is benchmarks/bench_serialize.py.)"""
    size = 32 << 20
    data = np.ones(size // 8)
    y = la.asarray(data) * 2
    y.node.inputs[0].attr("value").digest  # noqa: B018 - computed beforehand
    blobs = FolderBlobs(tmp_path) if store == "folder" else MemoryBlobs()
    tracemalloc.start()
    try:
        doc = serialize.to_dict(y, blobs=blobs, inline_bytes=1 << 20)
        written = tracemalloc.get_traced_memory()[1]
        del y
        data[0] = 5.0  # no live literal to reuse: the store is read
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]  # a store in memory holds the blob
        back = serialize.from_dict(doc, blobs=blobs)
        read = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    # a store in memory holds the blob itself; nothing holds a second copy
    assert written < (size // 4 if store == "folder" else size + size // 4)
    assert read < size // 4
    assert back.node.inputs[0].attr("value").value[0] == 1.0


def test_numpy_scalars_with_the_same_bits_are_distinct_constants() -> None:
    """A scalar constant is interned by its token: dtype (a datetime's unit) and bits."""
    weeks, days = np.timedelta64(2, "W"), np.timedelta64(2, "D")
    assert weeks.tobytes() == days.tobytes()
    base = la.asarray(np.array(["2020-01-01"], "M8[D]"))
    y, z = base + weeks, base + days
    assert y.node.inputs[1] is not z.node.inputs[1]
    assert (y - z).compute()[0] == np.timedelta64(12, "D")
    assert la.from_json(la.to_json(y)).node is y.node


def test_sizes_the_reader_can_know_keep_the_written_type() -> None:
    """A mask over data that can change has an unknown count when written; the reader's
    copy of the data cannot change, so its type rule knows the count: the written type
    stands (the document reads to the graph it holds, with its digest). A written size
    that the op contradicts is refused."""
    data = np.arange(10.0)  # writeable: the count is unknown when written
    selected = la.asarray(data)[la.asarray(data) > 4.5]
    assert selected.shape == (None,)
    doc = serialize.to_dict(selected)
    del data, selected  # the reader cannot find the writer's literal
    read = serialize.from_dict(doc)
    assert read.shape == (None,) and read.node.digest == serialize.graph_digest(doc)
    assert np.array_equal(read.compute(), np.arange(5.0, 10.0))
    settled = la.asarray([1.0, 7.0, 9.0])
    known = serialize.to_dict(settled[settled > 4.5])
    types = [node[3] for node in known["graph"]["nodes"]]
    assert [2] in [t[1] for t in types]
    for node in known["graph"]["nodes"]:
        if node[3][1] == [2]:
            node[3][1] = [3]
    with pytest.raises(GraphFormatError, match="type written"):
        serialize.from_dict(known)
