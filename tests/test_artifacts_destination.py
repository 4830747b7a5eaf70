"""Compute results as artifacts: ``compute(destination=...)`` on both backends, the
``artifact://`` URL, provenance, and the dask backend writing chunk by chunk to zarr
without gathering the result."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.artifacts import Repository
from lazyarray.errors import ConfigError, FormatError, ResourceExhausted
from lazyarray.graph import content_digest

pytest.importorskip("zarr")
pytest.importorskip("dask")

BIG = 400_000  # elements: the fused / blocked paths


def expression(n: int) -> Any:
    x = la.arange(n, dtype="float64")
    return la.sin(x) * 2.0 + 1.0


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("n", [10, BIG])
def test_result_saved_as_next_version(backend: str, n: int, tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    y = expression(n)
    expected = np.sin(np.arange(n, dtype="float64")) * 2.0 + 1.0
    first = y.compute(destination=repo.destination("result"), backend=backend)
    second = (y + 1).compute(destination=repo.destination("result"), backend=backend)
    assert (first.version, second.version) == (1, 2)
    # the dask backend streams arrays into zarr; numpy writes npy
    assert first.alias == ("zarr" if backend == "dask" else "numpy")
    np.testing.assert_allclose(np.asarray(repo.load_artifact("result", 1)[...]), expected)
    np.testing.assert_allclose(np.asarray(repo.load_artifact("result")[...]), expected + 1)
    assert [r["dirty"] for r in repo.artifacts()] == [False, False]


def test_provenance_rederives_the_result(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    scale = la.parameter("scale", la.Scalar, dtype="float64")
    y = expression(100) * scale
    y.compute(destination=repo.destination("scaled"), scale=3.0)
    made = repo.provenance("scaled")
    assert made is not None
    assert made["graph"] == y.node.digest
    assert made["arguments"] == {"scale": content_digest(3.0)}
    assert made["lazyarray"] == la.__version__
    assert made["backend"]["backend"] == "numpy"
    assert repo.artifacts()[0]["graph"] == y.node.digest
    again = la.from_json(json.dumps(made["document"]))
    np.testing.assert_array_equal(again.compute(scale=3.0), repo.load_artifact("scaled"))
    repo.log_artifact("plain", np.ones(2))
    repo.save()
    assert repo.provenance("plain") is None


def test_big_literal_kept_by_digest_only(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    data = la.asarray(np.arange(100_000.0))
    (data * 2).compute(destination=repo.destination("big"))
    made = repo.provenance("big")
    assert made is not None and made["graph_document"] is False and "document" not in made


def test_dask_streams_without_gathering(tmp_path: Path) -> None:
    """A result four times the memory allowed is written chunk by chunk by dask; the
    numpy backend, which holds results whole, is refused before running."""
    n = 2_000_000  # 16 MB of float64
    repo = Repository(tmp_path)
    y = expression(n)
    with la.config.set(memory_limit="4MB", dask_chunk_bytes="1MB"):
        saved = y.compute(destination=repo.destination("stream"), backend="dask")
        with pytest.raises(ResourceExhausted):
            y.compute(destination=repo.destination("stream"), backend="numpy")
    chunks = list((tmp_path / "stream" / f"v{saved.version}" / "stream.zarr" / "c").iterdir())
    assert len(chunks) >= 8  # one file per dask chunk
    back = repo.load_artifact("stream")
    assert back.shape == (n,) and back.dtype == np.float64
    np.testing.assert_allclose(back[-5:], np.sin(np.arange(n - 5, n, dtype="float64")) * 2 + 1)
    assert repo.provenance("stream")["backend"]["backend"] == "dask"  # type: ignore[index]


def test_failed_stream_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lazyarray.artifacts.formats import ZarrArtifact

    class Failing:
        def __init__(self, target: Any) -> None:
            self.target, self.shape, self.dtype = target, target.shape, target.dtype

        def __setitem__(self, key: Any, value: Any) -> None:
            raise OSError("disk full")

    create = ZarrArtifact.create
    monkeypatch.setattr(
        ZarrArtifact, "create", classmethod(lambda cls, *a, **k: Failing(create(*a, **k)))
    )
    repo = Repository(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        expression(BIG).compute(destination=repo.destination("broken"), backend="dask")
    assert repo.artifacts() == []
    assert os.listdir(tmp_path / "broken") == []


def test_masked_result_on_both_backends(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    values = np.ma.masked_array(np.arange(6.0), mask=[0, 1, 0, 0, 1, 0])
    for backend in ("numpy", "dask"):
        saved = (la.asarray(values) * 2).compute(
            destination=repo.destination(f"masked-{backend}"), backend=backend
        )
        assert saved.alias == "numpy" and saved.fname.endswith(".npz")
        back = repo.load_artifact(f"masked-{backend}")
        np.testing.assert_array_equal(back.mask, values.mask)
        np.testing.assert_array_equal(back.compressed(), (values * 2).compressed())


def test_artifact_url_uses_the_option(tmp_path: Path) -> None:
    y = expression(5)
    with pytest.raises(ConfigError, match="artifacts option"):
        y.compute(destination="artifact://r")
    with la.config.set(artifacts=str(tmp_path)):
        saved = y.compute(destination="artifact://r")
    assert saved.version == 1
    np.testing.assert_array_equal(Repository(tmp_path).load_artifact("r"), y.compute())
    with pytest.raises(FormatError, match="artifact://"):
        y.compute(destination="email")


def test_handler_and_writer_kwargs_of_a_destination(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    y = expression(1000)
    saved = y.compute(destination=repo.destination("z", handler="zarr", chunks=(100,)))
    assert saved.alias == "zarr" and repo.load_artifact("z").chunks == (100,)
    # a handler other than zarr on dask: the result is gathered and written whole
    saved = y.compute(destination=repo.destination("n", handler="numpy"), backend="dask")
    assert saved.alias == "numpy"
    np.testing.assert_array_equal(repo.load_artifact("n"), y.compute())


def test_destination_job_and_one_result(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    job = expression(10).compute(destination=repo.destination("later"), block=False)
    assert job.result().version == 1
    with pytest.raises(FormatError, match="no file="):
        expression(10).compute(
            destination=repo.destination("x"), file=tmp_path / "f.npy", format="npy"
        )
    with pytest.raises(FormatError, match="write"):
        expression(10).compute(destination=42)


def test_streams_on_a_distributed_client(tmp_path: Path) -> None:
    """The chunks are stored by the cluster's workers (in-process here; a process
    cluster pickles the zarr target, which holds only its store's path)."""
    distributed = pytest.importorskip("distributed")
    repo = Repository(tmp_path)
    y = expression(BIG)
    with (
        distributed.Client(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
        ) as client,
        la.config.set(dask_chunk_bytes="512KB"),
    ):
        saved = y.compute(destination=repo.destination("d"), backend="dask", client=client)
    assert saved.alias == "zarr"
    assert len(list((tmp_path / "d" / "v1" / "d.zarr" / "c").iterdir())) > 1
    np.testing.assert_allclose(repo.load_artifact("d")[...], y.compute())


