"""Where a catalog keeps its versions and tags: a local folder or an fsspec object store.

Both lay the data out alike under the root::

    datasets/<namespace>/<name>/stores/<store>/      a version's zarr store (immutable)
    datasets/<namespace>/<name>/versions/<uid>       its manifest (immutable, JSON)

and differ in how a version and a tag become visible:

- ``FolderStorage``: a store is written under ``staging/`` and renamed into place whole;
  the manifest file is written to a temporary file and renamed; then one SQLite
  transaction (``catalog.sqlite``, WAL: readers never wait) records the version and moves
  its tags. Two writers moving one tag are serialized: the later commit wins.
- ``ObjectStorage`` (fsspec, no rename, no SQLite): each object is written whole, once.
  The store's chunks come first, the manifest last; a version is visible only when its
  manifest exists (``uids/<uid>`` indexes it by uid), and a tag is a small object
  ``datasets/<namespace>/<name>/tags/<tag>`` (JSON) written whole after the manifest. Two
  writers moving one tag race as object stores do: the last write wins, and both versions
  stay, reachable by uid.

A writer killed at any point leaves the previous versions and tags as they were; what it
had written is an unreferenced store (or, on a folder, a ``staging`` entry) that no
listing shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lazyarray.datasets.catalog_manifest import Manifest
from lazyarray.errors import CatalogError, DatasetNotFound, InvalidName, TagNotFound
from lazyarray.execution.files import sync_folder, write_atomically
from lazyarray.stores.names import check_name, check_uid, confined, confined_key

DATABASE = "catalog.sqlite"
SCHEMA_VERSION = 1
_BUSY_MS = 30_000
_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS versions (
        uid TEXT PRIMARY KEY,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        manifest BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS versions_by_dataset ON versions (namespace, name)",
    """CREATE TABLE IF NOT EXISTS tags (
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        tag TEXT NOT NULL,
        uid TEXT NOT NULL REFERENCES versions (uid),
        moved REAL NOT NULL,
        PRIMARY KEY (namespace, name, tag)
    )""",
]


def new_store_name() -> str:
    """A fresh store folder's name: never reused, so a store is written once."""
    return f"{uuid.uuid4().hex}.zarr"


def _missing(namespace: str, name: str, location: str) -> DatasetNotFound:
    return DatasetNotFound(f"no dataset {namespace}/{name} in the catalog {location}")


def _no_tag(namespace: str, name: str, tag: str, tags: Iterable[str]) -> TagNotFound:
    held = ", ".join(sorted(tags)) or "none"
    return TagNotFound(f"dataset {namespace}/{name} has no tag {tag!r} (its tags: {held})")


