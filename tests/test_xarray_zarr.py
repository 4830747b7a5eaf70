"""xarray's zarr I/O with lazyarray-backed variables: ``to_zarr`` writes them slab by slab
(or through dask.array.store), ``open_zarr(chunked_array_type="lazyarray")`` opens
sources that read nothing until computed, and then only the regions asked for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

import lazyarray as la  # noqa: E402
from lazyarray.errors import UnsupportedOperation  # noqa: E402
from lazyarray.ops import OPS  # noqa: E402
from lazyarray.proxy import BaseArray  # noqa: E402
from lazyarray.xarray import LazyArrayChunkManager, rows, sources  # noqa: E402

OPEN = {"chunked_array_type": "lazyarray", "chunks": {}, "consolidated": False}


@pytest.fixture(autouse=True, scope="module")
def _rows_registered_only_here() -> Iterator[None]:
    """As in test_xarray.py: the manager's rows leave with this module."""
    before = set(OPS)
    yield
    for row in rows.ROWS:
        if row.name not in before:
            OPS.pop(row.name, None)


@pytest.fixture
def few_chunks() -> Iterator[None]:
    """The "chunks" mode's 1 KiB dask chunks, but no more than a few dozen of them on
    these large arrays: several chunks are what is tested, not thousands of tasks."""
    current = la.config.options.dask_chunk_bytes
    with la.config.set(dask_chunk_bytes=max(current, 2**16)):
        yield


@pytest.fixture
def eager() -> Any:
    values = np.random.default_rng(3).standard_normal((40, 30))
    return xr.Dataset(
        {"a": (("x", "y"), values), "n": (("x",), np.arange(40))},
        coords={"x": np.arange(40) * 10},
    )


@pytest.mark.parametrize("name", ["numpy", "dask"])
def test_round_trip(name: str, eager: Any, tmp_path: Path) -> None:
    lazy = eager.chunk({"x": 10}, chunked_array_type="lazyarray") * 2
    with la.config.set(backend=name, dask_chunk_bytes=1024):  # several slabs / tasks
        lazy.to_zarr(tmp_path / "s.zarr", mode="w", consolidated=False)
    back = xr.open_zarr(tmp_path / "s.zarr", **OPEN)
    assert isinstance(back.a.data, BaseArray)
    assert back.a.chunks == ((10,) * 4, (30,))  # the store's chunks, from the chunks written
    with la.config.set(backend=name):
        xr.testing.assert_identical(back.compute(), eager * 2)
        part = back.a.isel(x=slice(5, 25), y=slice(None, None, -3)).compute()
    xr.testing.assert_identical(part, (eager * 2).a.isel(x=slice(5, 25), y=slice(None, None, -3)))


def test_opening_and_reprs_read_nothing(eager: Any, tmp_path: Path, no_compute: None) -> None:
    eager.to_zarr(tmp_path / "s.zarr", mode="w", consolidated=False)
    back = xr.open_zarr(tmp_path / "s.zarr", **OPEN)
    derived = (back.a - back.a.mean("x")) / back.n
    assert repr(back) and back._repr_html_() and repr(derived)
    assert isinstance(derived.data, BaseArray)


def test_a_slice_is_read_alone(tmp_path: Path) -> None:
    """A source read through the wrapped array's ``__getitem__`` gets the slices the
    planner pushed into it: only those elements are read."""
    reader = Recording(np.arange(200_000.0).reshape(400, 500))
    found = LazyArrayChunkManager().from_array(reader, chunks=(100, 500))
    assert found.chunks == ((100,) * 4, (500,))
    assert reader.keys == []  # made without reading (identified by a token)
    assert found.node.digest and reader.keys == []
    with la.config.set(small_bytes=0):
        total = float(found[10:20, ::-50].sum())
    assert total == float(reader.values[10:20, ::-50].sum())
    assert reader.read == 10 * 10


def test_the_region_source_on_both_backends(backend: str, few_chunks: None) -> None:
    values = np.random.default_rng(4).standard_normal((300, 700))
    reader = Recording(values)
    x = sources.region_source(reader)
    np.testing.assert_array_equal((x[::-1, 3:] * 2).compute(backend=backend), values[::-1, 3:] * 2)
    np.testing.assert_array_equal(x[7].compute(backend=backend), values[7])


