"""Where a repository's versions live, and how one becomes visible all at once.

Layout, on both kinds of store: ``root/<name>/v<k>/`` holds version k's files and its
``manifest.json``; a version exists exactly when its manifest does, and the manifest is
written last.

- A local folder: a version is written into a hidden temporary folder
  (``.new.lazyarray-<host>-<pid>-<random>.part``, ``files.temporary_name``), every file
  synced, the manifest last; renaming that folder to ``v<k>`` is the commit (atomic; it
  fails if ``v<k>`` exists, and the next number is taken). A killed writer leaves only
  its hidden temporary, which the next writer removes (``files.remove_stale``).
- An fsspec store (object stores, ``memory://``): there is no rename, so files are
  written whole under ``v<k>/`` and the manifest last; until it exists the version is
  not listed. A ``.writer`` object written first names the writer (host, pid, time): a
  folder without a manifest whose writer is gone is debris, removed by the next writer
  and by ``prune``.

A version number, once committed, is never used again: removing a version (``prune``)
first leaves a tombstone ``root/.pruned/<name>/v<k>`` (an empty file), and a new
version is numbered above both the committed versions and the highest tombstone.
"""

from __future__ import annotations

import abc
import contextlib
import errno
import io
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from lazyarray.errors import ArtifactError
from lazyarray.execution.files import (
    STALE_AFTER_S,
    host_name,
    process_gone,
    remove_stale,
    sync_folder,
    temporary_name,
)
from lazyarray.stores.names import check_name, confined

MANIFEST = "manifest.json"
WRITER = ".writer"
TOMBSTONES = ".pruned"  # under the root: the numbers of removed versions, never reused
_VERSION = re.compile(r"v([1-9][0-9]{0,17})")

Manifest = dict[str, Any]


def manifest_text(manifest: Manifest) -> bytes:
    return json.dumps(manifest, indent=1, sort_keys=True).encode()


def parse_manifest(data: bytes) -> Manifest | None:
    """A manifest, or None for bytes that are not one (a partial write on a store
    without atomic objects): such a version is not committed."""
    try:
        found = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return found if isinstance(found, dict) and isinstance(found.get("version"), int) else None


