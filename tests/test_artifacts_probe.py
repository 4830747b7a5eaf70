"""What a new user's probe of artifacts found: results streamed by process workers into
a store the driver cannot see, pruned version numbers given again, ``chunks=`` on the
dask backend, the provenance document, writer keywords checked when logged, a failing
save blocking the others, relative roots, and smaller errors."""

from __future__ import annotations

import itertools
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.artifacts import Repository
from lazyarray.errors import ArgumentError, ArtifactError

pa = pytest.importorskip("pyarrow")
zarr = pytest.importorskip("zarr")
pytest.importorskip("fsspec")
pytest.importorskip("dask")

_memory = itertools.count()


def memory_root() -> str:
    return f"memory://artifacts-probe-{os.getpid()}-{next(_memory)}"


@pytest.fixture(params=["folder", "memory"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Repository:
    return Repository(tmp_path / "repo" if request.param == "folder" else memory_root())


@pytest.fixture(scope="module")
def process_client() -> Any:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            processes=True, n_workers=1, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_process_workers_into_memory_store_are_refused(process_client: Any) -> None:
    """The workers write their chunks into their own process's memory filesystem: the
    version is refused, not committed empty."""
    x = np.arange(30_000, dtype="float64").reshape(300, 100)
    repo = Repository(memory_root())
    with pytest.raises(ArtifactError, match=r"cannot see.*memory://"):
        (la.asarray(x) * 2).compute(
            backend="dask", client=process_client, destination=repo.destination("r")
        )
    assert repo.artifacts() == []


def test_process_workers_into_a_folder(process_client: Any, tmp_path: Path) -> None:
    x = np.arange(30_000, dtype="float64").reshape(300, 100)
    repo = Repository(tmp_path)
    saved = (la.asarray(x) * 2).compute(
        backend="dask", client=process_client, destination=repo.destination("r")
    )
    assert saved.version == 1
    np.testing.assert_array_equal(repo.load_artifact("r")[...], x * 2)


def test_every_chunk_is_listed_even_an_empty_one(repo: Repository) -> None:
    """A chunk holding only the fill value is stored too: the manifest lists every
    chunk, so a missing one is seen when loaded."""
    value = np.zeros(100)
    value[:10] = 1
    repo.log_artifact("z", value, handler="zarr", chunks=(10,))
    repo.save()
    storage: Any = repo.storage
    if hasattr(storage, "fs"):
        storage.fs.rm_file(storage.path("z", "v1", "z.zarr", "c", "9"))
    else:
        os.remove(Path(storage.root, "z", "v1", "z.zarr", "c", "9"))
    with pytest.raises(ArtifactError, match=r"damaged: z\.zarr/c/9"):
        repo.load_artifact("z")


def test_streamed_zeros_list_every_chunk(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    la.zeros((40, 30)).compute(
        backend="dask", destination=repo.destination("z", handler="zarr", chunks=(10, 10))
    )
    manifest = json.loads((tmp_path / "z" / "v1" / "manifest.json").read_text())
    chunks = [p for p in manifest["files"] if p.startswith("z.zarr/c/")]
    assert len(chunks) == 12


def test_load_checks_every_listed_file(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    (la.arange(10.0) * 2).compute(destination=repo.destination("g"))
    (tmp_path / "g" / "v1" / "graph.json").write_text("{}")
    with pytest.raises(ArtifactError, match=r"damaged: graph\.json"):
        repo.load_artifact("g")


def test_pruned_numbers_are_never_given_again(repo: Repository) -> None:
    import datetime as dt

    repo.log_artifact("p", {"v": 1})
    repo.log_artifact("p", {"v": 2}, expiry=dt.timedelta(seconds=-1))
    repo.save()
    assert repo.prune() == [("p", 2)]
    [saved] = (repo.log_artifact("p", {"v": 3}), repo.save())[1]
    assert saved.version == 3
    assert repo.load_artifact("p") == {"v": 3}
    # the last version of a name pruned: its number is not given again either
    repo.log_artifact("q", {"v": 1}, expiry=dt.timedelta(seconds=-1))
    repo.save()
    assert repo.prune() == [("q", 1)]
    again = Repository(repo.root)  # another process, later
    again.log_artifact("q", {"v": 2})
    assert [a.version for a in again.save()] == [2]
    assert [r["name"] for r in again.artifacts()] == ["p", "p", "q"]


def test_dask_takes_the_zarr_chunks(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    x = la.arange(250 * 130, dtype="float64").reshape(250, 130)
    with la.config.set(dask_chunk_bytes="64KB"):
        x.compute(
            backend="dask", destination=repo.destination("z", handler="zarr", chunks=(100, 100))
        )
    x.compute(destination=repo.destination("n", handler="zarr", chunks=(100, 100)))
    for name in ("z", "n"):
        back = repo.load_artifact(name)
        assert back.chunks == (100, 100)
        np.testing.assert_array_equal(back[...], x.compute())


def test_provenance_document_reads_with_from_dict(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    y = la.sin(la.arange(20.0))
    y.compute(destination=repo.destination("y"))
    made = repo.provenance("y")
    assert made is not None
    document = made["document"]
    np.testing.assert_array_equal(la.serialize.from_dict(document).compute(), y.compute())
    with pytest.raises(TypeError, match="from_dict"):
        la.from_json(document)


@pytest.mark.parametrize(
    ("value", "handler", "kwargs"),
    [
        ({"a": np.arange(3)}, "parquet", {"bogus": 1}),
        ({"a": np.arange(3)}, "arrow", {"bogus": 1}),
        ({"a": 1}, "json", {"bogus": 1}),
        (np.ones(3), "numpy", {"colour": "red"}),
        ({"a": np.ones(3)}, "numpy", {"colour": "red"}),
        (np.ones(3), "zarr", {"bogus": 1}),
        (np.ones(3), "pickle", {"bogus": 1}),
    ],
)
def test_writer_keywords_checked_when_logged(
    value: Any, handler: str, kwargs: dict[str, Any], tmp_path: Path
) -> None:
    repo = Repository(tmp_path)
    with pytest.raises(ArtifactError, match=r"bogus|colour"):
        repo.log_artifact("t", value, handler=handler, **kwargs)
    assert repo.artifacts() == []


def test_good_writer_keywords_pass(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    repo.log_artifact("t", {"a": np.arange(3)}, handler="parquet", compression="zstd")
    repo.log_artifact("j", {"a": 1}, indent=2)
    repo.log_artifact("d", {"a": np.ones(3)}, handler="numpy", compressed=True)
    repo.log_artifact("z", np.ones(30), handler="zarr", chunks=(10,))
    assert [a.version for a in repo.save()] == [1, 1, 1, 1]


def test_a_failing_save_does_not_block_the_others(tmp_path: Path) -> None:
    class Unpicklable:
        def __reduce__(self) -> Any:
            raise TypeError("no pickling here")

    repo = Repository(tmp_path)
    repo.log_artifact("bad", Unpicklable(), handler="pickle")
    repo.log_artifact("bad", {"after": 1})  # later versions of that name wait
    repo.log_artifact("good", {"v": 1})
    with pytest.raises(ArtifactError, match=r"'bad' version 1.*discard"):
        repo.save()
    assert repo.load_artifact("good") == {"v": 1}
    assert [(r["name"], r["version"], r["dirty"]) for r in repo.artifacts()] == [
        ("bad", 1, True),
        ("bad", 2, True),
        ("good", 1, False),
    ]
    assert [a.version for a in repo.discard("bad", 1)] == [1]
    assert [(a.name, a.version) for a in repo.save()] == [("bad", 2)]
    assert repo.load_artifact("bad") == {"after": 1}


def test_relative_root_is_resolved_when_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = Repository("rel/repo")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    repo.log_artifact("a", {"v": 1})
    repo.save()
    assert (tmp_path / "rel" / "repo" / "a" / "v1").is_dir()
    assert not (tmp_path / "elsewhere" / "rel").exists()
    assert repo.load_artifact("a") == {"v": 1}


def test_a_lazy_array_is_computed_to_a_destination(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    with pytest.raises(ArtifactError, match=r"compute\(destination=repo.destination\('x'\)\)"):
        repo.log_artifact("x", la.arange(3.0))


@pytest.mark.parametrize("value", [math.nan, [1.0, math.inf], {"a": -math.inf}])
def test_json_refuses_nan_and_infinity(value: Any, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="NaN"):
        Repository(tmp_path).log_artifact("j", value)


def test_a_bool_is_not_a_version(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    repo.log_artifact("a", {"v": 1})
    repo.save()
    with pytest.raises(ArgumentError, match="version"):
        repo.load_artifact("a", version=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="version"):
        repo.load_artifact("a", version="1")  # type: ignore[arg-type]
