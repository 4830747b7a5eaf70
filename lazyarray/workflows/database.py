"""The SQLite database of a folder registry: its schema, WAL mode, and one transaction
per state change.

Every transaction runs on a fresh connection (threads and processes share nothing but
the file); a writing one takes the write lock when it begins (``BEGIN IMMEDIATE``), so
what it reads stays true until it commits, and checks the schema's version first (another
process may have upgraded it). SQLite's own errors become ``RegistryError``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from lazyarray.errors import RegistryError

SCHEMA_VERSION = 1  # SQLite's user_version; 0 is a database not made yet
_BUSY_MS = 30_000  # how long a transaction waits for another's lock
_PREPARED: set[tuple[str, int]] = set()  # (file, inode) this process made ready

SCHEMA = [
    """CREATE TABLE workflows (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        labels TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    "CREATE INDEX workflows_by_owner ON workflows (owner)",
    """CREATE TABLE tags (
        workflow TEXT NOT NULL REFERENCES workflows (id),
        position INTEGER NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (workflow, position)
    )""",
    "CREATE INDEX tags_by_tag ON tags (tag)",
    # a deleted version keeps its row (``deleted`` set): its number is never reused
    """CREATE TABLE versions (
        workflow TEXT NOT NULL REFERENCES workflows (id),
        version TEXT NOT NULL,
        graph_digest TEXT NOT NULL,
        document TEXT NOT NULL,
        arguments TEXT NOT NULL,
        result TEXT NOT NULL,
        docstring TEXT NOT NULL,
        labels TEXT NOT NULL,
        created REAL NOT NULL,
        deleted REAL,
        PRIMARY KEY (workflow, version)
    )""",
]


class Database:
    """The registry database in ``path``; ``prepare()`` makes it ready once per process."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name  # the registry, as errors name it

    def _error(self, exc: sqlite3.Error) -> RegistryError:
        return RegistryError(f"registry {self.name}: {exc}")

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return connection

    @contextlib.contextmanager
    def transaction(
        self, write: bool = False, *, preparing: bool = False
    ) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            if not preparing:
                self._check_version(connection.execute("PRAGMA user_version").fetchone()[0])
            yield connection
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            with contextlib.suppress(sqlite3.Error):
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            connection.close()

    def prepare(self) -> None:
        """WAL mode and the tables, made by whoever comes first; a database this process
        prepared already (the same file) is not prepared again."""
        if self._identity() in _PREPARED:
            return
        connection = self._connect()
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")  # kept by the file
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            connection.close()
        with self.transaction(preparing=True) as connection:
            found = connection.execute("PRAGMA user_version").fetchone()[0]
        if found == 0:
            with self.transaction(write=True, preparing=True) as connection:
                if connection.execute("PRAGMA user_version").fetchone()[0] == 0:
                    for statement in SCHEMA:
                        connection.execute(statement)
                    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        else:
            self._check_version(found)
        identity = self._identity()
        if identity is not None:
            _PREPARED.add(identity)

    def _identity(self) -> tuple[str, int] | None:
        try:
            return (str(self.path), self.path.stat().st_ino)
        except OSError:
            return None

    def _check_version(self, found: int) -> None:
        if found > SCHEMA_VERSION:
            raise RegistryError(
                f"registry {self.name} was written by a newer lazyarray (schema {found}; "
                f"this one knows {SCHEMA_VERSION}): upgrade lazyarray"
            )
        if found != SCHEMA_VERSION:
            raise RegistryError(f"registry {self.name} has no tables (schema {found})")