class Staging(abc.ABC):
    """The files of one version being written; ``commit`` makes them visible."""

    @abc.abstractmethod
    def open(self, fname: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        """A binary file that becomes the version's ``fname``, whole."""

    @abc.abstractmethod
    def zarr_store(self, fname: str) -> Any:
        """A zarr store at the version's ``fname`` (a multi-file format)."""

    @abc.abstractmethod
    def files(self) -> dict[str, int]:
        """The files written so far, by path relative to the version, with their sizes."""

    @abc.abstractmethod
    def commit(self, manifest: Callable[[int, dict[str, int]], Manifest], first: int) -> int:
        """Writes the manifest (``manifest(version, file sizes)``) last and publishes
        the version as ``first`` or the next free number; returns that number."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Removes what was written; none of it was ever visible."""


class Storage(abc.ABC):
    """A repository's files: names, committed manifests, version files."""

    url: str

    @abc.abstractmethod
    def names(self) -> list[str]:
        """The artifact names under the root."""

    @abc.abstractmethod
    def manifests(self, name: str) -> dict[int, Manifest]:
        """The committed versions of ``name``: number -> manifest."""

    @abc.abstractmethod
    def removed(self, name: str) -> int:
        """The highest number of a removed version of ``name`` (0: none): numbers up to
        it are never given again."""

    @abc.abstractmethod
    def begin(self, name: str, first: int) -> Staging:
        """Starts writing a version of ``name``, to be numbered ``first`` or later."""

    @abc.abstractmethod
    def open(
        self, name: str, version: int, fname: str
    ) -> contextlib.AbstractContextManager[IO[bytes]]:
        """Reads ``fname`` of a committed version."""

    @abc.abstractmethod
    def sizes(self, name: str, version: int, fname: str) -> dict[str, int]:
        """The sizes of a version's file ``fname``, or of the files under the folder
        ``fname``, by path relative to the version (as its manifest lists them)."""

    @abc.abstractmethod
    def zarr_store(self, name: str, version: int, fname: str) -> Any:
        """A read-only zarr store at a version's ``fname``."""

    @abc.abstractmethod
    def remove(self, name: str, version: int) -> None:
        """Removes a committed version: it disappears at once, then its files go."""

    @abc.abstractmethod
    def clean(self, name: str) -> None:
        """Removes what killed writers left under ``name``."""


def open_storage(root: str | os.PathLike[str]) -> Storage:
    """A local folder (a path) or an fsspec store (a URL with a scheme)."""
    text = os.fspath(root)
    if "://" in text:
        return FsspecStorage(text)
    return LocalStorage(text)


# --- a local folder -----------------------------------------------------------------


@contextlib.contextmanager
def _synced(path: Path) -> Iterator[IO[bytes]]:
    with open(path, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _sync_tree(folder: Path) -> dict[str, int]:
    """Syncs every file and folder under ``folder``; their sizes by relative path."""
    sizes: dict[str, int] = {}
    for parent, folders, files in os.walk(folder):
        for name in files:
            path = os.path.join(parent, name)
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
                sizes[os.path.relpath(path, folder).replace(os.sep, "/")] = os.fstat(
                    descriptor
                ).st_size
            finally:
                os.close(descriptor)
        for name in folders:
            sync_folder(os.path.join(parent, name))
    sync_folder(str(folder))
    return sizes


class LocalStaging(Staging):
    def __init__(self, folder: Path, removed: Callable[[], int]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale(str(folder))
        self.folder = folder
        self.removed = removed
        self.path = folder / temporary_name("new")
        self.path.mkdir()

    def open(self, fname: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return _synced(self.path / fname)

    def zarr_store(self, fname: str) -> Any:
        import zarr.storage

        return zarr.storage.LocalStore(self.path / fname)

    def files(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for parent, _, files in os.walk(self.path):
            for name in files:
                path = Path(parent, name)
                sizes[path.relative_to(self.path).as_posix()] = path.stat().st_size
        return sizes

    def commit(self, manifest: Callable[[int, dict[str, int]], Manifest], first: int) -> int:
        sizes = _sync_tree(self.path)
        version = max(first, self.removed() + 1)
        while True:
            with _synced(self.path / MANIFEST) as handle:
                handle.write(manifest_text(manifest(version, sizes)))
            sync_folder(str(self.path))
            try:
                os.rename(self.path, self.folder / f"v{version}")
            except OSError as exc:  # taken by another writer: the next number
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                    raise
                version += 1
                continue
            sync_folder(str(self.folder))
            return version

    def abort(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class LocalStorage(Storage):
    def __init__(self, root: str) -> None:
        # resolved now: the repository stays where it was made after os.chdir
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)

    def _folder(self, name: str) -> Path:
        return confined(self.root, name)

    def _version(self, name: str, version: int) -> Path:
        return confined(self.root, name, f"v{version}")

    def names(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            return sorted(
                entry.name
                for entry in os.scandir(self.root)
                if entry.is_dir() and not entry.name.startswith(".")
            )
        return []

    def manifests(self, name: str) -> dict[int, Manifest]:
        found: dict[int, Manifest] = {}
        try:
            entries = list(os.scandir(self._folder(name)))
        except (FileNotFoundError, NotADirectoryError):
            return found
        for entry in entries:
            match = _VERSION.fullmatch(entry.name)
            if match is None:
                continue
            with contextlib.suppress(OSError):
                manifest = parse_manifest(Path(entry.path, MANIFEST).read_bytes())
                if manifest is not None:
                    found[int(match[1])] = manifest
        return found

    def _tombstones(self, name: str) -> Path:
        self._folder(name)  # the name checked
        return self.root / TOMBSTONES / name

    def removed(self, name: str) -> int:
        with contextlib.suppress(OSError):
            return max(_numbers(os.listdir(self._tombstones(name))), default=0)
        return 0

    def _bury(self, name: str, version: int) -> None:
        """Records that ``version`` was committed before it goes; lower records are
        dropped (the highest is all that counts, and is never removed)."""
        folder = self._tombstones(name)
        folder.mkdir(parents=True, exist_ok=True)
        with _synced(folder / f"v{version}"):
            pass
        sync_folder(str(folder))
        for number in _numbers(os.listdir(folder)):
            if number < version:
                with contextlib.suppress(OSError):
                    os.remove(folder / f"v{number}")

    def begin(self, name: str, first: int) -> Staging:
        return LocalStaging(self._folder(name), lambda: self.removed(name))

    def open(
        self, name: str, version: int, fname: str
    ) -> contextlib.AbstractContextManager[IO[bytes]]:
        return open(self._version(name, version) / fname, "rb")

    def sizes(self, name: str, version: int, fname: str) -> dict[str, int]:
        folder = self._version(name, version)
        found: dict[str, int] = {}
        with contextlib.suppress(OSError):
            if (folder / fname).is_file():
                return {fname: (folder / fname).stat().st_size}
            for parent, _, files in os.walk(folder / fname):
                for file in files:
                    path = Path(parent, file)
                    found[path.relative_to(folder).as_posix()] = path.stat().st_size
        return found

    def zarr_store(self, name: str, version: int, fname: str) -> Any:
        import zarr.storage

        return zarr.storage.LocalStore(self._version(name, version) / fname, read_only=True)

    def remove(self, name: str, version: int) -> None:
        """Hides the version by one rename (it is gone at once), then deletes it."""
        folder = self._folder(name)
        hidden = folder / temporary_name(f"v{version}")
        if not self._version(name, version).exists():
            return
        self._bury(name, version)
        try:
            os.rename(self._version(name, version), hidden)
        except FileNotFoundError:
            return
        sync_folder(str(folder))
        shutil.rmtree(hidden, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.rmdir()  # the last version of this name: the name goes too

    def clean(self, name: str) -> None:
        remove_stale(str(self._folder(name)))


# --- an fsspec store ------------------------------------------------------------------


class FsspecStaging(Staging):
    def __init__(self, storage: FsspecStorage, name: str, version: int) -> None:
        self.storage = storage
        self.version = version
        self.path = storage.path(name, f"v{version}")
        writer = {"host": host_name(), "pid": os.getpid(), "time": time.time()}
        storage.fs.pipe_file(f"{self.path}/{WRITER}", json.dumps(writer).encode())

    @contextlib.contextmanager
    def _open(self, fname: str) -> Iterator[IO[bytes]]:
        # buffered here and written as one object: a store never holds part of a file
        buffer = io.BytesIO()
        yield buffer
        self.storage.fs.pipe_file(f"{self.path}/{fname}", buffer.getvalue())

    def open(self, fname: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return self._open(fname)

    def zarr_store(self, fname: str) -> Any:
        return self.storage.zarr_at(f"{self.path}/{fname}", read_only=False)

    def files(self) -> dict[str, int]:
        return {
            path[len(self.path) + 1 :]: int(info.get("size") or 0)
            for path, info in self.storage.fs.find(self.path, detail=True).items()
            if not path.endswith(f"/{WRITER}")
        }

    def commit(self, manifest: Callable[[int, dict[str, int]], Manifest], first: int) -> int:
        fs = self.storage.fs
        sizes = self.files()
        target = f"{self.path}/{MANIFEST}"
        if fs.exists(target):
            raise ArtifactError(
                f"another writer committed version {self.version} at {self.storage.url} "
                "at the same time; save again"
            )
        fs.pipe_file(target, manifest_text(manifest(self.version, sizes)))
        with contextlib.suppress(OSError):
            fs.rm_file(f"{self.path}/{WRITER}")
        return self.version

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.storage.fs.rm(self.path, recursive=True)


class FsspecStorage(Storage):
    def __init__(self, url: str) -> None:
        import fsspec.core

        self.url = url.rstrip("/")
        protocol = url.partition("://")[0]
        options = {"auto_mkdir": True} if protocol in ("file", "local") else {}
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)
        self.root = self.root.rstrip("/")

    def path(self, name: str, *inner: str) -> str:
        """``root/name/inner...``: ``name`` checked by the name validator; ``inner``
        parts are this module's own (``v<k>``, ``manifest.json``, ``.writer``)."""
        return "/".join([self.root, check_name(name, "artifact name"), *inner])

    def zarr_at(self, path: str, read_only: bool) -> Any:
        import zarr.storage
        from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper

        fs = self.fs if self.fs.async_impl else AsyncFileSystemWrapper(self.fs, asynchronous=True)
        return zarr.storage.FsspecStore(fs, path=path, read_only=read_only)

    def names(self) -> list[str]:
        try:
            entries = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return []
        names = [
            e["name"].rstrip("/").rpartition("/")[2] for e in entries if e["type"] == "directory"
        ]
        return sorted(n for n in names if not n.startswith("."))

    def _listing(self, name: str, marked: set[int] | None = None) -> dict[int, bool]:
        """Version folders under ``name``: number -> whether its manifest exists; the
        numbers of those holding a ``.writer`` are added to ``marked``."""
        folder = self.path(name)
        try:
            found = self.fs.find(folder, maxdepth=2, withdirs=False)
        except FileNotFoundError:
            return {}
        versions: dict[int, bool] = {}
        for path in found:
            parts = path[len(folder) + 1 :].split("/")
            match = _VERSION.fullmatch(parts[0])
            if match is not None:
                number = int(match[1])
                versions[number] = versions.get(number, False) or parts[1:] == [MANIFEST]
                if marked is not None and parts[1:] == [WRITER]:
                    marked.add(number)
        return versions

    def manifests(self, name: str) -> dict[int, Manifest]:
        found: dict[int, Manifest] = {}
        for number, committed in self._listing(name).items():
            if committed:
                with contextlib.suppress(FileNotFoundError):
                    data = self.fs.cat_file(self.path(name, f"v{number}", MANIFEST))
                    manifest = parse_manifest(data)
                    if manifest is not None:
                        found[number] = manifest
        return found

    def _gone(self, name: str, number: int) -> bool:
        """Whether the uncommitted folder ``v<number>``'s writer is gone."""
        try:
            writer = json.loads(self.fs.cat_file(self.path(name, f"v{number}", WRITER)))
        except (FileNotFoundError, ValueError):
            return True  # killed before it named itself
        try:
            if process_gone(str(writer["host"]), int(writer["pid"])):
                return True
            return time.time() - float(writer["time"]) > STALE_AFTER_S
        except (KeyError, TypeError, ValueError):
            return True  # not a record this module wrote

    def _tombstones(self, name: str) -> str:
        return "/".join([self.root, TOMBSTONES, check_name(name, "artifact name")])

    def removed(self, name: str) -> int:
        try:
            found = self.fs.ls(self._tombstones(name), detail=False)
        except (FileNotFoundError, OSError):
            return 0
        return max(_numbers(p.rstrip("/").rpartition("/")[2] for p in found), default=0)

    def _bury(self, name: str, version: int) -> None:
        folder = self._tombstones(name)
        self.fs.pipe_file(f"{folder}/v{version}", b"")
        for number in _numbers(
            p.rstrip("/").rpartition("/")[2] for p in self.fs.ls(folder, detail=False)
        ):
            if number < version:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm_file(f"{folder}/v{number}")

    def begin(self, name: str, first: int) -> Staging:
        self.clean(name)
        listing = self._listing(name)
        version = max(
            [
                first,
                self.removed(name) + 1,
                *(n + 1 for n, committed in listing.items() if committed),
            ]
        )
        while version in listing:
            if not listing[version] and self._gone(name, version):
                self.fs.rm(self.path(name, f"v{version}"), recursive=True)
                break
            version += 1
        return FsspecStaging(self, name, version)

    def open(
        self, name: str, version: int, fname: str
    ) -> contextlib.AbstractContextManager[IO[bytes]]:
        return self.fs.open(self.path(name, f"v{version}", fname), "rb")  # type: ignore[no-any-return]

    def sizes(self, name: str, version: int, fname: str) -> dict[str, int]:
        folder = self.path(name, f"v{version}")
        try:
            found = self.fs.find(f"{folder}/{fname}", detail=True)
        except (FileNotFoundError, OSError):
            return {}
        return {path[len(folder) + 1 :]: int(info.get("size") or 0) for path, info in found.items()}

    def zarr_store(self, name: str, version: int, fname: str) -> Any:
        return self.zarr_at(self.path(name, f"v{version}", fname), read_only=True)

    def remove(self, name: str, version: int) -> None:
        """Removes the manifest first: the version is gone before its files are."""
        if not self.fs.exists(self.path(name, f"v{version}", MANIFEST)):
            return
        self._bury(name, version)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(name, f"v{version}", MANIFEST))
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.path(name, f"v{version}"), recursive=True)

    def clean(self, name: str) -> None:
        marked: set[int] = set()
        listing = self._listing(name, marked)
        for number in marked:
            if not self._gone(name, number):
                continue
            with contextlib.suppress(FileNotFoundError):
                if listing[number]:  # committed, killed before it removed its mark
                    self.fs.rm_file(self.path(name, f"v{number}", WRITER))
                else:
                    self.fs.rm(self.path(name, f"v{number}"), recursive=True)
        for number, committed in listing.items():
            if not committed and number not in marked:  # killed before it named itself
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm(self.path(name, f"v{number}"), recursive=True)
        # a file system (not an object store) can hold a version's folder, empty
        with contextlib.suppress(FileNotFoundError):
            for entry in self.fs.ls(self.path(name), detail=True):
                match = _VERSION.fullmatch(entry["name"].rstrip("/").rpartition("/")[2])
                if match and entry["type"] == "directory" and int(match[1]) not in listing:
                    with contextlib.suppress(OSError):
                        self.fs.rmdir(entry["name"])


def _numbers(names: Any) -> list[int]:
    """The version numbers among file names ``v<k>``."""
    return [int(m[1]) for m in map(_VERSION.fullmatch, names) if m is not None]


__all__ = ["FsspecStorage", "LocalStorage", "Storage", "open_storage"]