class FolderStorage:
    """A catalog in a local folder: SQLite for versions and tags, renames for files."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.location = str(self.root)
        self.storage_options: dict[str, Any] | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        self._database = confined(self.root, DATABASE)
        self._prepare()

    # --- the database -------------------------------------------------------------------

    def _connect(self) -> Any:
        import sqlite3

        connection = sqlite3.connect(self._database, timeout=_BUSY_MS / 1000, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        return connection

    @contextlib.contextmanager
    def _transaction(self, write: bool = False) -> Iterator[Any]:
        import sqlite3

        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield connection
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise CatalogError(f"catalog {self.location}: {error}") from error
        finally:
            with contextlib.suppress(sqlite3.Error):
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            connection.close()

    def _prepare(self) -> None:
        import sqlite3

        try:
            connection = self._connect()
            try:
                if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    connection.execute("PRAGMA journal_mode = WAL")
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise CatalogError(f"catalog {self.location}: {error}") from error
        with self._transaction(write=True) as database:
            found = database.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise CatalogError(
                    f"catalog {self.location} was written by a newer lazyarray (schema "
                    f"{found}; this one knows {SCHEMA_VERSION}): upgrade lazyarray"
                )
            if found < SCHEMA_VERSION:
                for statement in _SCHEMA:
                    database.execute(statement)
                database.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- paths ----------------------------------------------------------------------------

    def _dataset(self, namespace: str, name: str, *parts: str) -> Path:
        return confined(self.root, "datasets", namespace, name, *parts)

    def store_url(self, namespace: str, name: str, store: str) -> str:
        return str(self._dataset(namespace, name, "stores", store))

    def open_store(self, url: str, *, write: bool = False) -> Any:
        from zarr.storage import LocalStore

        return LocalStore(url, read_only=not write)

    # --- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def staged_store(self, namespace: str, name: str) -> Iterator[tuple[str, Any]]:
        """A new store to fill, written under ``staging/`` and renamed into the dataset's
        ``stores/`` when the block ends (removed if it raises)."""
        from zarr.storage import LocalStore

        store = new_store_name()
        staging = confined(self.root, "staging", store)
        staging.parent.mkdir(parents=True, exist_ok=True)
        try:
            yield store, LocalStore(staging, read_only=False)
            _sync_tree(staging)
            final = self._dataset(namespace, name, "stores", store)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, final)
            sync_folder(str(final.parent))
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def publish(self, manifest: Manifest, data: bytes, uid: str, tags: Sequence[str]) -> None:
        """The manifest file, then the version's row and its tags in one transaction."""
        path = self._dataset(manifest.namespace, manifest.name, "versions", uid)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data)
        now = time.time()
        with self._transaction(write=True) as database:
            database.execute(
                "INSERT OR IGNORE INTO versions (uid, namespace, name, created, manifest) "
                "VALUES (?, ?, ?, ?, ?)",
                (uid, manifest.namespace, manifest.name, manifest.created, data),
            )
            for tag in tags:
                database.execute(
                    "INSERT OR REPLACE INTO tags (namespace, name, tag, uid, moved) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (manifest.namespace, manifest.name, tag, uid, now),
                )

    def move_tag(self, namespace: str, name: str, tag: str, uid: str) -> None:
        manifest = self.manifest(uid)
        if (manifest.namespace, manifest.name) != (namespace, name):
            raise DatasetNotFound(f"version {uid} is not a version of {namespace}/{name}")
        with self._transaction(write=True) as database:
            database.execute(
                "INSERT OR REPLACE INTO tags (namespace, name, tag, uid, moved) "
                "VALUES (?, ?, ?, ?, ?)",
                (namespace, name, tag, uid, time.time()),
            )

    def remove_tag(self, namespace: str, name: str, tag: str) -> None:
        with self._transaction(write=True) as database:
            removed = database.execute(
                "DELETE FROM tags WHERE namespace = ? AND name = ? AND tag = ?",
                (namespace, name, tag),
            ).rowcount
        if not removed:
            raise _no_tag(namespace, name, tag, self.tags(namespace, name))

    # --- reading ------------------------------------------------------------------------

    def manifest(self, uid: str) -> Manifest:
        with self._transaction() as database:
            row = database.execute(
                "SELECT manifest FROM versions WHERE uid = ?", (check_uid(uid),)
            ).fetchone()
        if row is None:
            raise DatasetNotFound(f"no version {uid} in the catalog {self.location}")
        return Manifest.decode(bytes(row[0]), uid)

    def resolve(self, namespace: str, name: str, tag: str) -> str:
        with self._transaction() as database:
            row = database.execute(
                "SELECT uid FROM tags WHERE namespace = ? AND name = ? AND tag = ?",
                (namespace, name, tag),
            ).fetchone()
        if row is not None:
            return str(row[0])
        if not self.versions(namespace, name):
            raise _missing(namespace, name, self.location)
        raise _no_tag(namespace, name, tag, self.tags(namespace, name))

    def datasets(self) -> list[tuple[str, str]]:
        with self._transaction() as database:
            rows = database.execute(
                "SELECT DISTINCT namespace, name FROM versions ORDER BY namespace, name"
            ).fetchall()
        return [(str(namespace), str(name)) for namespace, name in rows]

    def versions(self, namespace: str, name: str) -> list[tuple[str, float]]:
        with self._transaction() as database:
            rows = database.execute(
                "SELECT uid, created FROM versions WHERE namespace = ? AND name = ? "
                "ORDER BY created, uid",
                (namespace, name),
            ).fetchall()
        return [(str(uid), float(created)) for uid, created in rows]

    def tags(self, namespace: str, name: str) -> dict[str, str]:
        with self._transaction() as database:
            rows = database.execute(
                "SELECT tag, uid FROM tags WHERE namespace = ? AND name = ? ORDER BY tag",
                (namespace, name),
            ).fetchall()
        return {str(tag): str(uid) for tag, uid in rows}


