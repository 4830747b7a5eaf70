"""The dataset catalog on a local folder and on an fsspec store (``memory://``): versions
by manifest digest, tags, every accepted kind of field data, names that cannot escape
the root, and versions that are whole or absent when a writer dies."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("zarr")
pytest.importorskip("fsspec")

import lazyarray as la
from lazyarray.datasets import (
    Catalog,
    CatalogError,
    DatasetNotFound,
    FieldNotFound,
    SplitNotFound,
    TagNotFound,
    catalog_storage,
)
from lazyarray.errors import InvalidMetadata, InvalidName, ShapeError, UnsupportedOperation

ROOT = Path(__file__).resolve().parents[1]
X = np.arange(24.0).reshape(12, 2)
Y = np.arange(12, dtype=np.int32)


@pytest.fixture(params=["folder", "memory"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    if request.param == "folder":
        yield Catalog(tmp_path / "catalog")
        return
    import fsspec

    url = f"memory://catalog-{uuid.uuid4().hex}"
    yield Catalog(url)
    memory = fsspec.filesystem("memory")
    if memory.exists(url.split("://")[1]):
        memory.rm(url.split("://")[1], recursive=True)


def test_a_version_reads_back_as_written(catalog: Catalog) -> None:
    ds = catalog.create("demo", "points", splits={"train": {"x": X, "y": Y}, "test": {"x": X[:3]}})
    found = catalog.query("demo", "points")
    assert found.uid == ds.uid and len(ds.uid) == 64
    assert (found.namespace, found.name, found.tag) == ("demo", "points", "latest")
    assert found.rows("train") == 12 and found.rows("test") == 3
    fields = found.fields("train")
    assert list(fields) == ["x", "y"]  # the order given
    assert fields["x"].shape == (12, 2) and fields["x"].dtype == np.float64
    assert fields["y"].shape == (12,) and fields["y"].dtype == np.int32
    np.testing.assert_array_equal(found.read("train", "x"), X)
    np.testing.assert_array_equal(found.read("train", "y", 3, 7), Y[3:7])
    assert fields["x"].sha256 == hashlib.sha256(X.tobytes()).hexdigest()
    # the uid is the digest of the manifest, which names the data's digests
    assert hashlib.sha256(found.manifest.encode()).hexdigest() == found.uid
    assert catalog.version(ds.uid).uid == ds.uid


def test_tags_move_only_to_versions_and_latest_follows_creates(catalog: Catalog) -> None:
    v1 = catalog.create("demo", "d", tag="v1", splits={"s": {"x": Y}})
    v2 = catalog.create("demo", "d", tag=["v2", "stable"], splits={"s": {"x": Y + 1}})
    assert catalog.tags("demo", "d") == {"latest": v2.uid, "stable": v2.uid, "v1": v1.uid,
                                         "v2": v2.uid}  # fmt: skip
    v3 = catalog.create("demo", "d", tag="rc", latest=False, splits={"s": {"x": Y + 2}})
    assert catalog.query("demo", "d").uid == v2.uid
    assert catalog.query("demo", "d", "rc").uid == v3.uid
    catalog.tag("demo", "d", "latest", v1.uid)
    np.testing.assert_array_equal(catalog.query("demo", "d").read("s", "x"), Y)
    assert [v.uid for v in catalog.versions("demo", "d")] == [v1.uid, v2.uid, v3.uid]
    assert catalog.versions("demo", "d")[0].tags == ("latest", "v1")
    assert v2.tags == ("stable", "v2")
    catalog.untag("demo", "d", "rc")
    with pytest.raises(TagNotFound, match=r"no tag 'rc' \(its tags: latest, stable, v1, v2\)"):
        catalog.query("demo", "d", "rc")
    assert catalog.version(v3.uid).uid == v3.uid  # untagged, still there
    other = catalog.create("demo", "other", splits={"s": {"x": Y}})
    with pytest.raises(DatasetNotFound, match="not a version of demo/d"):
        catalog.tag("demo", "d", "latest", other.uid)
    assert catalog.list() == [("demo", "d"), ("demo", "other")]
    assert catalog.datasets("demo") == ["demo/d", "demo/other"]
    assert catalog.datasets("nobody") == []


def test_unknown_things_are_typed_errors_naming_what_exists(catalog: Catalog) -> None:
    with pytest.raises(DatasetNotFound, match="no dataset demo/none"):
        catalog.query("demo", "none")
    with pytest.raises(DatasetNotFound, match="no version"):
        catalog.version("0" * 64)
    ds = catalog.create("demo", "d", splits={"train": {"x": Y}})
    with pytest.raises(TagNotFound, match="its tags: latest"):
        catalog.query("demo", "d", "v9")
    with pytest.raises(SplitNotFound, match="its splits: train"):
        ds.fields("test")
    with pytest.raises(FieldNotFound, match="its fields: x"):
        ds.read("train", "label")
    assert isinstance(TagNotFound("t"), LookupError)


def test_fields_from_arrow_zarr_xarray_and_lists(catalog: Catalog, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    zarr = pytest.importorskip("zarr")
    xr = pytest.importorskip("xarray")
    source = zarr.open_array(str(tmp_path / "src.zarr"), mode="w", shape=(12, 2), chunks=(5, 2),
                             dtype="f8")  # fmt: skip
    source[:] = X
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(np.arange(24, dtype=np.float32)), 2)
    table = pa.table({"a": pa.array(Y), "b": pa.chunked_array([Y[:5], Y[5:]])})
    dataset = xr.Dataset({"t": (("row", "col"), X)}, coords={"row": np.arange(12)})
    ds = catalog.create(
        "demo",
        "mixed",
        splits={
            "fields": {
                "chunked": pa.chunked_array([[1, 2], [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]),
                "plain": pa.array([True, False] * 6),
                "vectors": vectors,
                "zarr": source,
                "listed": [[i, i] for i in range(12)],
            },
            "table": table,
            "xarray": dataset,
        },
    )
    np.testing.assert_array_equal(ds.read("fields", "chunked"), np.arange(1, 13))
    assert ds.field("fields", "plain").dtype == np.bool_
    np.testing.assert_array_equal(ds.read("fields", "vectors"), np.arange(24.0).reshape(12, 2))
    assert ds.field("fields", "zarr").chunks == (5, 2)  # a zarr array keeps its chunks
    np.testing.assert_array_equal(ds.read("fields", "zarr"), X)
    assert ds.field("fields", "listed").shape == (12, 2)
    assert list(ds.fields("table")) == ["a", "b"]
    np.testing.assert_array_equal(ds.read("table", "b"), Y)
    assert list(ds.fields("xarray")) == ["t"]  # data variables, not coordinates
    np.testing.assert_array_equal(ds.read("xarray", "t"), X)


@pytest.mark.parametrize(
    ("splits", "error", "match"),
    [
        ({"s": {"x": np.array(["a", "b"])}}, UnsupportedOperation, "booleans, integers"),
        ({"s": {"x": np.ma.masked_array([1, 2], [0, 1])}}, UnsupportedOperation, "masked"),
        ({"s": {"x": np.float64(1.0)}}, ShapeError, "0-dimensional"),
        ({"s": {"x": np.ones(3), "y": np.ones(4)}}, ShapeError, "x 3, y 4"),
        ({"s": {}}, ShapeError, "no fields"),
        ({}, InvalidMetadata, "non-empty"),
        ({"s": {"x": object()}}, UnsupportedOperation, "not object"),
        ({"s": [1, 2]}, UnsupportedOperation, "dict of field"),
    ],
)
def test_bad_fields_are_refused_before_anything_is_written(
    catalog: Catalog, splits: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        catalog.create("demo", "bad", splits=splits)
    assert catalog.list() == []


def test_arrow_nulls_are_refused(catalog: Catalog) -> None:
    pa = pytest.importorskip("pyarrow")
    with pytest.raises(UnsupportedOperation, match="1 nulls"):
        catalog.create("demo", "bad", splits={"s": {"x": pa.array([1, None, 3])}})


HOSTILE = ["..", "../etc", "a/b", "a\\b", "%2e%2e", "Upper", "", ".hidden", "x" * 65, "nul",
           "caf\u00e9", "a\x00b"]  # fmt: skip


@pytest.mark.parametrize("bad", HOSTILE)
@pytest.mark.parametrize("where", ["namespace", "name", "tag", "split", "field"])
def test_names_that_would_escape_are_refused_everywhere(
    catalog: Catalog, where: str, bad: str
) -> None:
    parts = {"namespace": "demo", "name": "d", "tag": "v1", "split": "s", "field": "x"}
    parts[where] = bad
    with pytest.raises(InvalidName):
        catalog.create(parts["namespace"], parts["name"], tag=parts["tag"],
                       splits={parts["split"]: {parts["field"]: Y}})  # fmt: skip
    assert catalog.list() == []
    if where in ("namespace", "name", "tag"):
        with pytest.raises(InvalidName):
            catalog.query(parts["namespace"], parts["name"], parts["tag"])


@pytest.mark.parametrize("where", ["split", "field"])
def test_names_zarr_keeps_are_refused(catalog: Catalog, where: str) -> None:
    splits = {"zarr.json": {"x": Y}} if where == "split" else {"s": {"zarr.json": Y}}
    with pytest.raises(InvalidName, match="zarr keeps"):
        catalog.create("demo", "d", splits=splits)


def test_uids_are_checked_before_use(catalog: Catalog) -> None:
    for bad in ["../" + "0" * 61, "A" * 64, "0" * 63, 5]:
        with pytest.raises(InvalidName, match="64 lowercase hex"):
            catalog.version(bad)  # type: ignore[arg-type]


def test_a_link_out_of_a_folder_catalog_is_refused(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "catalog" / "datasets").mkdir()
    os.symlink(outside, tmp_path / "catalog" / "datasets" / "demo")
    with pytest.raises(InvalidName, match="leads outside"):
        catalog.create("demo", "d", splits={"s": {"x": Y}})
    assert list(outside.iterdir()) == []


def test_a_damaged_manifest_is_never_trusted() -> None:
    import fsspec

    url = f"memory://damaged-{uuid.uuid4().hex}"
    catalog = Catalog(url)
    ds = catalog.create("demo", "d", splits={"s": {"x": Y}})
    fs = fsspec.filesystem("memory")
    key = f"{url.split('://')[1]}/datasets/demo/d/versions/{ds.uid}"
    document = json.loads(fs.cat_file(key))
    document["splits"]["s"]["rows"] = 11
    fs.pipe_file(key, json.dumps(document).encode())
    with pytest.raises(CatalogError, match="does not match its uid"):
        catalog.query("demo", "d")


def test_verify_finds_missing_chunks_that_zarr_reads_as_fill_values(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    ds = catalog.create("demo", "d", splits={"s": {"x": np.arange(1, 9.0)}})
    ds.verify()
    store = Path(catalog.store_url(ds.manifest))
    (chunk,) = [p for p in store.rglob("*") if p.is_file() and p.parent.name == "c"]
    chunk.unlink()
    assert catalog.query("demo", "d").read("s", "x").tolist() == [0.0] * 8
    with pytest.raises(CatalogError, match=r"field s/x of demo/d .* does not match its digest"):
        catalog.query("demo", "d").verify()


def test_the_catalog_option_and_variable_choose_the_default_root(tmp_path: Path) -> None:
    with la.config.set(catalog=str(tmp_path / "from-option")):
        assert Catalog().location == str((tmp_path / "from-option").resolve())
    script = "import lazyarray.datasets as d; print(d.Catalog().location)"
    env = {**os.environ, "LAZYARRAY_CATALOG": "memory://from-env",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "backends")])}  # fmt: skip
    shown = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True).stdout.strip()  # fmt: skip
    assert shown == "memory://from-env"


# --- a writer that dies ---------------------------------------------------------------------

WRITER = """
import os, signal, sys, numpy as np
from lazyarray.datasets import Catalog, catalog_storage, catalog_fields
catalog = Catalog(sys.argv[1])
where = sys.argv[2]
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if where == "data":  # after the first field's chunks
    write = catalog_fields.write_field
    calls = []
    def write_field(*args):
        calls.append(1)
        if len(calls) == 2:
            die()
        return write(*args)
    import lazyarray.datasets.catalog as module
    module.write_field = write_field
