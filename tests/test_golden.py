"""The golden graph documents (``tests/golden``, written once by ``write.py``) load
forever: to the graph digest they were written with, to the same graph part when
written again, and to the results stored beside them, on every backend and mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.graph import canonical_json
from lazyarray.stores.blobs import FolderBlobs, MemoryBlobs
from tests.conftest import forced

GOLDEN = Path(__file__).resolve().parent / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
# LAPACK's answers may differ in their last bits between builds: compared within this
INEXACT = {"linalg": 1e-12}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_a_golden_document_reads_to_its_graph(name: str) -> None:
    entry = MANIFEST[name]
    text = (GOLDEN / f"{name}.json").read_text()
    doc = serialize.loads(text)
    assert serialize.graph_digest(doc) == entry["digest"]
    blobs = FolderBlobs(GOLDEN / "blobs") if entry["blobs"] else None
    value = la.from_json(text, blobs=blobs)
    again = serialize.to_dict(value, blobs=MemoryBlobs() if blobs else None, inline_bytes=1024)
    assert canonical_json(again["graph"]) == canonical_json(doc["graph"])


# the modes that run numpy's own algorithms on these small graphs, as the stored results
# were computed (blockwise floating reductions differ in their last bits: tested with
# their bounds by the ops' own tests)
RUNS = [("numpy", "optimized"), ("numpy", "unoptimized"), ("dask", "optimized")]


@pytest.mark.parametrize("name", sorted(MANIFEST))
@pytest.mark.parametrize(("backend", "mode"), RUNS)
def test_a_golden_document_computes_its_results(name: str, backend: str, mode: str) -> None:
    entry = MANIFEST[name]
    blobs = FolderBlobs(GOLDEN / "blobs") if entry["blobs"] else None
    value = la.from_json((GOLDEN / f"{name}.json").read_text(), blobs=blobs)
    outputs = value if isinstance(value, tuple) else (value,)
    stored = np.load(GOLDEN / f"{name}.npz")
    for i, output in enumerate(outputs):
        used = serialize.parameters(serialize.to_dict(output))
        arguments = {k: v for k, v in entry["arguments"].items() if k in used}
        with forced(mode):
            result = output.compute(backend=backend, cache=False, **arguments)
        _same(result, stored[f"out{i}"], stored.get(f"mask{i}"), INEXACT.get(name))


def _same(result: Any, data: Any, mask: Any, rtol: float | None) -> None:
    assert isinstance(result, np.ma.MaskedArray) == (mask is not None)
    if mask is not None:
        np.testing.assert_array_equal(np.ma.getmaskarray(result), mask)
        keep = ~mask
        result, data = np.ma.getdata(result)[keep], data[keep]
    assert np.asarray(result).dtype == data.dtype and np.shape(result) == data.shape
    if rtol is None:
        np.testing.assert_array_equal(result, data)  # NaNs in the same places
    else:
        np.testing.assert_allclose(result, data, rtol=rtol, atol=rtol)
