"""The JSON Schema of graph documents: generated from the op rows, shipped fresh, and
(where ``jsonschema`` is installed) valid and met by every document the writer makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.ops import OPS
from lazyarray.serialize.schema import SHIPPED, text

GOLDEN = Path(__file__).resolve().parent / "golden"


def test_the_shipped_schema_is_fresh() -> None:
    assert SHIPPED.read_text() == text(), "schema.json is stale: run make schema"


def test_the_schema_has_a_node_shape_per_row() -> None:
    definitions = serialize.schema()["$defs"]
    assert {name[3:] for name in definitions if name.startswith("op.")} == set(OPS)
    getitem = definitions["op.getitem"]["prefixItems"]
    assert getitem[0] == {"const": "getitem"}
    assert getitem[2]["properties"] == {"index": {"$ref": "#/$defs/index"}}
    assert definitions["op.sum"]["prefixItems"][2]["additionalProperties"] is False


def test_documents_meet_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(serialize.schema())
    validator.check_schema(serialize.schema())
    documents = [json.loads(path.read_text()) for path in GOLDEN.glob("*.json")]
    documents = [doc for doc in documents if "graph" in doc]
    assert documents
    for doc in documents:
        validator.validate(doc)
    doc = documents[0]
    doc["graph"]["nodes"][0][0] = "os.system"
    assert not validator.is_valid(doc)
    x = la.parameter("x", la.Array)
    assert validator.is_valid(serialize.to_dict(x[1:]))
