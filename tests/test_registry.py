"""The registry as a store: the ``Registry`` interface (a suite run over every
implementation), ``LocalRegistry``'s SQLite in WAL mode with one transaction per change,
races between processes (exactly one publisher of a version wins), and damaged bytes
that raise instead of returning bad data."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.errors import (
    CorruptBlob,
    InvalidName,
    RegistryError,
    VersionConflict,
    VersionNotFound,
    WorkflowNotFound,
)
from lazyarray.workflows import (
    Argument,
    LocalRegistry,
    Publication,
    Registry,
    open_registry,
)

X = la.parameter("x", la.Array, dtype="float64")
ID = "alice:scale"

# every implementation of the interface runs the same suite (a server's joins it)
IMPLEMENTATIONS: dict[str, Callable[[Path], Registry]] = {
    "local": lambda root: LocalRegistry(root, create=True),
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Registry:
    return IMPLEMENTATIONS[request.param](tmp_path / "registry")


def publication(store: Registry, expression: Any, version: str = "1.0.0", **fields: Any) -> Any:
    values: dict[str, Any] = {
        "id": ID,
        "version": version,
        "document": serialize.to_dict(expression, blobs=store.blobs),
        "graph_digest": expression.node.digest,
        "arguments": (Argument("x", "<f8", (None,), False, True),),
        "result": {"dtype": "<f8", "shape": [None], "masked": False},
        "docstring": "",
        "version_labels": {},
        "title": None,
        "description": None,
        "labels": None,
        "tags": None,
    }
    return Publication(**(values | fields))


# --- the interface -----------------------------------------------------------------------------


def test_an_implementation_is_a_registry(store: Registry) -> None:
    assert isinstance(store, Registry)
    assert open_registry(store) is store


def test_publish_creates_once_and_reads_back(store: Registry) -> None:
    record, created = store.publish(publication(store, X * 2.0, title="Scale", tags=("a",)))
    assert created
    again, created_again = store.publish(publication(store, X * 2.0))
    assert (again, created_again) == (record, False)
    assert store.get_version(ID, "1.0.0") == record
    assert store.list_versions(ID) == [record]
    workflow = store.get_workflow(ID)
    assert (workflow.id, workflow.title, workflow.tags) == (ID, "Scale", ("a",))
    document = store.read_document(record)
    assert serialize.graph_digest(document) == record.graph_digest
    assert serialize.from_dict(document, blobs=store.blobs).node is (X * 2.0).node


def test_conflicts_and_deletions_through_the_interface(store: Registry) -> None:
    store.publish(publication(store, X * 2.0))
    with pytest.raises(VersionConflict, match="another graph"):
        store.publish(publication(store, X * 3.0))
    store.delete_version(ID, "1.0.0")
    assert store.list_versions(ID) == []
    with pytest.raises(VersionNotFound, match="was deleted"):
        store.get_version(ID, "1.0.0")
    with pytest.raises(VersionConflict, match="deleted"):
        store.publish(publication(store, X * 2.0))
    with pytest.raises(WorkflowNotFound):
        store.get_workflow("alice:other")
    with pytest.raises(WorkflowNotFound):
        store.list_versions("alice:other")


def test_updates_through_the_interface(store: Registry) -> None:
    store.publish(publication(store, X * 2.0))
    updated = store.update_workflow(ID, {"title": "T", "labels": {"k": 1}, "tags": ["b", "a"]})
    assert (updated.title, updated.labels, updated.tags) == ("T", {"k": 1}, ("b", "a"))
    version = store.update_version(ID, "1.0.0", {"docstring": "D", "labels": {"r": True}})
    assert (version.docstring, version.labels) == ("D", {"r": True})
    assert store.list_workflows(tag="a") == [updated]


def test_records_travel_as_json(store: Registry) -> None:
    sent = publication(store, X * 2.0, title="T", tags=("a", "b"), labels={"k": 1.5})
    assert type(sent).from_dict(json.loads(json.dumps(sent.to_dict()))) == sent
    version, _ = store.publish(sent)
    assert type(version).from_dict(json.loads(json.dumps(version.to_dict()))) == version
    workflow = store.get_workflow(ID)
    assert type(workflow).from_dict(json.loads(json.dumps(workflow.to_dict()))) == workflow


def test_ids_are_checked_where_they_meet_storage(store: Registry) -> None:
    with pytest.raises(InvalidName):
        store.get_workflow("../../etc:passwd")
    with pytest.raises(InvalidName):
        store.publish(publication(store, X * 2.0, id="alice:../../x"))


# --- LocalRegistry: the database ---------------------------------------------------------------


def _database(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / "registry.sqlite")


def test_the_database_is_in_wal_mode_with_its_schema_version(tmp_path: Path) -> None:
    LocalRegistry(tmp_path, create=True)
    database = _database(tmp_path)
    assert database.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    assert {"workflows", "versions", "tags"} <= tables


def test_a_registry_of_a_newer_lazyarray_is_refused(tmp_path: Path) -> None:
    store = LocalRegistry(tmp_path, create=True)
    LocalRegistry(tmp_path)  # prepared in this process: later opens skip preparing
    database = _database(tmp_path)
    database.execute("PRAGMA user_version = 99")  # another process upgraded it
    database.commit()
    database.close()
    with pytest.raises(RegistryError, match="newer lazyarray"):
        LocalRegistry(tmp_path).list_workflows()
    with pytest.raises(RegistryError, match="newer lazyarray"):
        store.publish(publication(store, X * 2.0))


def test_a_damaged_database_raises_a_registry_error(tmp_path: Path) -> None:
    (tmp_path / "registry.sqlite").write_bytes(b"not a database" * 1000)
    with pytest.raises(RegistryError, match="registry"):
        la.workflows.list(registry=tmp_path)


def test_a_failed_publish_leaves_nothing_behind(tmp_path: Path) -> None:
    store = LocalRegistry(tmp_path, create=True)
    bad = publication(store, X * 2.0, version_labels={"a": object()})
    with pytest.raises(la.errors.InvalidMetadata):
        store.publish(bad)
    assert store.list_workflows() == []


def test_readers_see_whole_changes_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    store = LocalRegistry(tmp_path, create=True)
    store.publish(publication(store, X * 2.0))
    writer = _database(tmp_path)
    writer.isolation_level = None
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE workflows SET title = 'half-done'")
    assert store.get_workflow(ID).title == ""  # WAL: a reader is not blocked
    writer.execute("ROLLBACK")
    writer.close()


def test_threads_publishing_one_version_create_it_once(tmp_path: Path) -> None:
    store = LocalRegistry(tmp_path, create=True)
    outcomes: list[Any] = []
    barrier = threading.Barrier(6)

    def publish(factor: float) -> None:
        entry = publication(store, X * factor)
        barrier.wait()
        try:
            outcomes.append(store.publish(entry)[1])
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=publish, args=(f,)) for f in (2.0, 2.0, 2.0, 3, 4, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 1
    winner = store.get_version(ID, "1.0.0").graph_digest
    same = winner == (X * 2.0).node.digest
    assert outcomes.count(False) == (2 if same else 0)
    assert outcomes.count("conflict") == (3 if same else 5)


# --- races between processes ---------------------------------------------------------------------

RACER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import lazyarray as la
    root, factor, flags = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
    x = la.parameter("x", la.Array, dtype="float64")
    expression = x * factor
    expression.node.digest  # ready to go: only the publish races
    (flags / f"ready-{sys.argv[4]}").touch()
    while not (flags / "go").exists():
        time.sleep(0.001)
    try:
        expression.publish("alice:race", "1.0.0", parameters=["x"], registry=root)
        print(json.dumps({"won": True, "digest": expression.node.digest}))
    except la.errors.VersionConflict as exc:
        print(json.dumps({"won": False, "error": str(exc)}))
    """
)


