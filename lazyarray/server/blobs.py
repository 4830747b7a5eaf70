"""The server's blob store, read without hashing again: every blob in it came through
``PUT /v1/blobs`` (or the store's own writer), which hashed the bytes as they arrived and
stored them under that hash, so a read trusts the name (a store that is not verified on
write, ``FolderBlobs``, checks every read instead).

A literal's content digest (the document's name for it, which interns its node) is
checked once, by reading its blobs through; the entry is then remembered beside the
blobs (``literals/<digest>``, written only after that check), so the next document
naming the same entry, in the server or in a worker, maps its blobs read-only without
reading them."""

from __future__ import annotations

import base64
import collections
import contextlib
import io
import json
import math
import os
import re
import tempfile
from typing import Any, BinaryIO

import numpy as np

from lazyarray.graph import Literal, adopt_literal
from lazyarray.serialize.limits import Limits
from lazyarray.serialize.literals import (
    declared,
    decode_literal,
    map_blob,
    masked_with_fill,
    npy_header,
)
from lazyarray.serialize.values import Decoder
from lazyarray.stores.blobs import BlobStore, FolderBlobs

_LITERAL = re.compile(r"[0-9a-f]{32}")
_CHUNK = 1 << 20
KEPT_LITERALS = 32


class ServerBlobs(FolderBlobs):
    """``FolderBlobs`` whose reads are not verified (its writes are), with the entries of
    literals whose content digest was checked."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__(root)
        self._literals = self.root / "literals"
        self._known: dict[str, str] = {}  # digest -> the entry's text, in this process
        # the literals mapped last, kept alive: the next job naming one reuses it, its
        # pages already mapped (a map of a blob holds page cache, no memory of its own)
        self._kept: collections.OrderedDict[str, Literal] = collections.OrderedDict()

    def keep(self, digest: str, literal: Literal) -> None:
        self._kept[digest] = literal
        self._kept.move_to_end(digest)
        while len(self._kept) > KEPT_LITERALS:
            self._kept.popitem(last=False)

    def get(self, digest: str) -> bytes:
        try:
            return self._file(digest).read_bytes()
        except FileNotFoundError:
            raise KeyError(digest) from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self._file(digest), "rb", buffering=_CHUNK)
        except FileNotFoundError:
            raise KeyError(digest) from None

    def known(self, digest: str, entry: Any) -> bool:
        """Whether ``entry`` (a literal's entry as a document writes it) was checked to
        have the content digest ``digest``."""
        if not _LITERAL.fullmatch(digest):
            return False
        text = _text(entry)
        if self._known.get(digest) == text:
            return True
        try:
            stored = (self._literals / digest).read_text()
        except (OSError, UnicodeDecodeError):
            return False
        if stored != text:
            return False
        self._known[digest] = text
        return True

    def remember(self, digest: str, entry: Any) -> None:
        """Records that ``entry`` has the content digest ``digest`` (after a read that
        checked it). Not fsynced: a record lost to a crash only costs one more check."""
        if not _LITERAL.fullmatch(digest) or not _has_blob(entry):
            return  # inline literals are small: checked at each read
        text = _text(entry)
        self._literals.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self._literals, prefix=".")
        try:
            with os.fdopen(handle, "w") as file:
                file.write(text)
            os.replace(temporary, self._literals / digest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        self._known[digest] = text


def read_literals(
    checked: Any, blobs: ServerBlobs, limits: Limits, trusted: bool
) -> dict[str, Literal]:
    """``reader.read_literals`` over the server's store: a remembered entry is mapped
    without reading it; any other is read and checked against its digest, then
    remembered."""
    decoder = Decoder(_no_literal, trusted, limits.nesting)
    found: dict[str, Literal] = {}
    for digest, entry in checked.literals.items():
        path = f"/graph/literals/{digest}"
        live = Literal._by_digest.get(digest)
        if blobs.known(digest, entry):
            if live is not None and not live.mutable:
                found[digest] = live
                blobs.keep(digest, live)
                continue
            array = _mapped(entry, blobs, decoder, path)
        else:
            array = decode_literal(entry, digest, path, blobs, limits, decoder)
            blobs.remember(digest, entry)
        literal = found[digest] = adopt_literal(array, digest)
        if literal is live:
            continue
        if _has_blob(entry) and not literal.mutable:
            blobs.keep(digest, literal)
    return found


def _mapped(entry: dict[str, Any], blobs: ServerBlobs, decoder: Decoder, path: str) -> Any:
    """The array of an entry checked before (its digest matched), not read again."""
    dtype, shape, _ = declared(entry, path)
    data = _array(entry["data"], dtype, shape, blobs)
    if "mask" not in entry:
        return data
    mask = _array(entry["mask"], np.dtype(bool), shape, blobs)
    return masked_with_fill(data, mask, decoder.value(entry["fill_value"], f"{path}/fill_value"))


def _array(
    where: dict[str, Any], dtype: np.dtype[Any], shape: tuple[int, ...], blobs: ServerBlobs
) -> np.ndarray[Any, Any]:
    header = npy_header(dtype, shape)
    count = math.prod(shape)
    if "npy" in where:
        raw = base64.b64decode(where["npy"])
        return np.frombuffer(raw, dtype, count, len(header)).reshape(shape)
    file = blobs.path(where["blob"])
    if file is None:
        raise KeyError(where["blob"])
    return map_blob(file, dtype, shape, len(header))


def read_npy(blobs: BlobStore, digest: str) -> np.ndarray[Any, Any]:
    """An argument's ``.npy`` blob (never unpickled): mapped read-only from the server's
    store, else read (and verified) whole. A blob holding less data than its header
    declares is a ``ValueError`` saying so (``short_npy``)."""
    file = blobs.path(digest) if isinstance(blobs, ServerBlobs) else None
    try:
        if file is None:
            return np.load(io.BytesIO(blobs.get(digest)), allow_pickle=False)  # type: ignore[no-any-return]
        return np.load(file, mmap_mode="r", allow_pickle=False)  # type: ignore[no-any-return]
    except ValueError:
        short = short_npy(blobs, digest)  # numpy's words for it: "mmap length is ..."
        if short is not None:
            raise ValueError(short) from None
        raise


def npy_head(blobs: BlobStore, digest: str) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """An ``.npy`` blob's shape, dtype and data offset, from its header alone (its data
    is never read); ``ValueError`` where numpy cannot read the header."""
    with blobs.open(digest) as file:
        head = io.BytesIO(file.read(_HEAD_BYTES))
    version = np.lib.format.read_magic(head)
    read = _HEADERS.get(version)
    if read is None:
        raise ValueError(f"format version {version}")
    shape, _, dtype = read(head)
    return tuple(shape), dtype, head.tell()


def short_npy(blobs: BlobStore, digest: str) -> str | None:
    """Why an ``.npy`` blob cannot be read whole: its header declares more data than
    the blob holds (a truncated upload; a header of a huge shape with no data); None
    when the data is all there, or the header is unreadable (which its reader says).
    The header and the blob's length are read, never its data; bytes past the data are
    ignored, as ``numpy.load`` ignores them."""
    try:
        shape, dtype, offset = npy_head(blobs, digest)
    except ValueError:
        return None
    declared = math.prod(shape) * dtype.itemsize
    held = _size(blobs, digest) - offset
    if held >= declared:
        return None
    return (
        f"blob {digest} holds {max(held, 0)} bytes of data where its .npy header declares "
        f"{declared} (shape {shape}, dtype {dtype}): upload the whole file"
    )


_HEAD_BYTES = 1 << 16  # an .npy header numpy reads is under 10,000 bytes
_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _size(blobs: BlobStore, digest: str) -> int:
    """A blob's length in bytes: its file's, else its bytes' (a store without files)."""
    file = blobs.path(digest)
    if file is not None:
        return file.stat().st_size
    return len(blobs.get(digest))


def _text(entry: Any) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def _has_blob(entry: Any) -> bool:
    return isinstance(entry, dict) and any(
        isinstance(entry.get(key), dict) and "blob" in entry[key] for key in ("data", "mask")
    )


def _no_literal(digest: str, path: str) -> Any:
    from lazyarray.errors import BadLiteral

    raise BadLiteral("a literal's fill value is a scalar", path)
