"""Records by shard: disjoint shards whose union is the split for any ``nchunks``, a
bad ``chunk`` refused naming the valid range, and a shard cache that is never trusted
unless whole: not after a reader is killed while writing it, not after its bytes are
damaged, not while several processes write it at once."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("zarr")
pytest.importorskip("fsspec")

from lazyarray.datasets import Catalog, CatalogError, Dataset, InvalidShard
from lazyarray.datasets.catalog_stream import MAGIC, shard_range

ROOT = Path(__file__).resolve().parents[1]
ROWS = 37
X = np.arange(ROWS * 3, dtype=np.float64).reshape(ROWS, 3)
Y = np.arange(ROWS, dtype=np.int16) * 7


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="lazyarray-stream-") as name:
        yield Path(name)


@pytest.fixture(scope="module", params=["folder", "memory"])
def dataset(request: pytest.FixtureRequest, folder: Path) -> Dataset:
    root = (
        str(folder / "catalog") if request.param == "folder" else f"memory://s-{uuid.uuid4().hex}"
    )
    return Catalog(root).create("demo", "rows", splits={"train": {"x": X, "y": Y}})


def rows_of(records: list[dict[str, object]]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([r["x"] for r in records]).reshape(-1, 3)
    y = np.array([r["y"] for r in records], dtype=np.int16)
    return x, y


@given(rows=st.integers(0, 200), nchunks=st.integers(1, 300))
def test_shards_are_disjoint_and_cover_the_rows(rows: int, nchunks: int) -> None:
    ranges = [shard_range(rows, chunk, nchunks) for chunk in range(nchunks)]
    assert ranges[0][0] == 0 and ranges[-1][1] == rows
    for (_, stop), (start, _) in itertools.pairwise(ranges):
        assert stop == start  # contiguous and disjoint, in order
    sizes = [stop - start for start, stop in ranges]
    assert min(sizes) >= 0 and max(sizes) - min(sizes) <= 1  # balanced


@settings(max_examples=12)
@given(nchunks=st.integers(1, 2 * ROWS), cached=st.booleans())
def test_the_records_of_all_shards_are_the_split(
    dataset: Dataset, folder: Path, nchunks: int, cached: bool
) -> None:
    cache: Path | bool = folder / "cache" if cached else False
    found = []
    for chunk in range(nchunks):
        shard = list(dataset.stream_split("train", chunk=chunk, nchunks=nchunks, cache=cache))
        start, stop = shard_range(ROWS, chunk, nchunks)
        assert len(shard) == stop - start
        found += shard
    x, y = rows_of(found)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(y, Y)
    assert set(found[0]) == {"x", "y"} and found[0]["y"].dtype == np.int16


@pytest.mark.parametrize(
    ("chunk", "nchunks", "match"),
    [
        (4, 4, r"chunk 4 must be in the range \[0, 4\)"),
        (-1, 4, r"chunk -1 must be in the range \[0, 4\)"),
        (0, 0, "nchunks must be at least 1, not 0"),
        (1.0, 4, "chunk must be an int, not float"),
        (True, 4, "chunk must be an int, not bool"),
        (0, "2", "nchunks must be an int, not str"),
    ],
)
def test_a_bad_shard_is_refused_when_asked_for(
    dataset: Dataset, chunk: object, nchunks: object, match: str
) -> None:
    with pytest.raises(InvalidShard, match=match):
        dataset.stream_split("train", chunk=chunk, nchunks=nchunks)  # type: ignore[arg-type]
    assert isinstance(InvalidShard("x"), ValueError)


def test_more_shards_than_rows_gives_empty_shards(dataset: Dataset, tmp_path: Path) -> None:
    counts = [len(list(dataset.stream_split("train", chunk=c, nchunks=50, cache=tmp_path)))
              for c in range(50)]  # fmt: skip
    assert sum(counts) == ROWS and counts.count(0) == 50 - ROWS


def test_a_cached_shard_is_read_from_the_cache(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    ds = catalog.create("demo", "rows", splits={"train": {"x": X, "y": Y}})
    first = list(ds.stream_split("train", chunk=1, nchunks=3, cache=tmp_path / "cache"))
    shutil.rmtree(tmp_path / "catalog" / "datasets")  # the stored data is gone
    again = list(ds.stream_split("train", chunk=1, nchunks=3, cache=tmp_path / "cache"))
    assert rows_of(again)[1].tolist() == rows_of(first)[1].tolist() == Y[12:24].tolist()
    with pytest.raises(CatalogError, match=r"data of .* is missing"):  # not cached: read
        list(Catalog(tmp_path / "catalog").version(ds.uid).stream_split("train", chunk=0,
                                                                       nchunks=3))  # fmt: skip


def test_the_dataset_cache_option_moves_the_cache(dataset: Dataset, tmp_path: Path) -> None:
    import lazyarray as la

    with la.config.set(dataset_cache=str(tmp_path / "elsewhere")):
        list(dataset.stream_split("train", chunk=0, nchunks=2))
    assert [p.name for p in (tmp_path / "elsewhere" / dataset.uid / "train").iterdir()] == [
        "2-0.shard"
    ]


def cache_file(cache: Path, ds: Dataset, chunk: int, nchunks: int) -> Path:
    return cache / ds.uid / "train" / f"{nchunks}-{chunk}.shard"


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "other-shard", "seed-style"])
def test_a_damaged_cache_file_is_rewritten_never_trusted(
    dataset: Dataset, tmp_path: Path, damage: str
) -> None:
    cache = tmp_path / "cache"
    expected = list(dataset.stream_split("train", chunk=1, nchunks=2, cache=cache))
    path = cache_file(cache, dataset, 1, 2)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    elif damage == "other-shard":  # a whole file in the wrong place
        list(dataset.stream_split("train", chunk=0, nchunks=2, cache=cache))
        data = bytearray(cache_file(cache, dataset, 0, 2).read_bytes())
    else:  # what the seed's cache left: the first records, then nothing
        data = data[: len(MAGIC) + 200]
    path.write_bytes(bytes(data))
    found = list(dataset.stream_split("train", chunk=1, nchunks=2, cache=cache))
    assert rows_of(found)[1].tolist() == rows_of(expected)[1].tolist() == Y[18:].tolist()
    assert path.read_bytes() != bytes(data)  # written again, whole


KILLED_READER = """
import os, signal, sys
from lazyarray.datasets import Catalog, catalog_stream
ds = Catalog(sys.argv[1]).version(sys.argv[2])
read, calls = ds.read, []
def read_then_die(split, field, start=0, stop=None):
    calls.append(field)
    if len(calls) == 2:  # the first field written, the second not
        os.kill(os.getpid(), signal.SIGKILL)
    return read(split, field, start, stop)
