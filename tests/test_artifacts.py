"""Artifact repositories: handlers round-trip, versions, dirty tracking, expiry, prune,
trust, names; on a local folder, on memory:// and on file:// (an fsspec store)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.artifacts import Artifact, Repository, get_handler, infer_handler, is_unsafe
from lazyarray.artifacts.storage import FsspecStorage, LocalStorage
from lazyarray.errors import (
    ArtifactError,
    ArtifactExpired,
    ArtifactNotFound,
    HandlerNotFound,
    InvalidName,
    UntrustedArtifact,
)

pa = pytest.importorskip("pyarrow")
pytest.importorskip("zarr")
pytest.importorskip("fsspec")

_memory = itertools.count()


@pytest.fixture(params=["folder", "memory", "fsspec-file"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Repository:
    if request.param == "folder":
        return Repository(tmp_path / "repo")
    if request.param == "memory":
        return Repository(f"memory://artifacts-test-{os.getpid()}-{next(_memory)}")
    return Repository(f"file://{tmp_path}/repo")


def roundtrip(repo: Repository, value: Any, handler: str | None = None, **kwargs: Any) -> Any:
    repo.log_artifact("thing", value, handler=handler, **kwargs)
    repo.save()
    return repo.load_artifact("thing")


def test_json_round_trip(repo: Repository) -> None:
    value = {
        "auc": 0.91,
        "labels": ["a", "b"],
        "nested": {"n": None, "ok": True},
        "ünïcode ✓": "日本",
        "big": 2**70,
        "empty": [],
    }
    assert roundtrip(repo, value) == value
    assert repo.artifacts()[0]["handler"] == "json"


@pytest.mark.parametrize(
    "value",
    [
        np.arange(12, dtype=np.int16).reshape(3, 4),
        np.array([np.nan, -0.0, np.inf], dtype=np.float32),
        np.array(["ab", "c"]),
        np.zeros((0, 3)),
        np.float64(2.5),
        np.array([1 + 2j]),
        np.arange(6).reshape(2, 3).T,  # not contiguous
        np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    ],
    ids=["int16", "float-specials", "str", "empty", "scalar", "complex", "strided", "record"],
)
def test_numpy_round_trip(repo: Repository, value: Any) -> None:
    back = roundtrip(repo, value)
    assert back.dtype == value.dtype and back.shape == np.shape(value)
    np.testing.assert_array_equal(back, value)
    assert repo.get_artifact("thing").fname == "thing.npy"


def test_masked_round_trip(repo: Repository) -> None:
    value = np.ma.masked_array([1.5, 2.0, 3.0], mask=[False, True, False], fill_value=-9.0)
    back = roundtrip(repo, value)
    assert isinstance(back, np.ma.MaskedArray)
    np.testing.assert_array_equal(back.mask, value.mask)
    np.testing.assert_array_equal(back.data, value.data)  # masked data kept as written
    assert back.fill_value == -9.0 and back.dtype == value.dtype
    assert repo.get_artifact("thing").fname == "thing.npz"


def test_dict_of_arrays_is_npz(repo: Repository) -> None:
    back = roundtrip(repo, {"a": np.arange(3), "b": np.ones(2)}, handler="numpy")
    assert set(back) == {"a", "b"}
    np.testing.assert_array_equal(back["a"], np.arange(3))


def test_pickle_round_trip_and_trust(repo: Repository) -> None:
    offset = 3
    back = roundtrip(repo, lambda x: x + offset, handler="pickle")  # cloudpickle: a lambda
    assert back(1) == 4
    assert is_unsafe("pickle") and not is_unsafe("numpy")
    untrusted = Repository(repo.root, trusted=False)
    if repo.root.startswith("memory://"):
        untrusted = repo
        untrusted.trusted = False
    with pytest.raises(UntrustedArtifact, match="pickle"):
        untrusted.load_artifact("thing")


def test_arrow_and_parquet_round_trip(repo: Repository) -> None:
    table = pa.table({"a": [1, 2, None], "b": ["x", "y", "z"]})
    assert roundtrip(repo, table).equals(table)
    masked = {"v": np.ma.masked_array([1.0, 2.0], mask=[True, False])}
    repo.log_artifact("pq", masked, handler="parquet", compression="zstd")
    repo.save()
    assert repo.load_artifact("pq").to_pydict() == {"v": [None, 2.0]}
    assert repo.get_artifact("pq").writer_kwargs == {"compression": "zstd"}


def test_zarr_round_trip(repo: Repository) -> None:
    value = np.arange(1000, dtype=np.float32).reshape(10, 100)
    back = roundtrip(repo, value, handler="zarr", chunks=(5, 50))
    assert back.shape == value.shape and back.chunks == (5, 50)
    np.testing.assert_array_equal(back[...], value)
    with pytest.raises(Exception):  # noqa: B017, PT011 - zarr's own read-only error
        back[0, 0] = 1.0


@pytest.mark.parametrize(
    ("value", "handler", "match"),
    [
        ({1, 2}, "json", "json"),
        ({"a": np.arange(2)}, "json", "json"),
        (np.array([object()]), "numpy", "object arrays"),
        ("text", "numpy", "numpy arrays"),
        (np.ma.masked_array([1]), "zarr", "masks"),
        ([1, 2], "arrow", "Arrow table"),
        ({"a": np.ones((2, 2))}, "parquet", "dimensions"),
    ],
)
def test_bad_values_fail_when_logged(value: Any, handler: str, match: str, tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    with pytest.raises(ArtifactError, match=match):
        repo.log_artifact("x", value, handler=handler)
    assert repo.artifacts() == []


def test_handlers_found_by_alias_or_inferred() -> None:
    assert get_handler("json").alias == "json"
    assert infer_handler(np.ones(2)).alias == "numpy"
    assert infer_handler(pa.table({"a": [1]})).alias == "arrow"
    assert infer_handler({"a": 1}).alias == "json"
    with pytest.raises(HandlerNotFound, match="pickle"):
        infer_handler(object())  # pickle is never inferred
    with pytest.raises(HandlerNotFound, match="no artifact handler 'tiff'"):
        get_handler("tiff")
    for alias in ("json", "numpy", "pickle", "arrow", "parquet", "zarr"):
        handler = get_handler(alias)
        assert {"alias", "suffix", "binary", "output_only"} <= set(dir(handler))
        assert handler.alias == alias


def test_corrupt_bytes_are_typed_errors(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    for name, value in [("j", {"a": 1}), ("n", np.ones(3))]:
        repo.log_artifact(name, value)
    repo.save()
    (tmp_path / "j" / "v1" / "j.json").write_text("{not json")
    with pytest.raises(ArtifactError):
        repo.load_artifact("j")
    (tmp_path / "n" / "v1" / "n.npy").write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="damaged"):
        repo.load_artifact("n")


def test_versions_dirty_and_save(repo: Repository) -> None:
    first = repo.log_artifact("m", {"v": 1})
    second = repo.log_artifact("m", {"v": 2})
    assert (first.version, second.version) == (1, 2)
    rows = repo.artifacts()
    assert [(r["version"], r["dirty"]) for r in rows] == [(1, True), (2, True)]
    assert set(rows[0]) >= {"name", "version", "handler", "created_at", "expiry", "dirty"}
    with pytest.raises(ArtifactNotFound):
        repo.load_artifact("m")  # nothing committed yet
    assert repo.load_artifact("m", 2) == {"v": 2}  # a dirty version, as logged
    repo.save()
    assert [(r["version"], r["dirty"]) for r in repo.artifacts()] == [(1, False), (2, False)]
    assert repo.load_artifact("m") == {"v": 2}
    assert repo.load_artifact("m", version=1) == {"v": 1}
    assert repo.save() == []  # nothing dirty
    third = repo.log_artifact("m", {"v": 3})
    assert third.version == 3
    with pytest.raises(ArtifactNotFound, match="versions: 1, 2"):
        repo.load_artifact("m", version=7)


def test_versions_are_never_overwritten(tmp_path: Path) -> None:
    """Two repositories on one folder: the second writer takes the next number."""
    one, two = Repository(tmp_path), Repository(tmp_path)
    one.log_artifact("m", {"by": "one"})
    two.log_artifact("m", {"by": "two"})  # both think version 1
    one.save()
    [saved] = two.save()
    assert saved.version == 2
    assert one.load_artifact("m", 1) == {"by": "one"}
    assert one.load_artifact("m") == {"by": "two"}


def test_expiry_and_prune(repo: Repository) -> None:
    repo.log_artifact("e", {"v": 1})
    repo.log_artifact("e", {"v": 2}, expiry=dt.timedelta(seconds=-1))
    repo.log_artifact("f", {"v": 1}, expiry=dt.datetime(2999, 1, 1))  # naive: UTC
    repo.save()
    with pytest.raises(ArtifactExpired, match="expired"):
        repo.load_artifact("e")
    assert repo.load_artifact("e", 1) == {"v": 1}
    expiry = repo.artifacts()[-1]["expiry"]
    assert expiry == dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    assert repo.prune() == [("e", 2)]
    assert [(r["name"], r["version"]) for r in repo.artifacts()] == [("e", 1), ("f", 1)]
    assert repo.load_artifact("e") == {"v": 1}
    with pytest.raises(ArtifactError, match="expiry"):
        repo.log_artifact("e", 1, expiry="tomorrow")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "UPPER", "..", "con", "x\x00"])
def test_names_cannot_escape_the_root(name: str, tmp_path: Path) -> None:
    repo = Repository(tmp_path / "repo")
    with pytest.raises(InvalidName):
        repo.log_artifact(name, {"v": 1})
    with pytest.raises(InvalidName):
        repo.load_artifact(name)
    with pytest.raises(InvalidName):
        repo.destination(name)
    assert not (tmp_path / "escape").exists()


def test_la_artifacts_is_the_package(tmp_path: Path) -> None:
    assert la.artifacts.Repository is Repository


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    class Unpicklable:
        def __reduce__(self) -> Any:
            raise TypeError("no")

    repo = Repository(tmp_path)
    repo.log_artifact("p", Unpicklable(), handler="pickle")
    with pytest.raises(ArtifactError, match="pickle"):
        repo.save()
    assert [r["dirty"] for r in repo.artifacts()] == [True]  # still to be saved
    assert sorted(os.listdir(tmp_path / "p")) == []  # no temporary left behind


@dataclasses.dataclass
class UpperArtifact(Artifact):
    """A third-party handler: text stored upper-cased."""

    alias = "upper"
    suffix = "txt"
    binary = False

    @classmethod
    def read(cls, buf: Any, **kwargs: Any) -> Any:
        return buf.read().lower()

    @classmethod
    def write(cls, obj: Any, buf: Any, **kwargs: Any) -> None:
        buf.write(obj.upper())


def test_third_party_handler_through_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import EntryPoint

    from lazyarray.artifacts import handlers

    point = EntryPoint("upper", f"{__name__}:UpperArtifact", handlers.ENTRY_POINT_GROUP)
    broken = EntryPoint("broken", "no_such_module_xyz:Nothing", handlers.ENTRY_POINT_GROUP)
    monkeypatch.setattr(handlers, "_entry_points", lambda: {"upper": point, "broken": broken})
    handlers.get_handler.cache_clear()
    try:
        repo = Repository(tmp_path)
        assert roundtrip(repo, "shout", handler="upper") == "shout"
        assert (tmp_path / "thing" / "v1" / "thing.txt").read_text() == "SHOUT"
        assert "upper" in handlers.available_handlers()
        with pytest.raises(HandlerNotFound, match="cannot load"):
            repo.log_artifact("x", 1, handler="broken")
    finally:
        handlers.get_handler.cache_clear()


def test_writer_keywords_a_format_refuses(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    with pytest.raises(ArtifactError, match=r"'numpy' does not take the writer keywords colour"):
        repo.log_artifact("n", np.ones(3), colour="red")
    with pytest.raises(ArtifactError, match="name its handler"):
        repo.destination("n", chunks=(10,))


def test_a_zarr_version_missing_a_chunk_is_damaged(repo: Repository) -> None:
    repo.log_artifact("z", np.arange(100.0), handler="zarr", chunks=(10,))
    repo.save()
    storage = repo.storage
    if isinstance(storage, LocalStorage):
        os.remove(Path(storage.root, "z", "v1", "z.zarr", "c", "3"))
    else:
        assert isinstance(storage, FsspecStorage)
        storage.fs.rm_file(storage.path("z", "v1", "z.zarr", "c", "3"))
    with pytest.raises(ArtifactError, match=r"damaged: z\.zarr/c/3 missing"):
        repo.load_artifact("z")