class ObjectStorage:
    """A catalog on an fsspec file system (``memory://``, ``s3://``, ...): objects written
    whole and never changed but tags; a version visible once its manifest exists."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        import fsspec

        self.location = url.rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.fs, self._root = fsspec.core.url_to_fs(self.location, **self.storage_options)
        self._protocol = url.split("://", 1)[0]

    def _key(self, *parts: str) -> str:
        return confined_key(self._root, *parts)

    def _dataset(self, namespace: str, name: str, *parts: str) -> str:
        return self._key("datasets", namespace, name, *parts)

    def store_url(self, namespace: str, name: str, store: str) -> str:
        return confined_key(self.location, "datasets", namespace, name, "stores", store)

    def open_store(self, url: str, *, write: bool = False) -> Any:
        from zarr.storage import FsspecStore

        return FsspecStore.from_url(
            url, storage_options=self.storage_options or None, read_only=not write
        )

    def _read(self, key: str) -> bytes | None:
        try:
            return bytes(self.fs.cat_file(key))
        except FileNotFoundError:
            return None

    def _write(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(key, data)  # one object, written whole

    # --- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def staged_store(self, namespace: str, name: str) -> Iterator[tuple[str, Any]]:
        """A new store, written in place: nothing names it until a manifest does."""
        store = new_store_name()
        yield store, self.open_store(self.store_url(namespace, name, store), write=True)

    def publish(self, manifest: Manifest, data: bytes, uid: str, tags: Sequence[str]) -> None:
        """The manifest, its uid's index entry, then each tag."""
        namespace, name = manifest.namespace, manifest.name
        self._write(self._dataset(namespace, name, "versions", uid), data)
        index = json.dumps({"namespace": namespace, "name": name}).encode()
        self._write(self._key("uids", uid), index)
        for tag in tags:
            self._write_tag(namespace, name, tag, uid)

    def _write_tag(self, namespace: str, name: str, tag: str, uid: str) -> None:
        entry = json.dumps({"uid": uid, "moved": time.time()}).encode()
        self._write(self._dataset(namespace, name, "tags", tag), entry)

    def move_tag(self, namespace: str, name: str, tag: str, uid: str) -> None:
        manifest = self.manifest(uid)
        if (manifest.namespace, manifest.name) != (namespace, name):
            raise DatasetNotFound(f"version {uid} is not a version of {namespace}/{name}")
        self._write_tag(namespace, name, tag, uid)

    def remove_tag(self, namespace: str, name: str, tag: str) -> None:
        key = self._dataset(namespace, name, "tags", tag)
        if not self.fs.exists(key):
            raise _no_tag(namespace, name, tag, self.tags(namespace, name))
        self.fs.rm_file(key)

    # --- reading ------------------------------------------------------------------------

    def manifest(self, uid: str) -> Manifest:
        index = self._read(self._key("uids", check_uid(uid)))
        if index is None:
            raise DatasetNotFound(f"no version {uid} in the catalog {self.location}")
        try:
            where = json.loads(index)
            namespace = check_name(where["namespace"], "namespace")
            name = check_name(where["name"], "name")
        except (ValueError, KeyError, TypeError) as error:
            if isinstance(error, InvalidName):
                raise
            raise CatalogError(f"the index entry of version {uid} is damaged") from None
        return self._manifest(namespace, name, uid)

    def _manifest(self, namespace: str, name: str, uid: str) -> Manifest:
        data = self._read(self._dataset(namespace, name, "versions", uid))
        if data is None:
            raise DatasetNotFound(f"no version {uid} of {namespace}/{name} in {self.location}")
        return Manifest.decode(data, uid)

    def resolve(self, namespace: str, name: str, tag: str) -> str:
        entry = self._read(self._dataset(namespace, name, "tags", tag))
        if entry is None:
            if not self.versions(namespace, name):
                raise _missing(namespace, name, self.location)
            raise _no_tag(namespace, name, tag, self.tags(namespace, name))
        try:
            return check_uid(json.loads(entry)["uid"])
        except (ValueError, KeyError, TypeError):
            raise CatalogError(f"tag {tag!r} of {namespace}/{name} is damaged") from None

    def _names(self, key: str) -> list[str]:
        try:
            found = self.fs.ls(key, detail=False)
        except FileNotFoundError:
            return []
        return sorted(str(path).rstrip("/").rsplit("/", 1)[-1] for path in found)

    def datasets(self) -> list[tuple[str, str]]:
        found = []
        for namespace in self._names(self._key("datasets")):
            for name in self._names(self._key("datasets", namespace)):
                if self.versions(namespace, name):
                    found.append((namespace, name))
        return found

    def versions(self, namespace: str, name: str) -> list[tuple[str, float]]:
        found = []
        for entry in self._names(self._dataset(namespace, name, "versions")):
            uid = entry
            with contextlib.suppress(InvalidName, DatasetNotFound, CatalogError):
                found.append((uid, self._manifest(namespace, name, check_uid(uid)).created))
        return sorted(found, key=lambda pair: (pair[1], pair[0]))

    def tags(self, namespace: str, name: str) -> dict[str, str]:
        found = {}
        for entry in self._names(self._dataset(namespace, name, "tags")):
            tag = entry
            with contextlib.suppress(InvalidName, CatalogError, DatasetNotFound):
                found[check_name(tag, "tag")] = self.resolve(namespace, name, tag)
        return found


Storage = FolderStorage | ObjectStorage


def open_storage(root: str | os.PathLike[str], storage_options: dict[str, Any] | None) -> Storage:
    """A folder (a path or ``file://``) or an fsspec URL."""
    text = os.fspath(root)
    if "://" in text:
        protocol, rest = text.split("://", 1)
        if protocol == "file":
            return FolderStorage(rest)
        return ObjectStorage(text, storage_options)
    return FolderStorage(text)


# --- files written whole -------------------------------------------------------------------


def write_file(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all: a temporary file beside it, synced, and
    renamed over it."""
    write_atomically(path, lambda file: file.write(data))


def _sync_tree(root: Path) -> None:
    """Every file under ``root`` on disk before the rename that makes it visible."""
    for folder, _, files in os.walk(root):
        for name in files:
            handle = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)