def _race(root: Path, factors: list[float], flags: Path) -> list[dict[str, Any]]:
    flags.mkdir()
    LocalRegistry(root, create=True)  # racing the publish, not the creation
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(root), str(factor), str(flags), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, factor in enumerate(factors)
    ]
    deadline = time.monotonic() + 120
    while len(list(flags.glob("ready-*"))) < len(racers):
        assert time.monotonic() < deadline, "racers did not start"
        assert all(racer.poll() is None for racer in racers), racers[0].communicate()
        time.sleep(0.01)
    (flags / "go").touch()
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_processes_racing_with_different_graphs_have_one_winner(tmp_path: Path) -> None:
    results = _race(tmp_path / "registry", [2.0, 3.0, 4.0, 5.0], tmp_path / "flags")
    winners = [result for result in results if result["won"]]
    assert len(winners) == 1
    assert all("another graph" in r["error"] for r in results if not r["won"])
    stored = la.Workflow.get("alice:race", registry=tmp_path / "registry").get_version("1.0.0")
    assert stored.graph_digest == winners[0]["digest"]


def test_processes_racing_with_the_same_graph_all_succeed_once(tmp_path: Path) -> None:
    results = _race(tmp_path / "registry", [2.0, 2.0, 2.0], tmp_path / "flags")
    assert all(result["won"] for result in results)
    workflow = la.Workflow.get("alice:race", registry=tmp_path / "registry")
    assert [v.version for v in workflow.versions] == ["1.0.0"]


