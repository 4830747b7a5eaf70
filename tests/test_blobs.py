"""Content-addressed blob stores: named by the SHA-256 of their bytes, written whole or
not at all, verified on every read (a corrupt blob raises, never returns bad bytes)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from lazyarray.errors import CorruptBlob
from lazyarray.stores.blobs import BlobStore, FolderBlobs, MemoryBlobs, check_digest


@pytest.fixture(params=["memory", "folder"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return MemoryBlobs() if request.param == "memory" else FolderBlobs(tmp_path)


def _corrupt(store: Any, digest: str) -> None:
    if isinstance(store, MemoryBlobs):
        store._blobs[digest] = b"other bytes"
        return
    path = store.path(digest)
    path.chmod(0o644)
    path.write_bytes(b"other bytes")


def test_a_blob_is_named_by_the_digest_of_its_bytes(store: BlobStore) -> None:
    digest = store.put(b"hello")
    assert digest == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert digest in store and store.get(digest) == b"hello"
    assert store.put(memoryview(b"hello")) == digest
    with store.open(digest) as reader:
        assert reader.read() == b"hello"
    assert "sha256:" + "0" * 64 not in store
    with pytest.raises(KeyError):
        store.get("sha256:" + "0" * 64)


def test_a_blob_streams_in(store: BlobStore) -> None:
    with store.writer() as sink:
        for part in (b"a" * 1000, b"b" * 1000):
            sink.write(part)
    assert sink.digest == "sha256:" + hashlib.sha256(b"a" * 1000 + b"b" * 1000).hexdigest()
    assert store.get(sink.digest) == b"a" * 1000 + b"b" * 1000


def test_a_corrupt_blob_raises_instead_of_returning_its_bytes(store: BlobStore) -> None:
    digest = store.put(b"hello world")
    _corrupt(store, digest)
    with pytest.raises(CorruptBlob):
        store.get(digest)
    with store.open(digest) as reader, pytest.raises(CorruptBlob):
        reader.read()


def test_names_never_reach_a_path_unchecked(tmp_path: Path) -> None:
    store = FolderBlobs(tmp_path / "store")
    for bad in [
        "sha256:../../etc/passwd",
        "/etc/passwd",
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 63 + "/",
        "sha256:" + "0" * 64 + "\x00",
        "md5:" + "0" * 32,
        None,
    ]:
        assert bad not in store
        with pytest.raises(ValueError, match="not a blob digest"):
            check_digest(bad)
        with pytest.raises(ValueError, match="not a blob digest"):
            store.get(bad)  # type: ignore[arg-type]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = FolderBlobs(tmp_path)

    def interrupted() -> None:
        with store.writer() as sink:
            sink.write(b"half")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == []


def test_stored_files_are_read_only_and_writers_race_safely(tmp_path: Path) -> None:
    store = FolderBlobs(tmp_path)
    data = os.urandom(1 << 20)
    digests: list[str] = []
    threads = [threading.Thread(target=lambda: digests.append(store.put(data))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(digests)) == 1
    path = store.path(digests[0])
    assert path is not None and path.stat().st_mode & 0o222 == 0  # no one writes it
    assert store.get(digests[0]) == data
    assert [p.name for p in (tmp_path / "incoming").iterdir()] == []