elif where == "manifest":  # the store renamed into place, no manifest yet
    catalog_storage.write_file = die
elif where == "commit":  # the manifest file written, its transaction never committed
    write_file = catalog_storage.write_file
    def written_then_die(*args):
        write_file(*args)
        die()
    catalog_storage.write_file = written_then_die
catalog.create("demo", "d", tag="v2",
    splits={"s": {"x": np.full(200_000, 2.0), "y": np.full(200_000, 2)}})
"""


@pytest.mark.parametrize("where", ["data", "manifest", "commit"])
def test_a_writer_killed_mid_create_leaves_the_previous_version(tmp_path: Path, where: str) -> None:
    root = tmp_path / "catalog"
    v1 = Catalog(root).create("demo", "d", tag="v1", splits={"s": {"x": np.ones(5), "y": Y[:5]}})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "backends")])}
    done = subprocess.run([sys.executable, "-c", WRITER, str(root), where], env=env)
    assert done.returncode == -signal.SIGKILL
    catalog = Catalog(root)
    assert catalog.tags("demo", "d") == {"latest": v1.uid, "v1": v1.uid}
    assert [v.uid for v in catalog.versions("demo", "d")] == [v1.uid]
    np.testing.assert_array_equal(catalog.query("demo", "d").read("s", "x"), np.ones(5))
    # then a writer that lives creates the next version as if nothing happened
    v2 = catalog.create("demo", "d", tag="v2", splits={"s": {"x": np.zeros(3), "y": Y[:3]}})
    assert catalog.query("demo", "d").uid == v2.uid


def test_writers_killed_at_random_moments_leave_whole_versions(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    v1 = Catalog(root).create("demo", "d", splits={"s": {"x": np.ones(5)}})
    script = textwrap.dedent("""
        import sys, numpy as np
        from lazyarray.datasets import Catalog
        catalog = Catalog(sys.argv[1])
        print("ready", flush=True)
        for value in range(2, 1000):
            catalog.create("demo", "d", splits={"s": {"x": np.full(100_000, float(value))}})
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "backends")])}
    rng = np.random.default_rng(12)
    for _ in range(3):
        process = subprocess.Popen([sys.executable, "-c", script, str(root)], env=env,
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        try:
            process.wait(timeout=float(rng.uniform(0.05, 0.6)))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        process.stdout.close()
        catalog = Catalog(root)
        for version in catalog.versions("demo", "d"):
            x = catalog.version(version.uid).read("s", "x")
            assert len(np.unique(x)) == 1 and len(x) in (5, 100_000)
        latest = catalog.query("demo", "d")
        assert latest.uid in {v.uid for v in catalog.versions("demo", "d")}
    assert catalog.version(v1.uid).read("s", "x").tolist() == [1.0] * 5


@pytest.mark.parametrize("failing", ["chunk", "manifest", "tag"])
def test_an_object_store_write_that_fails_leaves_the_previous_tag(
    monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    catalog = Catalog(f"memory://failing-{uuid.uuid4().hex}")
    v1 = catalog.create("demo", "d", splits={"s": {"x": np.ones(5)}})
    write = catalog_storage.ObjectStorage._write

    def broken(self: Any, key: str, data: bytes) -> None:
        if f"/{failing}s/" in key or (failing == "manifest" and "/versions/" in key):
            raise OSError("the connection was lost")
        write(self, key, data)

    monkeypatch.setattr(catalog_storage.ObjectStorage, "_write", broken)
    if failing == "chunk":  # the store's own writes: zarr's
        import zarr.storage

        def lost(*args: Any, **kwargs: Any) -> None:
            raise OSError("the connection was lost")

        monkeypatch.setattr(zarr.storage.FsspecStore, "set", lost)
    with pytest.raises(OSError, match="connection was lost"):
        catalog.create("demo", "d", splits={"s": {"x": np.zeros(5)}})
    assert catalog.query("demo", "d").uid == v1.uid
    versions = [v.uid for v in catalog.versions("demo", "d")]
    # a manifest written before the tag failed is a version, untagged; otherwise nothing
    assert versions[0] == v1.uid and len(versions) == (2 if failing == "tag" else 1)


def test_a_field_opens_as_a_lazy_array_of_known_shape(catalog: Catalog) -> None:
    import importlib.util

    if importlib.util.find_spec("lazyarray.datasets.sources") is None:
        pytest.skip("lazyarray.datasets.sources (open_source, the lazy zarr reader) is not here")
    ds = catalog.create("demo", "d", splits={"train": {"x": X, "y": Y}})
    x = ds.array("train", "x")
    assert isinstance(x, la.Array)
    assert x.shape == (12, 2) and x.dtype == np.float64
    np.testing.assert_array_equal(x[3:7].compute(), X[3:7])
    assert float((ds.array("train", "y") * 2).sum().compute()) == float(Y.sum() * 2)
    with pytest.raises(FieldNotFound):
        ds.array("train", "z")


def _create_versions(root: str, worker: int) -> list[str]:
    catalog = Catalog(root)
    return [
        catalog.create("demo", "d", tag=f"w{worker}", splits={"s": {"x": np.full(4, worker)}}).uid
        for _ in range(3)
    ]


def test_processes_creating_at_once_each_get_whole_versions(tmp_path: Path) -> None:
    import multiprocessing

    root = str(tmp_path / "catalog")
    Catalog(root)  # the database made once, before the writers race
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with context.Pool(3) as pool:
        made = pool.starmap(_create_versions, [(root, worker) for worker in range(3)])
    catalog = Catalog(root)
    every = sorted(uid for uids in made for uid in uids)
    assert sorted(v.uid for v in catalog.versions("demo", "d")) == every
    tags = catalog.tags("demo", "d")
    for worker, uids in enumerate(made):
        assert tags[f"w{worker}"] == uids[-1]  # each writer's own tag: its last version
        assert catalog.query("demo", "d", f"w{worker}").read("s", "x").tolist() == [worker] * 4
    assert tags["latest"] in {uids[-1] for uids in made}