def test_processes_creating_one_registry_at_once(tmp_path: Path) -> None:
    code = (
        "import sys, lazyarray as la\n"
        "x = la.parameter('x', la.Array, dtype='float64')\n"
        "name = f'alice:w{sys.argv[2][0]}'\n"
        "(x * float(sys.argv[2])).publish(name, '1.0.0', registry=sys.argv[1])\n"
    )
    root = tmp_path / "new"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(root), f"{i}.0"], stderr=subprocess.PIPE, text=True
        )
        for i in range(1, 5)
    ]
    for racer in racers:
        _, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
    assert [w.id for w in la.workflows.list(registry=root)] == [f"alice:w{i}" for i in range(1, 5)]


# --- damaged bytes raise, never return bad data -----------------------------------------------


def _blob(root: Path, digest: str) -> Path:
    hexdigits = digest.removeprefix("sha256:")
    return root / "blobs" / "sha256" / hexdigits[:2] / hexdigits[2:]


def _damage(path: Path, at: int = -10) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_corrupt_document_raises(tmp_path: Path) -> None:
    (X * 2.0).publish(ID, "1.0.0", registry=tmp_path)
    record = LocalRegistry(tmp_path).get_version(ID, "1.0.0")
    _damage(_blob(tmp_path, record.document))
    with pytest.raises(CorruptBlob, match="does not match its contents"):
        la.use(ID, registry=tmp_path)


def test_a_corrupt_literal_raises(tmp_path: Path) -> None:
    weights = np.arange(100_000.0)
    weights.flags.writeable = False
    (X * la.Array(weights)).publish(ID, "1.0.0", registry=tmp_path)
    store = LocalRegistry(tmp_path)
    document = store.read_document(store.get_version(ID, "1.0.0"))
    [literal] = serialize.blob_references(document)
    _damage(_blob(tmp_path, literal), at=-8)
    with pytest.raises(CorruptBlob, match=f"{ID} 1.0.0: blob {literal}"):
        la.use(ID, registry=tmp_path)


def test_a_missing_document_raises(tmp_path: Path) -> None:
    (X * 2.0).publish(ID, "1.0.0", registry=tmp_path)
    record = LocalRegistry(tmp_path).get_version(ID, "1.0.0")
    _blob(tmp_path, record.document).unlink()
    with pytest.raises(RegistryError, match="is missing"):
        la.use(ID, registry=tmp_path)


def test_a_document_that_does_not_hold_the_published_graph_raises(tmp_path: Path) -> None:
    (X * 2.0).publish(ID, "1.0.0", registry=tmp_path)
    store = LocalRegistry(tmp_path)
    other = store.blobs.put(serialize.to_json(X * 3.0).encode())
    database = _database(tmp_path)
    database.execute("UPDATE versions SET document = ?", (other,))
    database.commit()
    database.close()
    with pytest.raises(RegistryError, match="not the one published"):
        la.use(ID, registry=tmp_path)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_registry_whose_blobs_lead_outside_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    LocalRegistry(root, create=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "blobs").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidName, match="leads outside"):
        LocalRegistry(root)
