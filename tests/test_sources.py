"""Arrays read from chunked storage (``lazyarray.datasets.open_source``): values equal to
numpy's indexing of the stored array, on both backends and in every mode; slices pushed
into the read, proved by counting the chunks a filesystem serves; digests that read
nothing; typed errors at the user's line; a store changed under a source refused."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import fsspec
import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem

import lazyarray as la
from lazyarray.errors import BadAttribute, SourceChanged, SourceError, SourceNotFound
from lazyarray.ops import sources
from lazyarray.planner import make_plan
from lazyarray.proxy import wrap
from lazyarray.stores import readers
from tests import kit
from tests.conftest import assert_same

zarr = pytest.importorskip("zarr")


class Counting(MemoryFileSystem):
    """A memory filesystem (``countmem://``) that records every read it serves."""

    protocol = "countmem"
    store: dict[str, Any] = {}  # noqa: RUF012 - fsspec's own class-level store
    pseudo_dirs = [""]  # noqa: RUF012
    reads: list[tuple[str, int]] = []  # noqa: RUF012

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return MemoryFileSystem._strip_protocol(path.removeprefix("countmem://"))

    def cat_file(self, path: str, start: Any = None, end: Any = None, **kwargs: Any) -> Any:
        data = super().cat_file(path, start=start, end=end, **kwargs)
        Counting.reads.append((self._strip_protocol(path), len(data)))
        return data


fsspec.register_implementation("countmem", Counting, clobber=True)
_names = itertools.count()


@pytest.fixture
def root() -> Iterator[str]:
    """A fresh store root on the counting filesystem."""
    url = f"countmem://sources-{next(_names)}"
    yield url
    Counting().rm(url.removeprefix("countmem://"), recursive=True)


def chunk_reads(prefix: str = "") -> list[str]:
    """The chunk objects read since the last ``Counting.reads.clear()``."""
    return [path for path, _ in Counting.reads if "/c/" in path and prefix in path]


SMALL = np.arange(6000, dtype=np.float64).reshape(100, 60) * 0.5 - 7
rng = np.random.default_rng(3)
BIG = rng.standard_normal((500, 400))  # 200,000 elements: the blocked and fused paths


def store(root: str, data: np.ndarray[Any, Any], chunks: tuple[int, ...], name: str) -> Any:
    array = zarr.create_array(
        f"{root}/{name}.zarr", shape=data.shape, chunks=chunks, dtype=data.dtype
    )
    array[...] = data
    return array


SELECTIONS: dict[str, Callable[[Any], Any]] = {
    "whole": lambda x: x,
    "rows": lambda x: x[3:47],
    "steps": lambda x: x[5:97:3, ::-7],
    "strided column": lambda x: x[::2, 3],
    "element": lambda x: x[7, 3],
    "negative": lambda x: x[-1, -30:],
    "empty": lambda x: x[5:5],
    "slice of slice": lambda x: x[10:90][::4, 1:][2:, ::5],
    "transpose": lambda x: x.T[3:50, 2:40:6],
    "newaxis": lambda x: x[None, 4:9, 1],
    "ellipsis": lambda x: x[..., 11],
}


@pytest.mark.parametrize("name", sorted(SELECTIONS))
def test_selections_equal_numpy(name: str, root: str, backend: str) -> None:
    z = store(root, SMALL, (10, 20), "a")
    select = SELECTIONS[name]
    x = la.open_zarr(f"{root}/a.zarr")
    assert (x.shape, x.dtype) == (SMALL.shape, SMALL.dtype)
    assert_same(select(x).compute(backend=backend), select(np.asarray(z)))


def test_chunks_read_on_threads_equal_numpy(root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "_PARALLEL_BYTES", 0)  # every read split by chunk
    z = store(root, SMALL, (10, 20), "a")
    x = la.open_zarr(f"{root}/a.zarr")
    whole = np.asarray(z)
    for name, select in SELECTIONS.items():
        Counting.reads.clear()
        assert_same(select(x).compute(cache=False), select(whole))
        if name == "steps":  # x[5:97:3, ::-7]: rows of 10 chunks, columns of all 3
            assert len(chunk_reads()) == 10 * 3


BIG_EXPRESSIONS: dict[str, Callable[[Any, Any], Any]] = {
    "slice": lambda m, x: x[17:433, 5::3],
    "fused": lambda m, x: m.sin(x[::2, 100:]) * 2 + x[::2, 100:] ** 2,
    "transposed": lambda m, x: x.T[::-1, 250:] + 1.5,
    "where": lambda m, x: m.where(x[:, 7:207] > 0.3, x[:, 7:207], -x[:, 7:207]),
}


@pytest.mark.parametrize("name", sorted(BIG_EXPRESSIONS))
@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_big_arrays_with_follow_on_expressions(name: str, backend_name: str, root: str) -> None:
    z = store(root, BIG, (64, 50), "big")
    build = BIG_EXPRESSIONS[name]
    expected = build(np, np.asarray(z))
    x = la.open_zarr(f"{root}/big.zarr")
    assert_same(build(la, x).compute(backend=backend_name), expected)


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_big_fused_reduction(backend_name: str, root: str) -> None:
    z = store(root, BIG, (64, 50), "big")
    data = np.asarray(z)[40:, :300] * 3 - 1
    x = la.open_zarr(f"{root}/big.zarr")
    result = (x[40:, :300] * 3 - 1).sum(axis=0).compute(backend=backend_name)
    kit.assert_reduction(result, data.sum(axis=0), "sum", data, axis=0)


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_big_masked_follow_on(backend_name: str, root: str) -> None:
    z = store(root, BIG, (64, 50), "big")
    data = np.asarray(z)[100:, ::2]
    expected = np.ma.masked_array(data, data > 0.5) * 2 + 1
    x = la.open_zarr(f"{root}/big.zarr")[100:, ::2]
    assert_same((la.masked_array(x, x > 0.5) * 2 + 1).compute(backend=backend_name), expected)


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_a_slice_reads_only_the_chunks_it_touches(backend_name: str, root: str) -> None:
    store(root, BIG, (64, 50), "big")
    x = la.open_zarr(f"{root}/big.zarr")
    cases: list[tuple[Any, int]] = [
        ((slice(0, 64), slice(0, 50)), 1),  # one chunk
        ((slice(60, 70), slice(0, 50)), 2),  # across a row boundary
        ((slice(None), 3), 8),  # one column of chunks
        ((slice(0, 500, 200), slice(0, 400, 120)), 3 * 4),  # steps skip chunks
        ((5, slice(None, None, -1)), 8),  # one row of chunks, reversed
    ]
    for index, count in cases:
        Counting.reads.clear()
        value = x[index].compute(backend=backend_name, cache=False)
        assert_same(value, BIG[index])
        assert len(chunk_reads()) == count, (index, chunk_reads())
    Counting.reads.clear()
    x.T[10:20, 3].compute(backend=backend_name, cache=False)  # x[3, 10:20]: one chunk
    assert len(chunk_reads()) == 1


def test_the_dask_array_keeps_the_native_chunks(root: str) -> None:
    store(root, BIG, (64, 50), "big")
    x = la.open_zarr(f"{root}/big.zarr")
    with la.config.set(dask_chunk_bytes=2**16):
        assert la.to_dask(x).chunks == ((64,) * 7 + (52,), (50,) * 8)
        # a region is cut where the storage's chunks are: each task reads its own
        assert la.to_dask(x[60:200:2, 5]).chunks == ((2, 32, 32, 4),)
        Counting.reads.clear()
        la.to_dask(x[60:200:2, 5]).blocks[1].compute()
        assert len(chunk_reads()) == 1


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_sharded_and_format_2_arrays(backend_name: str, root: str) -> None:
    data = np.arange(6000, dtype=np.int32).reshape(100, 60)
    sharded = zarr.create_array(
        f"{root}/s.zarr", shape=data.shape, chunks=(10, 10), shards=(20, 30), dtype="i4"
    )
    sharded[...] = data
    old = zarr.create_array(f"{root}/v2.zarr", shape=(50,), chunks=(7,), dtype="f4", zarr_format=2)
    old[...] = np.arange(50, dtype=np.float32)
    x = la.open_zarr(f"{root}/s.zarr")
    assert x.node.attr("chunks") == (20, 30)  # a shard is what one task reads
    assert_same(x[3:77:3, ::-7].compute(backend=backend_name), data[3:77:3, ::-7])
    y = la.open_zarr(f"{root}/v2.zarr")
    assert_same(y[::-3].compute(backend=backend_name), np.arange(50, dtype=np.float32)[::-3])


def test_tiny_native_chunks_are_read_several_per_task(root: str) -> None:
    store(root, SMALL, (5, 5), "tiny")
    x = la.open_zarr(f"{root}/tiny.zarr")
    dask_array = la.to_dask(x)
    assert dask_array.numblocks == (1, 1)  # 240 chunks of 200 bytes: one task
    assert_same(x[3:77:2].compute(backend="dask"), SMALL[3:77:2])


def test_the_digest_reads_nothing(root: str, no_compute: None) -> None:
    store(root, BIG, (64, 50), "big")
    Counting.reads.clear()
    x = la.open_zarr(f"{root}/big.zarr")
    digests = {x.node.digest, x[3:9].node.digest, x[3:9, ::2].node.digest}
    assert len(digests) == 3
    assert "reads 1 chunk" in (x[3:9, 2] * 2).explain()
    assert chunk_reads() == []
    assert x.node.digest == la.open_zarr(f"{root}/big.zarr").node.digest


def test_an_identity_names_the_data_wherever_it_is(root: str) -> None:
    store(root, SMALL, (10, 20), "one")
    store(root, SMALL, (10, 20), "two")
    identity = "dataset:0123abcd/train/x"
    first = la.open_source("zarr", f"{root}/one.zarr", identity=identity)
    second = la.open_source("zarr", f"{root}/two.zarr", identity=identity)
    assert first.node is second.node
    assert first[2:5].node.digest == second[2:5].node.digest
    assert "countmem" not in la.to_json(first[2:5])
    # without an identity, the URL is the name
    one, two = la.open_zarr(f"{root}/one.zarr"), la.open_zarr(f"{root}/two.zarr")
    assert one.node.digest != two.node.digest
    assert_same(first[2:5].compute(), SMALL[2:5])


def test_an_identity_not_opened_here_is_resolved_or_refused(
    root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(root, SMALL, (10, 20), "a")
    x = la.open_source("zarr", f"{root}/a.zarr", identity="dataset:feed/test/x")
    text = la.to_json(x[1:3])
    monkeypatch.setattr(readers, "_LOCATIONS", {})
    back = la.from_json(text)
    with pytest.raises(SourceNotFound, match="dataset:feed/test/x"):
        back.compute(cache=False)
    location = readers.Location.of(readers.canonical_url(f"{root}/a.zarr"))
    token = readers.reader("zarr").token(location)
    monkeypatch.setitem(readers.RESOLVERS, "dataset", lambda _: ("zarr", location, token))
    assert_same(back.compute(cache=False), SMALL[1:3])


def test_documents_round_trip(root: str) -> None:
    store(root, SMALL, (10, 20), "a")
    x = la.open_zarr(f"{root}/a.zarr")
    for value in (x, x[3:9, ::-2] * 2, la.open_source("zarr", f"{root}/a.zarr", identity="i:1")):
        assert la.from_json(la.to_json(value)).node is value.node
    planned = make_plan([x[3:9, ::2].node], small_bytes=0).outputs[0]
    assert planned.attr("region") is not None
    assert la.from_json(la.to_json(wrap(planned))).node is planned


def test_a_document_naming_a_source_twice_is_refused(root: str) -> None:
    store(root, SMALL, (10, 20), "a")
    text = la.to_json(la.open_zarr(f"{root}/a.zarr"))
    bad = text.replace('"path":""', '"identity":"dataset:x","path":""')
    assert bad != text
    with pytest.raises(BadAttribute):
        la.from_json(bad)


def test_explain_shows_the_bytes_read(root: str) -> None:
    store(root, BIG, (64, 50), "big")
    x = la.open_zarr(f"{root}/big.zarr")
    text = x[0:64, 0:50].explain()
    assert "reads 1 chunk, 25.0 KiB" in text
    assert "bytes read 25.0 KiB" in text
    whole = make_plan([(x * 2).node]).bytes_read
    sliced = make_plan([(x[::2, 3] * 2).node]).bytes_read
    assert (whole, sliced) == (BIG.nbytes, 8 * 64 * 50 * 8 - (64 - 52) * 50 * 8)


def test_a_changed_store_is_refused(root: str, backend: str) -> None:
    z = store(root, SMALL, (10, 20), "a")
    x = la.open_zarr(f"{root}/a.zarr")
    z[0, 0] = 99.0  # a chunk rewritten in place
    with pytest.raises(SourceChanged, match="changed since it was opened") as refused:
        x[0:3].compute(backend=backend, cache=False)
    message = str(refused.value)  # names its store (its canonical URL) once, nothing blank
    assert "a.zarr changed since" in message and "  " not in message
    assert_same(la.open_zarr(f"{root}/a.zarr")[0, 0].compute(backend=backend), np.float64(99.0))


def test_bad_input_raises_typed_errors_at_the_users_line(root: str) -> None:
    group = zarr.open_group(f"{root}/g.zarr", mode="w")
    group.create_array("train/x", shape=(3,), dtype="i4")
    cases: list[tuple[type[Exception], Callable[[], Any], str]] = [
        (SourceError, lambda: la.open_source("hdf5", f"{root}/g.zarr"), "unknown reader"),
        (SourceNotFound, lambda: la.open_zarr(f"{root}/missing.zarr"), "no zarr array"),
        (SourceNotFound, lambda: la.open_zarr(f"{root}/g.zarr", "train/y"), "no zarr array"),
        (SourceError, lambda: la.open_zarr(f"{root}/g.zarr", "train"), "group, not an array"),
        (SourceNotFound, lambda: la.open_source("npy", f"{root}/none.npy"), "no npy file"),
        (SourceNotFound, lambda: la.open_source("parquet", f"{root}/no.parquet", "a"), "Parquet"),
    ]
    for kind, call, words in cases:
        with pytest.raises(kind, match=words) as info:
            call()
        assert "test_sources.py" in str(info.value)
    assert la.open_zarr(f"{root}/g.zarr", "/train/x/").shape == (3,)


# --- npy and Parquet -----------------------------------------------------------------


def _npy(root: str, name: str, data: np.ndarray[Any, Any]) -> str:
    url = f"{root}/{name}.npy"
    with fsspec.open(url, "wb") as file:
        np.save(file, data)
    return url


NPY = {
    "1-d": np.arange(250_000, dtype=np.int32) * 3 - 9,
    "3-d": rng.standard_normal((20, 30, 40)).astype(np.float32),
    "fortran": np.asfortranarray(rng.standard_normal((70, 50))),
    "scalar": np.array(2.5),
}


@pytest.mark.parametrize("name", sorted(NPY))
@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_npy_files(name: str, backend_name: str, root: str) -> None:
    data = NPY[name]
    x = la.open_source("npy", _npy(root, "a", data))
    assert (x.shape, x.dtype) == (data.shape, data.dtype)
    index = (slice(3, None, 4),) * min(data.ndim, 2) + ((1,) if data.ndim == 3 else ())
    for select in (lambda a: a, lambda a: a[index], lambda a: a[..., ::-3] if a.ndim else a):
        assert_same(select(x).compute(backend=backend_name, cache=False), select(data))


def test_an_npy_slice_reads_only_its_bytes(root: str) -> None:
    data = NPY["1-d"]
    x = la.open_source("npy", _npy(root, "a", data))
    Counting.reads.clear()
    assert_same(x[1000:1010].compute(cache=False), data[1000:1010])
    assert sum(size for path, size in Counting.reads if path.endswith("a.npy")) < 1000


def _parquet(root: str, columns: dict[str, Any], row_group_size: int) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    url = f"{root}/t.parquet"
    with fsspec.open(url, "wb") as file:
        pq.write_table(pa.table(columns), file, row_group_size=row_group_size)
    return url


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
def test_parquet_columns(backend_name: str, root: str) -> None:
    pytest.importorskip("pyarrow")
    values = np.arange(210_000, dtype=np.float64) / 7
    url = _parquet(root, {"v": values, "flag": values > 3, "s": ["a"] * len(values)}, 50_000)
    x = la.open_source("parquet", url, "v")
    assert (x.shape, x.dtype, x.node.attr("chunks")) == ((210_000,), values.dtype, (50_000,))
    for index in (slice(None), slice(120_000, 120_010), slice(None, None, -9_999), 7):
        assert_same(x[index].compute(backend=backend_name, cache=False), values[index])
    flag = la.open_source("parquet", url, "flag")
    assert_same(flag[::1000].compute(backend=backend_name), (values > 3)[::1000])
    with pytest.raises(SourceError, match="not a number"):
        la.open_source("parquet", url, "s")
    with pytest.raises(SourceNotFound, match="columns: v, flag, s"):
        la.open_source("parquet", url, "w")


def test_parquet_nulls_are_refused(root: str) -> None:
    pytest.importorskip("pyarrow")
    url = _parquet(root, {"v": [1.0, None, 3.0]}, 2)
    with pytest.raises(SourceError, match="nulls"):
        la.open_source("parquet", url, "v")


# --- any basic index, composed ---------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@st.composite
def basic_index(draw: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """A basic index of ``shape``: per dimension an int or a slice (any signs and steps)."""
    index: list[Any] = []
    for size in shape:
        if size and draw(st.integers(0, 4)) == 0:
            index.append(draw(st.integers(-size, size - 1)))
            continue
        bound = st.none() | st.integers(-size - 3, size + 3)
        step = draw(st.none() | st.integers(-9, 9).filter(bool))
        index.append(slice(draw(bound), draw(bound), step))
    return tuple(index)


@hypothesis.settings(max_examples=40)
@hypothesis.given(data=st.data())
def test_any_basic_index_composed_equals_numpy(data: Any) -> None:
    root = "countmem://sources-property"
    if not Counting().exists("/sources-property/a.zarr/zarr.json"):
        store(root, SMALL, (10, 20), "a")
        _npy(root, "c", SMALL)
        _npy(root, "f", np.asfortranarray(SMALL))
    kind = data.draw(st.sampled_from(["zarr", "npy c", "npy fortran"]))
    if kind == "zarr":
        x = la.open_zarr(f"{root}/a.zarr")
    else:
        x = la.open_source("npy", f"{root}/{'c' if kind == 'npy c' else 'f'}.npy")
    expected = SMALL
    for _ in range(data.draw(st.integers(1, 3))):
        if x.ndim == 2 and data.draw(st.booleans()):
            x, expected = x.T, expected.T
        index = data.draw(basic_index(x.shape))
        x, expected = x[index], expected[index]
    backend_name = data.draw(st.sampled_from(["numpy", "dask"]))
    threads = data.draw(st.booleans())  # numpy's read split by chunk, on threads
    saved = sources._PARALLEL_BYTES
    sources._PARALLEL_BYTES = 0 if threads else saved
    try:
        with la.config.set(dask_chunk_bytes=1024):
            assert_same(x.compute(backend=backend_name, cache=False), expected)
    finally:
        sources._PARALLEL_BYTES = saved