def test_decoded_variables_read_through_xarray(tmp_path: Path) -> None:
    ds = xr.Dataset({"m": (("x",), np.array([1, -1, 3], dtype=np.int16))})
    ds.m.encoding["_FillValue"] = -1
    ds.to_zarr(tmp_path / "m.zarr", mode="w", consolidated=False)
    back = xr.open_zarr(tmp_path / "m.zarr", **OPEN)
    assert back.m.data.node.op == rows.READ  # the CF decoding stays xarray's
    expected = xr.open_zarr(tmp_path / "m.zarr", consolidated=False).compute()
    xr.testing.assert_identical(back.compute(), expected)


def test_zarr_stores_at_a_url_open_as_dataset_sources(eager: Any, tmp_path: Path) -> None:
    """A zarr array under xarray's plain lazy indexing opens as the ``read`` source of
    ``open_source("zarr", url, path)``: identified by its store, never by its data, and
    a selection is pushed into the read (``explain`` names the chunks)."""
    eager.to_zarr(tmp_path / "s.zarr", mode="w", consolidated=False)
    back = xr.open_zarr(tmp_path / "s.zarr", **OPEN)
    for name in ("a", "n"):
        node = back[name].data.node
        assert node.op == "read" and node.attr("path") == name, node
    plan = back["a"].data[:3].explain()
    assert "reads 1 chunk" in plan and str(tmp_path / "s.zarr") in plan
    xr.testing.assert_identical(back.compute(), eager)
    xr.testing.assert_identical(back.isel(x=slice(2, 5)).compute(), eager.isel(x=slice(2, 5)))


@pytest.mark.parametrize("name", ["numpy", "dask"])
def test_a_delayed_write_writes_when_computed(
    name: str, eager: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``compute=False``: xarray writes the metadata now and returns a dask object; the
    data is written when it is computed, on the backend chosen when it was made."""
    pytest.importorskip("dask")
    from lazyarray.xarray import store

    used: list[str] = []
    real = store._write
    monkeypatch.setattr(store, "_write", lambda *a: used.append(a[-1]) or real(*a))
    lazy = (eager.chunk({"x": 10}, chunked_array_type="lazyarray") * 2).assign(n=eager.n)
    path = tmp_path / "s.zarr"
    with la.config.set(backend=name):
        delayed = lazy.to_zarr(path, mode="w", consolidated=False, compute=False)
    assert np.isnan(xr.open_zarr(path, consolidated=False).a.values).all()  # not yet
    assert not used
    delayed.compute()
    assert used == [name]
    back = xr.open_zarr(path, consolidated=False).compute()
    xr.testing.assert_identical(back, (eager * 2).assign(n=eager.n))


def test_a_delayed_write_needs_dask(
    eager: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from lazyarray.xarray.store import store

    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.delayed", None)
    target = np.zeros(3)
    with pytest.raises(UnsupportedOperation, match=r"compute=False.*dask is not installed"):
        store([la.Array(np.ones(3))], [target], compute=False)
    assert not target.any()


def test_writing_into_a_region(eager: Any, tmp_path: Path) -> None:
    lazy = eager.chunk({"x": 10}, chunked_array_type="lazyarray")
    lazy.to_zarr(tmp_path / "s.zarr", mode="w", consolidated=False)
    update = (eager.isel(x=slice(10, 20)) + 100).chunk(chunked_array_type="lazyarray")
    update.drop_vars("x").to_zarr(
        tmp_path / "s.zarr", region={"x": slice(10, 20)}, consolidated=False
    )
    expected = eager.copy(deep=True)
    expected["a"][10:20] += 100
    expected["n"][10:20] += 100
    actual = xr.open_zarr(tmp_path / "s.zarr", consolidated=False).compute()
    xr.testing.assert_identical(actual, expected)


class Recording:
    """An array read through ``__getitem__`` that counts what it gives out."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim
        self.keys: list[Any] = []
        self.read = 0

    def __getitem__(self, key: Any) -> np.ndarray:
        self.keys.append(key)
        part = self.values[key]
        self.read += part.size
        return part


@pytest.mark.parametrize("name", ["numpy", "dask"])
def test_appending(name: str, eager: Any, tmp_path: Path) -> None:
    first = eager.chunk({"x": 10}, chunked_array_type="lazyarray")
    second = (eager.assign_coords(x=eager.x + 400) + 100).chunk(
        {"x": 10}, chunked_array_type="lazyarray"
    )
    with la.config.set(backend=name, dask_chunk_bytes=1024):
        first.to_zarr(tmp_path / "s.zarr", mode="w", consolidated=False)
        second.to_zarr(tmp_path / "s.zarr", append_dim="x", consolidated=False)
    actual = xr.open_zarr(tmp_path / "s.zarr", consolidated=False).compute()
    xr.testing.assert_identical(
        actual, xr.concat([eager, eager.assign_coords(x=eager.x + 400) + 100], "x")
    )