ds.read = read_then_die
list(ds.stream_split("train", chunk=0, nchunks=1, cache=sys.argv[3]))
"""


def test_a_reader_killed_while_caching_leaves_nothing_trusted(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    ds = catalog.create("demo", "rows", splits={"train": {"x": X, "y": Y}})
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "backends")])}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_READER, str(tmp_path / "catalog"), ds.uid, str(cache)],
        env=env,
    )
    assert done.returncode == -signal.SIGKILL
    folder = cache / ds.uid / "train"
    assert not cache_file(cache, ds, 0, 1).exists()
    assert [p.name.endswith(".part") for p in folder.iterdir()] == [True]  # its debris
    x, y = rows_of(list(ds.stream_split("train", chunk=0, nchunks=1, cache=cache)))
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(y, Y)


def _stream_all(root: str, uid: str, cache: str, rounds: int) -> list[int]:
    """A DataLoader worker's life: every shard of a few shardings, several times."""
    ds = Catalog(root).version(uid)
    sums = []
    for _ in range(rounds):
        for nchunks in (1, 3, 7):
            for chunk in range(nchunks):
                records = ds.stream_split("train", chunk=chunk, nchunks=nchunks, cache=cache)
                sums.append(int(sum(int(r["y"]) for r in records)))
    return sums


def test_processes_streaming_at_once_share_one_cache(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    ds = Catalog(root).create("demo", "rows", splits={"train": {"x": X, "y": Y}})
    cache = tmp_path / "cache"
    expected = _stream_all(str(root), ds.uid, str(tmp_path / "alone"), 1) * 3
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with context.Pool(4) as pool:
        results = pool.starmap(_stream_all, [(str(root), ds.uid, str(cache), 3)] * 4)
    assert results == [expected] * 4
    folder = cache / ds.uid / "train"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{n}-{c}.shard" for n in (1, 3, 7) for c in range(n)
    )
    # and each file left is whole: read with the data gone, it gives the split
    shutil.rmtree(root / "datasets")
    assert _stream_all(str(root), ds.uid, str(cache), 1) == expected[: len(expected) // 3]
