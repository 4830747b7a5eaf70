"""Documents a reader must refuse, each with the ``GraphFormatError`` subclass that says
why and the JSON pointer of the part at fault: nothing runs, nothing is unpickled,
nothing recurses, nothing grows without bound."""

from __future__ import annotations

import base64
import copy
import io
import json
import pickle
import sys
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lazyarray as la
from lazyarray import serialize
from lazyarray.errors import (
    BadArity,
    BadAttribute,
    BadLiteral,
    DanglingReference,
    DocumentTooLarge,
    GraphCycle,
    GraphFormatError,
    UnknownOp,
    UnsupportedFormatVersion,
    UntrustedContent,
)
from lazyarray.graph import Node
from lazyarray.ops import apply
from lazyarray.proxy import wrap
from lazyarray.serialize import Limits
from lazyarray.stores.blobs import FolderBlobs
from lazyarray.types import ArrayType


class _Marker:
    """Unpickling it runs code: it marks ``sys`` so a test can see that it ran."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, ("import sys; sys._lazyarray_pwned = True",))


PAYLOAD = pickle.dumps(_Marker())


@pytest.fixture(autouse=True)
def _never_unpickled() -> Any:
    yield
    assert not hasattr(sys, "_lazyarray_pwned"), "a document's pickle was loaded"


def _doc(value: Any = None) -> dict[str, Any]:
    x = la.asarray(np.arange(6.0).reshape(2, 3)) if value is None else value
    return serialize.to_dict(x if value is not None else (x * 2.0).sum(axis=0))


def _refused(error: type[GraphFormatError], doc: Any, path: str | None = None, **kw: Any) -> Any:
    read = la.from_json if isinstance(doc, (str, bytes)) else serialize.from_dict
    with pytest.raises(error) as info:
        read(doc, **kw)
    if path is not None:
        assert info.value.path == path, info.value
    return info.value


def _text(doc: dict[str, Any]) -> str:
    return json.dumps(doc)


# --- code never runs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "op", ["os.system", "__import__", "builtins.eval", "__class__.__bases__", "numpy.load", ""]
)
def test_an_op_is_only_ever_a_row_of_the_table(op: str) -> None:
    doc = _doc()
    doc["graph"]["nodes"][0][0] = op
    _refused(UnknownOp, doc, "/graph/nodes/0/0")


def test_dunder_attribute_names_and_record_names_are_refused() -> None:
    doc = _doc()
    doc["graph"]["nodes"][-1][2]["__class__"] = 1
    _refused(BadAttribute, doc, "/graph/nodes/3/2/__class__")
    doc = _doc()
    doc["graph"]["nodes"][-1][2]["axis"] = {"record": ["__import__", {}]}
    _refused(BadAttribute, doc, "/graph/nodes/3/2/axis/record/0")


def test_a_pickle_in_a_literal_is_never_loaded() -> None:
    npy = io.BytesIO()
    np.save(npy, np.array([_Marker()], dtype=object), allow_pickle=True)
    encoded = base64.b64encode(npy.getvalue()).decode()
    doc = _doc()
    (entry,) = doc["graph"]["literals"].values()
    entry["data"] = {"npy": encoded}
    _refused(BadLiteral, doc)
    entry["dtype"] = "|O"
    _refused(BadLiteral, doc)
    entry["data"] = {"npy": base64.b64encode(PAYLOAD).decode()}
    _refused(BadLiteral, doc)


def test_a_pickle_in_a_scalar_is_read_as_bits_or_refused() -> None:
    doc = _doc()
    doc["graph"]["nodes"][1][2]["value"] = {"scalar": ["<f8", PAYLOAD.hex()]}
    _refused(BadAttribute, doc, "/graph/nodes/1/2/value/scalar")


def test_python_code_is_read_only_when_trusted() -> None:
    doc = _doc()
    payload = base64.b64encode(PAYLOAD).decode()
    doc["graph"]["nodes"][1][2]["value"] = {"python": payload}
    _refused(UntrustedContent, doc, "/graph/nodes/1/2/value/python")


def test_a_row_that_runs_python_needs_trust(python_row: Any) -> None:
    x = la.asarray(np.arange(4.0))
    y = wrap(apply(python_row.name, (x.node,), function=np.negative))
    text = la.to_json(y)
    _refused(UntrustedContent, text, "/graph/nodes/1/0")
    back = la.from_json(text, trusted=True)
    np.testing.assert_array_equal(back.compute(), -np.arange(4.0))
    assert back.node.digest == y.node.digest


# --- nothing recurses, nothing grows ------------------------------------------------


def test_deeply_nested_json_is_refused_before_parsing() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    _refused(DocumentTooLarge, deep, "")
    text = _text(_doc()).replace('"axis": [0]', '"axis": ' + "[" * 100_000 + "]" * 100_000)
    _refused(DocumentTooLarge, text, "")


def test_brackets_inside_strings_do_not_count() -> None:
    doc = _doc()
    doc["writer"] = "[" * 150 + '\\"' + "{" * 150
    assert serialize.loads(_text(doc))["writer"] == doc["writer"]
    assert serialize.text.nesting('["a\\\\", ["b"]]') == 2


def test_deeply_nested_values_given_as_python_are_refused_without_recursion() -> None:
    nested: Any = []
    for _ in range(100_000):
        nested = [nested]
    doc = _doc()
    doc["graph"]["nodes"][-1][2]["axis"] = nested
    _refused(BadAttribute, doc)


def test_a_chain_100000_nodes_deep_reads_and_a_depth_limit_refuses_it() -> None:
    y = la.asarray(np.zeros(3))
    for _ in range(100_000):
        y = y + 1.0
    doc = serialize.to_dict(y)
    assert serialize.from_dict(doc).node is y.node
    _refused(DocumentTooLarge, doc, limits=Limits(depth=1000))
    _refused(DocumentTooLarge, doc, "/graph/nodes", limits=Limits(nodes=1000))


def test_documents_over_their_byte_limits_are_refused() -> None:
    text = la.to_json(la.asarray(np.zeros(1000)))
    _refused(DocumentTooLarge, text, "", limits=Limits(document_bytes=1000))
    _refused(DocumentTooLarge, text, limits=Limits(literal_bytes=4000))
    _refused(DocumentTooLarge, text, limits=Limits(inline_bytes=4000))


# --- numbers -------------------------------------------------------------------------


def test_huge_numbers_are_refused() -> None:
    text = _text(_doc())
    _refused(GraphFormatError, text.replace('"axis": [0]', '"axis": [1e400]'), "")
    _refused(GraphFormatError, text.replace('"axis": [0]', '"axis": [' + "9" * 5000 + "]"), "")
    _refused(BadAttribute, text.replace('"axis": [0]', f'"axis": [{2**70}]'))
    doc = serialize.to_dict(la.zeros((2, 3)))
    doc["graph"]["nodes"][0][2]["shape"] = [10**30, 3]
    _refused(BadAttribute, doc, "/graph/nodes/0/2/shape")


def test_nan_is_no_integer_and_no_json() -> None:
    text = _text(_doc())
    _refused(GraphFormatError, text.replace('"axis": [0]', '"axis": [NaN]'), "")
    _refused(GraphFormatError, text.replace('"axis": [0]', '"axis": [Infinity]'), "")
    nan = '{"float": "7ff8000000000000"}'
    _refused(BadAttribute, text.replace('"axis": [0]', f'"axis": [{nan}]'), "/graph/nodes/3/2/axis")
    _refused(BadAttribute, text.replace('"axis": [0]', '"axis": [true]'), "/graph/nodes/3/2/axis")


def test_duplicate_keys_are_refused() -> None:
    text = _text(_doc()).replace('"axis": [0]', '"axis": [0], "axis": [1]')
    _refused(GraphFormatError, text, "")


# --- the graph's structure -----------------------------------------------------------


def test_references_and_order_are_checked() -> None:
    doc = _doc()
    doc["graph"]["nodes"][3][1] = [7]
    _refused(DanglingReference, doc, "/graph/nodes/3/1/0")
    doc["graph"]["nodes"][3][1] = [3]
    _refused(GraphCycle, doc, "/graph/nodes/3/1/0")
    doc["graph"]["nodes"][1][1] = [2]
    _refused(GraphCycle, doc, "/graph/nodes/1/1/0")
    doc = _doc()
    doc["graph"]["outputs"] = 9
    _refused(DanglingReference, doc, "/graph/outputs")
    doc["graph"]["outputs"] = [0, -1]
    _refused(DanglingReference, doc, "/graph/outputs/1")


def test_arity_and_attributes_are_checked() -> None:
    doc = _doc()
    doc["graph"]["nodes"][2][1] = [0]
    _refused(BadArity, doc, "/graph/nodes/2/1")
    doc = _doc()
    doc["graph"]["nodes"][3][2]["keepdims"] = "yes"
    _refused(BadAttribute, doc, "/graph/nodes/3/2/keepdims")
    doc = _doc()
    doc["graph"]["nodes"][3][2]["out"] = None  # an argument, never an attribute
    _refused(BadAttribute, doc, "/graph/nodes/3/2/out")
    doc = _doc()
    doc["graph"]["nodes"][3][2]["axis"] = [5]  # well typed; the op's rule refuses it
    _refused(GraphFormatError, doc, "/graph/nodes/3")
    x = la.parameter("x", la.Array, dtype="float64")
    doc = serialize.to_dict(x[1:])
    del doc["graph"]["nodes"][1][2]["index"]  # a rule reads what every builder gives
    _refused(GraphFormatError, doc, "/graph/nodes/1")
    del doc["graph"]["nodes"][0][2]["name"]
    _refused(BadAttribute, doc, "/graph/parameters/None")


def test_a_constant_token_must_be_its_values() -> None:
    doc = _doc()
    doc["graph"]["nodes"][1][2]["value"] = 3.0
    _refused(BadAttribute, doc, "/graph/nodes/1/2")
    assert (la.asarray(np.ones(2)) * 2.0).compute()[0] == 2.0


def test_a_type_must_be_the_ops() -> None:
    doc = _doc()
    doc["graph"]["nodes"][3][3] = ["<f4", [3], False, None]
    _refused(GraphFormatError, doc, "/graph/nodes/3/3")
    doc["graph"]["nodes"][3][3] = ["|O", [3], False, None]
    _refused(BadAttribute, doc, "/graph/nodes/3/3/0")


def test_the_header_and_the_graph_have_their_keys_only() -> None:
    doc = _doc()
    doc["extra"] = 1
    _refused(GraphFormatError, doc, "")
    doc = _doc()
    doc["graph"]["code"] = "import os"
    _refused(GraphFormatError, doc, "/graph")
    _refused(GraphFormatError, [], "")


def test_newer_versions_are_refused() -> None:
    doc = _doc()
    doc["format_version"] = 2
    _refused(UnsupportedFormatVersion, doc, "/format_version")
    doc = _doc()
    doc["opset"] = 99
    _refused(UnsupportedFormatVersion, doc, "/opset")
    doc["opset"] = True
    _refused(GraphFormatError, doc, "/opset")


def test_parameters_must_be_the_graphs() -> None:
    x = la.parameter("x", la.Array, dtype="float64")
    doc = serialize.to_dict(x + 1)
    changed = copy.deepcopy(doc)
    changed["graph"]["parameters"]["x"]["dtype"] = "<f4"
    _refused(BadAttribute, changed, "/graph/parameters/x")
    changed = copy.deepcopy(doc)
    changed["graph"]["parameters"]["y"] = changed["graph"]["parameters"]["x"]
    _refused(BadAttribute, changed, "/graph/parameters/y")


# --- literals ------------------------------------------------------------------------


def test_literal_data_must_match_its_digest_and_declaration() -> None:
    doc = _doc()
    (digest,) = doc["graph"]["literals"]
    entry = doc["graph"]["literals"][digest]
    tampered = copy.deepcopy(doc)
    other = io.BytesIO()
    np.save(other, np.arange(6.0).reshape(2, 3) + 1)
    tampered["graph"]["literals"][digest]["data"] = {
        "npy": base64.b64encode(other.getvalue()).decode()
    }
    _refused(BadLiteral, tampered, f"/graph/literals/{digest}")
    wrong = copy.deepcopy(doc)
    wrong["graph"]["literals"][digest]["shape"] = [3, 2]
    _refused(BadLiteral, wrong, f"/graph/literals/{digest}/data/npy")
    wrong = copy.deepcopy(doc)
    wrong["graph"]["literals"][digest]["data"] = {"npy": "not base64!"}
    _refused(BadLiteral, wrong, f"/graph/literals/{digest}/data/npy")
    missing = copy.deepcopy(doc)
    missing["graph"]["literals"] = {}
    _refused(DanglingReference, missing, "/graph/nodes/0/2/value/literal")
    unused = copy.deepcopy(doc)
    unused["graph"]["literals"]["0" * 32] = entry
    _refused(BadLiteral, unused, "/graph/literals/" + "0" * 32)


def test_a_blob_not_at_hand_or_corrupt_is_refused(tmp_path: Any) -> None:
    blobs = FolderBlobs(tmp_path)
    x = la.asarray(np.arange(1000.0))
    doc = serialize.to_dict(x + 1, blobs=blobs, inline_bytes=100)
    (blob,) = serialize.blob_references(doc)
    _refused(BadLiteral, doc)  # no store given
    path = blobs.path(blob)
    assert path is not None
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    _refused(BadLiteral, doc, blobs=blobs)


def test_a_kernel_runs_only_ops_of_the_table() -> None:
    from lazyarray.planner import make_plan

    x = la.asarray(np.arange(240.0))
    plan = make_plan([(la.sin(x) * 2 + 1).node], None, frozenset())
    doc = serialize.to_dict(plan.outputs[0])
    text = _text(doc)
    assert '"record"' in text
    _refused(BadAttribute, text.replace('"op": "sin"', '"op": "os.system"'))
    _refused(BadAttribute, text.replace('"refs": [0]', '"refs": [9]'))


def test_errors_pickle_with_their_path() -> None:
    error = _refused(
        UnknownOp, {**_doc(), "graph": {**_doc()["graph"], "nodes": [["x", [], {}, []]]}}
    )
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is UnknownOp and again.path == error.path == "/graph/nodes/0/0"


def test_from_dict_never_returns_a_node_of_an_unchecked_type() -> None:
    doc = serialize.to_dict(la.zeros((2, 3)))
    node = serialize.nodes_from_dict(doc)[0][0]
    assert isinstance(node, Node) and node.type == ArrayType(np.dtype("float64"), (2, 3))


@st.composite
def _json_values(draw: st.DrawFn) -> Any:
    text = st.text(alphabet='[]{}"\\a,:é', max_size=6)
    return draw(
        st.recursive(
            text | st.integers(),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
            max_leaves=20,
        )
    )


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max([_depth(v) for v in value], default=0)
    if isinstance(value, dict):
        return 1 + max([_depth(v) for v in value.values()], default=0)
    return 0


@given(_json_values(), st.sampled_from([1, 2, 3, 7, 1 << 22]), st.booleans())
def test_the_nesting_scan_counts_as_json_nests(value: Any, block: int, ascii_only: bool) -> None:
    """Brackets and escaped quotes inside strings, across block boundaries."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    with mock.patch.object(serialize.text, "_CHUNK", block):
        assert serialize.text.nesting(text) == _depth(value)
        assert serialize.text.nesting(text.encode()) == _depth(value)