def test_saved_equals_computed_in_every_mode(backend: str, tmp_path: Path) -> None:
    """Irregular chunks (a concatenation, a strided slice) are made regular for zarr;
    what is saved is bit for bit what compute returns, in every forced mode."""
    repo = Repository(tmp_path)
    a = la.arange(37 * 23, dtype="float64").reshape(37, 23)
    y = la.concatenate([a[:5], a[3:] * 1.5, la.cos(a[::3])]) / 3.0
    saved = y.compute(destination=repo.destination("m"), backend=backend, cache=False)
    back = np.asarray(repo.load_artifact("m")[...])
    expected = y.compute(backend=backend, cache=False)
    assert back.dtype == expected.dtype and back.shape == expected.shape
    np.testing.assert_array_equal(back, expected)
    assert saved.alias == ("zarr" if backend == "dask" else "numpy")


def test_a_cached_result_still_streams(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    y = expression(1000)
    y.compute(backend="dask")  # now in the result cache
    assert y.compute(destination=repo.destination("s"), backend="dask").alias == "zarr"
    assert y.compute(destination=repo.destination("n")).alias == "numpy"  # from the cache


class Collector:
    """A destination that is not a repository: execution knows only the protocol."""

    def __init__(self, target: np.ndarray | None = None) -> None:
        self.target = target
        self.got: list[Any] = []
        self.discarded = 0

    def write(self, value: Any, result: Any) -> str:
        self.got.append((value, result))
        return "kept"


class BlockCollector(Collector):
    """Also a chunk sink: takes the blocks into a numpy array of its own."""

    def chunk_target(self, shape: Any, dtype: Any, chunks: Any) -> Any:
        self.target = np.zeros(shape, dtype)
        self.chunks = chunks
        return self.target

    def discard(self) -> None:
        self.discarded += 1


def test_any_object_with_write_is_a_destination() -> None:
    from lazyarray.jobs import Streamed

    y = expression(BIG)
    plain = Collector()
    assert y.compute(destination=plain, backend="dask") == "kept"
    value, result = plain.got[0]
    np.testing.assert_array_equal(value, y.compute())
    assert result.type == y.node.type and result.provenance["graph"] == y.node.digest
    blocks = BlockCollector()
    with la.config.set(dask_chunk_bytes="256KB"):
        assert y.compute(destination=blocks, backend="dask") == "kept"
    streamed, _ = blocks.got[0]
    assert isinstance(streamed, Streamed) and streamed.target is blocks.target
    assert blocks.chunks[0] < BIG  # written in blocks
    np.testing.assert_array_equal(blocks.target, y.compute())
    numpy_blocks = BlockCollector()  # the numpy backend does not stream: the value comes
    y.compute(destination=numpy_blocks, backend="numpy")
    assert numpy_blocks.target is None and isinstance(numpy_blocks.got[0][0], np.ndarray)
