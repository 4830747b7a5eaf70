"""The server's blob store: read without hashing again (its writer verified each blob),
a literal's content digest checked once and then remembered, and a document naming a
remembered digest with other data checked (and refused) again."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.errors import BadLiteral, CorruptBlob
from lazyarray.server.blobs import ServerBlobs
from lazyarray.server.runner import read_arguments, read_document
from lazyarray.stores.blobs import FolderBlobs


def _document(store: Path, masked: bool = False) -> tuple[dict[str, Any], np.ndarray]:
    x = np.arange(40_000, dtype=np.float64).reshape(200, 200)
    x.flags.writeable = False
    value: Any = x
    if masked:
        value = np.ma.MaskedArray(x, mask=(x % 7) == 0)
        lazy = la.MaskedArray(value).sum(axis=0)
    else:
        lazy = la.asarray(x).sum(axis=0)
    doc = serialize.to_dict(lazy, blobs=FolderBlobs(store), inline_bytes=1024)
    return json.loads(json.dumps(doc)), value


def _computed(doc: dict[str, Any], blobs: Any) -> Any:
    from lazyarray.execution.compute import compute

    document = read_document(doc, blobs, trusted=False)
    return compute(document.outputs, backend="numpy", cache=False)[0]


@pytest.mark.parametrize("masked", [False, True])
def test_a_literal_is_checked_once_then_mapped(tmp_path: Path, masked: bool) -> None:
    doc, value = _document(tmp_path, masked)
    blobs = ServerBlobs(tmp_path)
    (digest,) = doc["graph"]["literals"]
    assert not blobs.known(digest, doc["graph"]["literals"][digest])
    np.testing.assert_array_equal(_computed(doc, blobs), value.sum(axis=0))
    assert blobs.known(digest, doc["graph"]["literals"][digest])
    assert ServerBlobs(tmp_path).known(digest, doc["graph"]["literals"][digest])  # on disk
    # another process (a worker) maps the remembered literal: same result
    script = (
        "import json, sys, numpy as np, lazyarray\n"
        "from lazyarray.execution.compute import compute\n"
        "from lazyarray.server.blobs import ServerBlobs\n"
        "from lazyarray.server.runner import read_document\n"
        "doc = json.load(open(sys.argv[1])); blobs = ServerBlobs(sys.argv[2])\n"
        "d = read_document(doc, blobs, trusted=False)\n"
        "print(json.dumps(np.ma.filled(compute(d.outputs, backend='numpy',"
        " cache=False)[0], 0).tolist()))\n"
    )
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    found = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "doc.json"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = np.ma.filled(value.sum(axis=0), 0)
    np.testing.assert_array_equal(np.array(json.loads(found.stdout)), expected)


def test_other_data_under_a_remembered_digest_is_checked_and_refused(tmp_path: Path) -> None:
    doc, _ = _document(tmp_path)
    blobs = ServerBlobs(tmp_path)
    _computed(doc, blobs)
    (digest,) = doc["graph"]["literals"]
    forged = copy.deepcopy(doc)
    other = FolderBlobs(tmp_path)
    with other.writer() as sink:
        from lazyarray.serialize.literals import write_npy

        write_npy(sink, np.ones((200, 200)))
    forged["graph"]["literals"][digest]["data"] = {"blob": sink.digest}
    with pytest.raises(BadLiteral, match="does not match its digest"):
        read_document(forged, ServerBlobs(tmp_path), trusted=False)
    assert not ServerBlobs(tmp_path).known(digest, forged["graph"]["literals"][digest])


def test_a_folder_store_still_finds_corrupt_blobs(tmp_path: Path) -> None:
    """Only the server's own store trusts its files; ``FolderBlobs`` verifies reads."""
    doc, _ = _document(tmp_path)
    (entry,) = doc["graph"]["literals"].values()
    file = FolderBlobs(tmp_path)._file(entry["data"]["blob"])
    file.chmod(0o644)
    data = bytearray(file.read_bytes())
    data[-1] ^= 1
    file.write_bytes(bytes(data))
    with pytest.raises(CorruptBlob):
        FolderBlobs(tmp_path).get(entry["data"]["blob"])
    with pytest.raises(BadLiteral):
        read_document(doc, FolderBlobs(tmp_path), trusted=False)


def test_an_argument_blob_is_mapped_read_only(tmp_path: Path) -> None:
    import io

    blobs = ServerBlobs(tmp_path)
    buffer = io.BytesIO()
    np.save(buffer, np.arange(5.0))
    digest = blobs.put(buffer.getvalue())
    (value,) = read_arguments({"x": {"blob": digest, "format": "npy"}}, blobs).values()
    np.testing.assert_array_equal(value, np.arange(5.0))
    assert not value.flags.writeable


def test_an_argument_blob_short_of_its_data_is_a_clear_error(tmp_path: Path) -> None:
    """What a worker says of a job recorded before its blobs were checked whole."""
    import io

    blobs = ServerBlobs(tmp_path)
    buffer = io.BytesIO()
    np.save(buffer, np.arange(1000.0))
    digest = blobs.put(buffer.getvalue()[:-4000])
    with pytest.raises(ValueError, match=r"holds 4000 bytes of data where its \.npy header"):
        read_arguments({"x": {"blob": digest, "format": "npy"}}, blobs)
