"""Versioning after ONNX: a document records its format version and the oldest op-set
covering its graph; a reader refuses newer ones and upgrades older ones through the
registered chain of upgraders (format first, then each node's op)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.errors import UnsupportedFormatVersion
from lazyarray.ops import OPS, Kind, OpDef, apply
from lazyarray.ops.attrtypes import FLOAT
from lazyarray.proxy import wrap
from lazyarray.serialize.versions import FORMAT_VERSION, opset


def _scaled(x: Any, *, scale: float) -> Any:
    return x * scale


@pytest.fixture
def changed_op() -> Iterator[OpDef]:
    """An op whose meaning changed in op-set 2: it took ``factor``, it takes ``scale``
    (the same number) since."""
    row = OpDef(
        "test_scaled",
        Kind.ELEMENTWISE,
        _scaled,
        lambda inputs, attrs: inputs[0].type,
        arity=1,
        attributes={"scale": FLOAT},
        since=2,
    )
    OPS[row.name] = row
    yield row
    del OPS[row.name]


def _old_document() -> dict[str, Any]:
    """A document written by a lazyarray of op-set 1, when ``test_scaled`` took
    ``factor``."""
    x = la.asarray(np.arange(3.0))
    doc = serialize.to_dict(x)
    doc["graph"]["nodes"].append(["test_scaled", [0], {"factor": 2.0}, ["<f8", [3], False, None]])
    doc["graph"]["outputs"] = 1
    doc["opset"] = 1
    return doc


def test_a_writer_records_the_oldest_op_set_covering_its_graph(changed_op: OpDef) -> None:
    assert opset() == 2
    x = la.asarray(np.arange(3.0))
    assert serialize.to_dict(x + 1)["opset"] == 1
    assert serialize.to_dict(wrap(apply("test_scaled", (x.node,), scale=2.0)))["opset"] == 2


def test_an_older_op_set_is_upgraded_through_its_upgrader(changed_op: OpDef) -> None:
    doc = _old_document()
    with pytest.raises(UnsupportedFormatVersion, match="no upgrader") as info:
        serialize.from_dict(doc)
    assert info.value.path == "/graph/nodes/1/0"

    def factor_to_scale(record: list[Any]) -> list[Any]:
        op, inputs, attrs, type_ = record
        return [op, inputs, {"scale": attrs["factor"]}, type_]

    registration = serialize.register_op_upgrader("test_scaled", 2, factor_to_scale)
    try:
        y = serialize.from_dict(doc)
        assert y.node.attr("scale") == 2.0
        np.testing.assert_array_equal(y.compute(), [0.0, 2.0, 4.0])
        assert serialize.graph_digest(doc) == y.node.digest
        assert serialize.to_dict(y)["opset"] == 2
    finally:
        registration.remove()


def test_an_older_format_is_upgraded_through_its_upgrader() -> None:
    x = la.asarray(np.arange(3.0))
    current = serialize.to_dict(x + 1)
    old = copy.deepcopy(current)
    old["format_version"] = 0  # format 0 called the graph "g"
    old["g"] = old.pop("graph")
    with pytest.raises(UnsupportedFormatVersion, match="no upgrader"):
        serialize.from_dict(old)

    def rename(doc: dict[str, Any]) -> dict[str, Any]:
        doc = dict(doc)
        doc["graph"] = doc.pop("g")
        doc["format_version"] = 1
        return doc

    registration = serialize.register_format_upgrader(0, rename)
    try:
        assert serialize.from_dict(old).node is (x + 1).node
    finally:
        registration.remove()


def test_newer_than_known_is_refused_never_guessed() -> None:
    doc = serialize.to_dict(la.asarray(np.arange(3.0)) + 1)
    newer = {**doc, "format_version": FORMAT_VERSION + 1}
    with pytest.raises(UnsupportedFormatVersion, match="newer"):
        serialize.from_dict(newer)
    with pytest.raises(UnsupportedFormatVersion, match="newer"):
        serialize.from_dict({**doc, "opset": opset() + 1})


def test_every_released_row_is_of_op_set_one() -> None:
    """A row's ``since`` grows only with an upgrader for its old meaning: op-set 1 is
    this release's, and the golden documents (``tests/golden``) hold it to that."""
    assert {row.since for row in OPS.values()} == {1}
