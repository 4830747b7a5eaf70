"""Content-addressed bytes: a blob is named by the SHA-256 of its bytes
(``"sha256:" + hex``), so a name says what it holds and a read can check it.

``FolderBlobs`` writes each blob to a temporary file beside the store, flushes it to
disk and renames it into place, so a blob is whole or absent, never half-written; every
read is verified, and bytes that do not match their name raise ``CorruptBlob`` instead
of being returned. Large blobs are streamed through ``writer()`` (hashed while written,
never held in memory) and read through ``open()`` or, memory-mapped, through ``path()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, Protocol, runtime_checkable

from lazyarray.errors import CorruptBlob

PREFIX = "sha256:"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 20


def digest_of(data: bytes | memoryview) -> str:
    return PREFIX + hashlib.sha256(data).hexdigest()


def check_digest(digest: object) -> str:
    """``digest`` if it is a blob name (``sha256:`` and 64 lowercase hex digits), else
    ``ValueError``: a name from a document never reaches a path unchecked."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a blob digest: {digest!r}")
    return digest


class BlobWriter(Protocol):
    """What ``BlobStore.writer()`` yields: write bytes to it; once the ``with`` block
    ends, ``digest`` names the stored blob."""

    digest: str

    def write(self, data: bytes | memoryview) -> int: ...


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed bytes. Implementations: ``MemoryBlobs``, ``FolderBlobs``."""

    def put(self, data: bytes | memoryview) -> str:
        """Stores ``data``; returns its digest (storing it again is a no-op)."""
        ...

    def writer(self) -> contextlib.AbstractContextManager[BlobWriter]:
        """Streams a blob in: hashed while written, stored when the block ends."""
        ...

    def get(self, digest: str) -> bytes:
        """The bytes named ``digest``, verified; ``KeyError`` if absent."""
        ...

    def open(self, digest: str) -> BinaryIO:
        """A reader of the blob that raises ``CorruptBlob`` at its end if the bytes
        read do not match ``digest``."""
        ...

    def path(self, digest: str) -> Path | None:
        """The blob's local file (to memory-map), or None where there is none."""
        ...

    def __contains__(self, digest: object) -> bool: ...


class _Hashing:
    """Collects written bytes in ``sink`` and their digest."""

    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self._hasher = hashlib.sha256()
        self.digest = ""

    def write(self, data: bytes | memoryview) -> int:
        self._hasher.update(data)
        return self._sink.write(data)

    def finish(self) -> str:
        self.digest = PREFIX + self._hasher.hexdigest()
        return self.digest


class VerifyingReader(io.RawIOBase):
    """Reads ``raw`` and checks, when its end is reached, that what was read hashes to
    ``digest``; a mismatch raises ``CorruptBlob`` in place of the end of the stream."""

    def __init__(self, raw: IO[bytes], digest: str) -> None:
        super().__init__()
        self._raw = raw
        self._digest = digest
        self._hasher = hashlib.sha256()
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self._hasher.update(memoryview(buffer)[:count])
        elif not self._checked:
            self._checked = True
            if PREFIX + self._hasher.hexdigest() != self._digest:
                raise CorruptBlob(f"blob {self._digest} does not match its contents")
        return int(count or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


class MemoryBlobs:
    """Blobs in a dict: for tests and for documents passed within one process."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put(self, data: bytes | memoryview) -> str:
        data = bytes(data)
        digest = digest_of(data)
        self._blobs.setdefault(digest, data)
        return digest

    @contextlib.contextmanager
    def writer(self) -> Iterator[BlobWriter]:
        buffer = io.BytesIO()
        hashing = _Hashing(buffer)
        yield hashing
        self._blobs.setdefault(hashing.finish(), buffer.getvalue())

    def get(self, digest: str) -> bytes:
        data = self._blobs[check_digest(digest)]
        if digest_of(data) != digest:
            raise CorruptBlob(f"blob {digest} does not match its contents")
        return data

    def open(self, digest: str) -> BinaryIO:
        data = self._blobs[check_digest(digest)]
        return io.BufferedReader(VerifyingReader(io.BytesIO(data), digest))

    def path(self, digest: str) -> Path | None:
        return None

    def __contains__(self, digest: object) -> bool:
        return digest in self._blobs

    def __len__(self) -> int:
        return len(self._blobs)


class FolderBlobs:
    """Blobs as files under ``root``: ``root/sha256/ab/<the other 62 digits>``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._incoming = self.root / "incoming"  # temporary files, renamed into place

    def _file(self, digest: str) -> Path:
        hexdigits = check_digest(digest)[len(PREFIX) :]
        return self.root / "sha256" / hexdigits[:2] / hexdigits[2:]

    def put(self, data: bytes | memoryview) -> str:
        digest = digest_of(data)
        if digest not in self:
            with self.writer() as sink:
                sink.write(data)
        return digest

    @contextlib.contextmanager
    def writer(self) -> Iterator[BlobWriter]:
        self._incoming.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self._incoming, prefix=".blob-")
        try:
            with os.fdopen(handle, "wb") as file:
                hashing = _Hashing(file)
                yield hashing
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o444)  # a blob never changes
            target = self._file(hashing.finish())
            if target.exists():
                os.unlink(temporary)  # the same bytes are stored already
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
            _sync_folder(target.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def get(self, digest: str) -> bytes:
        try:
            data = self._file(digest).read_bytes()
        except FileNotFoundError:
            raise KeyError(digest) from None
        if digest_of(data) != digest:
            raise CorruptBlob(f"blob {digest} does not match its contents")
        return data

    def open(self, digest: str) -> BinaryIO:
        try:
            raw = open(self._file(digest), "rb", buffering=0)  # noqa: SIM115 - returned
        except FileNotFoundError:
            raise KeyError(digest) from None
        return io.BufferedReader(VerifyingReader(raw, digest), _CHUNK)

    def verify(self, digest: str) -> None:
        """Reads the whole blob once; ``CorruptBlob`` if it does not match its name."""
        with self.open(digest) as reader:
            while reader.read(_CHUNK):
                pass

    def path(self, digest: str) -> Path | None:
        file = self._file(digest)
        return file if file.exists() else None

    def __contains__(self, digest: object) -> bool:
        try:
            return self._file(digest).exists()  # type: ignore[arg-type]
        except ValueError:
            return False


def _sync_folder(folder: Path) -> None:
    """Makes a rename in ``folder`` durable (where the platform allows opening it)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
