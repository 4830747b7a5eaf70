"""``LocalRegistry``: a registry in a folder.

``registry.sqlite`` holds the records (``database.py``: SQLite in WAL mode, readers
never wait for a writer; every change is one transaction, and a publish takes the write
lock before it reads, so two processes publishing one version are serialized and exactly
one creates it). ``blobs/`` holds graph documents and their large literals by content digest
(``FolderBlobs``: written to a temporary file, synced, renamed; verified when read).
A document's bytes are stored before the transaction that names them commits, so a
record never names a missing document. A folder on a network file system is not
supported: SQLite's WAL needs shared memory on one machine.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from lazyarray import serialize
from lazyarray.errors import (
    InvalidMetadata,
    RegistryError,
    RegistryNotFound,
    VersionConflict,
    VersionNotFound,
    WorkflowNotFound,
)
from lazyarray.graph import canonical_json
from lazyarray.stores.blobs import FolderBlobs
from lazyarray.stores.names import check_workflow_id, confined
from lazyarray.workflows import metadata, versions
from lazyarray.workflows.database import Database
from lazyarray.workflows.registry import (
    Argument,
    Publication,
    VersionRecord,
    WorkflowRecord,
    conflict,
    deleted,
)

DATABASE = "registry.sqlite"
BLOBS = "blobs"
# what a folder holding a registry holds, and nothing else when it is created
_OWN = frozenset({DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal", BLOBS})

_VERSION_COLUMNS = (
    "workflow, version, graph_digest, document, arguments, result, docstring, labels, created"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def _workflow_labels(value: Any) -> str:
    return _dumps(metadata.labels(value))


def _version_labels(value: Any) -> str:
    return _dumps(metadata.labels(value, "version labels"))


class LocalRegistry:
    """A registry in the folder ``root`` (``create``: make it if missing)."""

    def __init__(self, root: str | Path, *, create: bool = False) -> None:
        self.root = Path(root).expanduser().resolve()
        self.location = str(self.root)
        database = confined(self.root, DATABASE)
        if not database.exists():
            if not create:
                self._missing()
            self._create()
        self.blobs = FolderBlobs(confined(self.root, BLOBS))
        self._database = Database(database, self.location)
        self._database.prepare()

    def __repr__(self) -> str:
        return f"LocalRegistry({self.location!r})"

    # --- the folder and its database -----------------------------------------------------

    def _missing(self) -> NoReturn:
        raise RegistryNotFound(
            f"no registry in {self.location} (no {DATABASE}); publishing a workflow there "
            "creates one"
        )

    def _create(self) -> None:
        if self.root.is_dir():
            foreign = sorted(path.name for path in self.root.iterdir() if path.name not in _OWN)
            if foreign:
                raise RegistryNotFound(
                    f"{self.location} is not empty and holds no registry (it holds "
                    f"{', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}); "
                    "give an empty or a new folder"
                )
        elif self.root.exists():
            raise RegistryNotFound(f"{self.location} is a file, not a registry's folder")
        self.root.mkdir(parents=True, exist_ok=True)

    # --- reading records -----------------------------------------------------------------

    def _workflow(self, database: sqlite3.Connection, id: str) -> WorkflowRecord:
        row = database.execute(
            "SELECT id, title, description, labels, created, updated FROM workflows WHERE id = ?",
            (id,),
        ).fetchone()
        if row is None:
            raise WorkflowNotFound(f"no workflow {id!r} in the registry {self.location}")
        return self._workflow_record(row, self._tags(database, [id])[id])

    @staticmethod
    def _tags(database: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {workflow: [] for workflow in ids}
        for start in range(0, len(ids), 500):  # SQLite bounds the variables of a query
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for workflow, tag in database.execute(
                f"SELECT workflow, tag FROM tags WHERE workflow IN ({marks}) "
                "ORDER BY workflow, position",
                part,
            ):
                found[workflow].append(tag)
        return {workflow: tuple(tags) for workflow, tags in found.items()}

    @staticmethod
    def _workflow_record(row: tuple[Any, ...], tags: tuple[str, ...]) -> WorkflowRecord:
        workflow, title, description, labels, created, updated = row
        return WorkflowRecord(
            workflow, title, description, json.loads(labels), tags, created, updated
        )

    @staticmethod
    def _version_record(row: tuple[Any, ...]) -> VersionRecord:
        workflow, version, digest, document, arguments, result, docstring, labels, created = row
        return VersionRecord(
            id=workflow,
            version=version,
            graph_digest=digest,
            document=document,
            arguments=tuple(Argument.from_dict(item) for item in json.loads(arguments)),
            result=json.loads(result),
            docstring=docstring,
            labels=json.loads(labels),
            created=created,
        )

    def _version(self, database: sqlite3.Connection, id: str, version: str) -> VersionRecord:
        row = database.execute(
            f"SELECT {_VERSION_COLUMNS}, deleted FROM versions WHERE workflow = ? AND version = ?",
            (id, version),
        ).fetchone()
        if row is not None and row[-1] is None:
            return self._version_record(row[:-1])
        self._workflow(database, id)  # WorkflowNotFound first
        if row is not None:
            raise VersionNotFound(f"version {version} of {id} was deleted")  # for good
        known = [
            found
            for (found,) in database.execute(
                "SELECT version FROM versions WHERE workflow = ? AND deleted IS NULL", (id,)
            )
        ]
        listed = ", ".join(versions.ordered(known)) if known else "none"
        raise VersionNotFound(f"{id} has no version {version} (its versions: {listed})")

    def get_workflow(self, id: str) -> WorkflowRecord:
        check_workflow_id(id)
        with self._database.transaction() as database:
            return self._workflow(database, id)

    def list_workflows(
        self, owner: str | None = None, tag: str | None = None
    ) -> list[WorkflowRecord]:
        query = "SELECT id, title, description, labels, created, updated FROM workflows"
        conditions, values = [], []
        if owner is not None:
            conditions.append("owner = ?")
            values.append(owner)
        if tag is not None:
            conditions.append("id IN (SELECT workflow FROM tags WHERE tag = ?)")
            values.append(tag)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        with self._database.transaction() as database:
            rows = database.execute(query + " ORDER BY id", values).fetchall()
            tags = self._tags(database, [row[0] for row in rows])
        return [self._workflow_record(row, tags[row[0]]) for row in rows]

    def list_versions(self, id: str) -> list[VersionRecord]:
        check_workflow_id(id)
        with self._database.transaction() as database:
            self._workflow(database, id)
            rows = database.execute(
                f"SELECT {_VERSION_COLUMNS} FROM versions WHERE workflow = ? AND deleted IS NULL",
                (id,),
            ).fetchall()
        return [self._version_record(row) for row in rows]

    def get_version(self, id: str, version: str) -> VersionRecord:
        check_workflow_id(id)
        versions.check(version)
        with self._database.transaction() as database:
            return self._version(database, id, version)

    def read_document(self, record: VersionRecord) -> dict[str, Any]:
        try:
            data = self.blobs.get(record.document)
        except KeyError:
            raise RegistryError(
                f"the document of {record.id} {record.version} ({record.document}) is missing "
                f"from the registry {self.location}"
            ) from None
        return serialize.loads(data)  # type: ignore[no-any-return]

    # --- changing records ----------------------------------------------------------------

    def publish(self, publication: Publication) -> tuple[VersionRecord, bool]:
        id = check_workflow_id(publication.id)  # noqa: A001 - the records' name
        version = versions.check(publication.version)
        docstring = metadata.docstring(publication.docstring)
        version_labels = metadata.labels(publication.version_labels, "version labels")
        title = metadata.title(publication.title or "")
        description = metadata.description(publication.description or "")
        labels = metadata.labels(publication.labels)
        tags = metadata.tags(publication.tags)
        text = canonical_json(publication.document).encode()
        document = self.blobs.put(text)  # before the record that names it
        arguments = [argument.to_dict() for argument in publication.arguments]
        now = time.time()
        with self._database.transaction(write=True) as database:
            row = database.execute(
                "SELECT graph_digest, arguments, deleted FROM versions "
                "WHERE workflow = ? AND version = ?",
                (id, version),
            ).fetchone()
            if row is not None:
                _check_same(publication, row)
                return self._version(database, id, version), False
            exists = database.execute("SELECT 1 FROM workflows WHERE id = ?", (id,)).fetchone()
            if exists is None:
                database.execute(
                    "INSERT INTO workflows VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (id, id.partition(":")[0], title, description, _dumps(labels), now, now),
                )
                self._set_tags(database, id, tags)
            else:
                given = {"title": title, "description": description, "labels": labels,
                         "tags": tags}  # fmt: skip
                changes = {name: value for name, value in given.items() if value}
                if changes:
                    self._update_workflow(database, id, changes, now)
            database.execute(
                "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (id, version, publication.graph_digest, document, _dumps(arguments),
                 _dumps(dict(publication.result)), docstring, _dumps(version_labels), now),
            )  # fmt: skip
            return self._version(database, id, version), True

    @staticmethod
    def _set_tags(database: sqlite3.Connection, id: str, tags: tuple[str, ...]) -> None:
        database.execute("DELETE FROM tags WHERE workflow = ?", (id,))
        database.executemany(
            "INSERT INTO tags VALUES (?, ?, ?)", [(id, i, tag) for i, tag in enumerate(tags)]
        )

    def _update_workflow(
        self, database: sqlite3.Connection, id: str, changes: Mapping[str, Any], now: float
    ) -> None:
        checks: dict[str, Callable[[Any], str]] = {
            "title": metadata.title,
            "description": metadata.description,
            "labels": _workflow_labels,
        }
        for name, value in changes.items():
            if name == "tags":
                self._set_tags(database, id, metadata.tags(value))
            elif name in checks:
                database.execute(
                    f"UPDATE workflows SET {name} = ? WHERE id = ?", (checks[name](value), id)
                )
            else:
                raise InvalidMetadata(f"a workflow has no field {name!r} to change")
        database.execute("UPDATE workflows SET updated = ? WHERE id = ?", (now, id))

    def update_workflow(self, id: str, changes: Mapping[str, Any]) -> WorkflowRecord:
        check_workflow_id(id)
        with self._database.transaction(write=True) as database:
            self._workflow(database, id)
            self._update_workflow(database, id, changes, time.time())
            return self._workflow(database, id)

    def update_version(self, id: str, version: str, changes: Mapping[str, Any]) -> VersionRecord:
        check_workflow_id(id)
        versions.check(version)
        checks: dict[str, Callable[[Any], str]] = {
            "docstring": metadata.docstring,
            "labels": _version_labels,
        }
        with self._database.transaction(write=True) as database:
            self._version(database, id, version)
            for name, value in changes.items():
                if name not in checks:
                    raise InvalidMetadata(f"a version has no field {name!r} to change")
                database.execute(
                    f"UPDATE versions SET {name} = ? WHERE workflow = ? AND version = ?",
                    (checks[name](value), id, version),
                )
            return self._version(database, id, version)

    def delete_version(self, id: str, version: str) -> None:
        check_workflow_id(id)
        versions.check(version)
        with self._database.transaction(write=True) as database:
            self._version(database, id, version)
            database.execute(
                "UPDATE versions SET deleted = ? WHERE workflow = ? AND version = ?",
                (time.time(), id, version),
            )


def _check_same(publication: Publication, row: tuple[Any, ...]) -> None:
    """Publishing a stored version again is a no-op only with the same graph and the same
    arguments; a deleted version's number is never reused."""
    digest, arguments, removed = row
    if removed is not None:
        raise VersionConflict(deleted(publication.id, publication.version))
    stored = tuple(Argument.from_dict(item) for item in json.loads(arguments))
    problem = conflict(digest, stored, publication)
    if problem is not None:
        raise VersionConflict(problem)
