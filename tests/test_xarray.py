"""lazyarray as xarray's chunked array type (after cubed-xarray's suite, itself adapted
from xarray's dask tests): Dataset and DataArray operations on lazyarray-backed
variables stay lazy, compute nothing until asked, and equal numpy-backed xarray's results
bit for bit; the chunk manager's chunks, compute, functions and namespace."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

import lazyarray as la  # noqa: E402
from lazyarray.errors import ShapeError  # noqa: E402
from lazyarray.ops import OPS  # noqa: E402
from lazyarray.proxy import BaseArray  # noqa: E402
from lazyarray.xarray import LazyArrayChunkManager, manager, rows  # noqa: E402
from lazyarray.xarray.chunks import normalize_chunks  # noqa: E402

CHUNKED = {"chunked_array_type": "lazyarray"}


@pytest.fixture(autouse=True, scope="module")
def _rows_registered_only_here() -> Iterator[None]:
    """The chunk manager's rows are registered when first used: the suite's checks over
    every row (the shipped schema) must not see them after this module."""
    before = set(OPS)
    yield
    for row in rows.ROWS:
        if row.name not in before:
            OPS.pop(row.name, None)


def lazy(*objects: Any) -> None:
    """Every data variable holds a lazyarray."""
    for obj in objects:
        found = obj.data_vars.items() if isinstance(obj, xr.Dataset) else [(obj.name, obj)]
        for name, variable in found:
            assert isinstance(variable.data, BaseArray), name


def assert_lazy_identical(expected: Any, actual: Any) -> None:
    lazy(actual)
    xr.testing.assert_identical(actual.compute(), expected)


@pytest.fixture
def few_chunks() -> Iterator[None]:
    """The "chunks" mode's 1 KiB dask chunks, but no more than a few dozen of them on
    these large arrays: several chunks are what is tested, not thousands of tasks."""
    current = la.config.options.dask_chunk_bytes
    with la.config.set(dask_chunk_bytes=max(current, 2**16)):
        yield


@pytest.fixture
def values() -> np.ndarray:
    data = np.random.default_rng(0).standard_normal((4, 6))
    data[1, 2] = np.nan
    return data


@pytest.fixture
def eager(values: np.ndarray) -> Any:
    return xr.DataArray(values, coords={"x": [1, 2, 3, 4]}, dims=("x", "y"), name="foo")


@pytest.fixture
def chunked(eager: Any) -> Any:
    return eager.chunk({"x": 2}, **CHUNKED)


# --- the operations: each written once, run on numpy-backed and lazy arrays ------------

OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "negative": lambda a: -a,
    "abs": abs,
    "round": lambda a: a.round(),
    "add": lambda a: a + a,
    "radd": lambda a: 1 + a,
    "broadcast": lambda a: a + a.isel(y=0),
    "compare": lambda a: a > 0,
    "transpose": lambda a: a.transpose("y", "x"),
    "T": lambda a: a.T,
    "mean": lambda a: a.mean(),
    "mean_x": lambda a: a.mean("x"),
    "mean_noskip": lambda a: a.mean("x", skipna=False),
    "sum_y": lambda a: a.sum("y"),
    "sum_noskip": lambda a: a.sum(skipna=False),
    "std": lambda a: a.std(),
    "std_ddof": lambda a: a.std("x", ddof=1),
    "var": lambda a: a.var("y"),
    "min": lambda a: a.min("x"),
    "max": lambda a: a.max(),
    "prod": lambda a: a.prod("y"),
    "median": lambda a: a.median("y"),
    "quantile": lambda a: a.quantile(0.5, "y"),
    "count": lambda a: a.count("x"),
    "any": lambda a: (a > 0).any("x"),
    "all": lambda a: (a > -5).all(),
    "argmax": lambda a: a.fillna(0).argmax("x"),
    "cumsum": lambda a: a.cumsum("y"),
    "where_other": lambda a: a.where(a > 0, -1.0),
    "xr_where": lambda a: xr.where(a > 0, a, 0),
    "fillna": lambda a: a.fillna(0.5),
    "isnull": lambda a: a.isnull(),
    "isel": lambda a: a.isel(x=slice(1, 3), y=[0, 2]),
    "isel_int": lambda a: a.isel(x=1),
    "sel": lambda a: a.sel(x=[2, 4]),
    "sel_slice": lambda a: a.sel(x=slice(2, 3)),
    "concat": lambda a: xr.concat([a[:2], a[2:]], "x"),
    "astype": lambda a: a.astype("float32"),
    "clip": lambda a: a.clip(-0.5, 0.5),
    "ufunc": np.sin,
    "ufunc2": lambda a: np.maximum(a, 0),
    "roll": lambda a: a.roll(x=1),
    "diff": lambda a: a.diff("x"),
    "squeeze": lambda a: a.isel(x=[0]).squeeze(),
    "expand_dims": lambda a: a.expand_dims("z"),
    "stack": lambda a: a.stack(z=("x", "y")),
    "coarsen": lambda a: a.coarsen(y=2).mean(),
    "dot": lambda a: a.fillna(0).dot(a.fillna(0)),
    "zeros_like": xr.zeros_like,
    "full_like": lambda a: xr.full_like(a, 3.0),
    "groupby_mean": lambda a: a.groupby("x").mean(),
    "groupby_first": lambda a: a.groupby("x").first(),
    "dataset_sum": lambda a: a.to_dataset().sum(),
    "assign": lambda a: a.to_dataset().assign(bar=a * 2),
    # missing values filled by xarray (its fill value read from a lazyarray DType)
    "where": lambda a: a.where(a > 0),
    "shift": lambda a: a.shift(x=1),
    "pad": lambda a: a.pad(x=1),
    "reindex": lambda a: a.reindex(x=[1, 2, 5]),
    # a 0-d lazy index (argmax's) takes a coordinate's label
    "idxmax": lambda a: a.idxmax("x"),
    "idxmin": lambda a: a.idxmin("x"),
    "idxmax_noskip": lambda a: a.idxmax("x", skipna=False),
    "idxmin_noskip": lambda a: a.idxmin("x", skipna=False),
    "idxmax_1d": lambda a: a.isel(y=0).idxmax(),
    "idxmin_1d_noskip": lambda a: a.isel(y=2).idxmin(skipna=False),
    "idxmax_int": lambda a: (a.fillna(0) * 10).astype(int).idxmax("x", skipna=True),
    "idxmin_all_missing": lambda a: a.where(a > 10).idxmin("x", fill_value=-1),
    "idxmax_all_missing": lambda a: a.where(a > 10).idxmax("x"),
    "weighted_mean": lambda a: a.weighted(a.x * 1.0).mean("x"),
    "apply_ufunc": lambda a: xr.apply_ufunc(np.tanh, a, dask="parallelized", output_dtypes=[float]),
    "apply_ufunc_core": lambda a: xr.apply_ufunc(
        lambda z: np.nansum(z, axis=-1),
        a,
        input_core_dims=[["y"]],
        dask="parallelized",
        output_dtypes=[float],
    ),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_operations_stay_lazy_and_equal_numpy_backed_xarray(
    name: str, eager: Any, chunked: Any, no_compute: None
) -> None:
    operation = OPERATIONS[name]
    actual = operation(chunked)  # built where computing fails the test
    lazy(actual)
    with la.config.set(backend="numpy", implicit_compute="allow"):
        xr.testing.assert_identical(actual.compute(), operation(eager))


def test_rolling(eager: Any, chunked: Any) -> None:
    assert_lazy_identical(eager.rolling(x=2).mean(), chunked.rolling(x=2).mean())


# xarray's rolling of a lazy array is lazyarray.lib.stride_tricks.sliding_window_view and
# reductions over the window axes; numpy-backed xarray's, on these two-dimensional
# arrays, the same: the values are equal bit for bit
ROLLING: dict[str, Callable[[Any], Any]] = {
    "mean": lambda a: a.rolling(y=3).mean(),
    "sum": lambda a: a.rolling(x=2).sum(),
    "sum min_periods": lambda a: a.rolling(y=3, min_periods=2).sum(),
    "mean min_periods": lambda a: a.rolling(y=4, min_periods=1).mean(),
    "nanmax min_periods": lambda a: a.rolling(y=3, min_periods=1).reduce(np.nanmax),
    "std": lambda a: a.rolling(y=3).std(),
    "count": lambda a: a.rolling(y=3).count(),
    "median": lambda a: a.rolling(y=3).median(),
    "two dims": lambda a: a.rolling(x=2, y=3).mean(),
    "center": lambda a: a.rolling(y=3, center=True).mean(),
    "center two dims": lambda a: a.rolling(x=3, y=2, center={"x": True, "y": False}).sum(),
    "construct": lambda a: a.rolling(y=3).construct("w"),
    "construct center fill": lambda a: a.rolling(x=3, center=True).construct("w", fill_value=0.5),
    "construct stride": lambda a: a.rolling(y=2).construct("w", stride=2),
    "dataset": lambda a: a.to_dataset().rolling(x=2, center=True).mean(),
}


@pytest.mark.parametrize("backend_name", ["numpy", "dask"])
@pytest.mark.parametrize("name", list(ROLLING))
def test_rolling_equals_numpy_backed_xarray(
    name: str, backend_name: str, eager: Any, chunked: Any
) -> None:
    actual = ROLLING[name](chunked)
    lazy(actual)
    xr.testing.assert_identical(actual.compute(backend=backend_name), ROLLING[name](eager))


@pytest.mark.parametrize("reduction", ["max", "min", "argmax", "argmin"])
def test_rolling_max(eager: Any, chunked: Any, reduction: str) -> None:
    """Their fill is the dtype's infinity, which xarray asks numpy's dtype tests for."""
    assert_lazy_identical(
        getattr(eager.rolling(y=3, min_periods=1), reduction)(),
        getattr(chunked.rolling(y=3, min_periods=1), reduction)(),
    )


def test_rolling_large(few_chunks: None) -> None:
    values = np.random.default_rng(2).standard_normal((500, 400))
    eager = xr.DataArray(values, dims=("x", "y"))
    chunked = eager.chunk({"x": 100}, **CHUNKED)
    for backend_name in ("numpy", "dask"):
        actual = chunked.rolling(x=3, y=5, center=True).mean()
        lazy(actual)
        expected = eager.rolling(x=3, y=5, center=True).mean()
        xr.testing.assert_identical(actual.compute(backend=backend_name), expected)


def test_large_arrays_take_the_blocked_paths(backend: str, few_chunks: None) -> None:
    values = np.random.default_rng(1).standard_normal((500, 400))
    eager = xr.Dataset({"a": (("x", "y"), values), "b": (("x",), values[:, 0])})
    chunked = eager.chunk({"x": 100}, **CHUNKED)

    def work(ds: Any) -> Any:
        return ds.assign(scaled=(ds.a * 2 + ds.b) / 3, where=xr.where(ds.a > 0, ds.a, ds.b))

    def sliced(ds: Any) -> Any:
        return np.sqrt(abs(ds.a[10:400:3, ::-2]))

    for operation in (work, sliced):
        actual = operation(chunked)
        lazy(actual)
        xr.testing.assert_identical(actual.compute(backend=backend), operation(eager))
    reduced = chunked.a.mean("y").compute(backend=backend)
    xr.testing.assert_allclose(reduced, eager.a.mean("y"), rtol=1e-14)


# --- laziness, reprs, compute ------------------------------------------------------


def test_wrapping_a_proxy_is_lazy_and_reprs_compute_nothing(no_compute: None) -> None:
    data = la.Array(np.arange(24.0).reshape(4, 6)) * 2
    array = xr.DataArray(data, dims=("x", "y"), coords={"x": [1, 2, 3, 4]}, name="v")
    ds = array.to_dataset().assign(w=array.mean("y") + array)
    assert array.data is data
    from xarray.namedarray.pycompat import is_chunked_array
    from xarray.namedarray.utils import is_duck_array, is_duck_dask_array

    assert is_duck_array(data) and is_chunked_array(data) and not is_duck_dask_array(data)
    texts = [repr(array), array._repr_html_(), repr(ds), ds._repr_html_(), str(ds.v.variable)]
    assert all(texts)
    assert "lazyarray.Array<multiply, chunksize=(4, 6)" in repr(ds)
    assert ds.chunks == {"x": (4,), "y": (6,)}
    assert isinstance(pickle.loads(pickle.dumps(ds)).w.data, BaseArray)


def test_values_and_compute_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = manager.compute_nodes

    def counting(nodes: Any, **kwargs: Any) -> Any:
        calls.append(len(nodes))
        return real(nodes, **kwargs)

    monkeypatch.setattr(manager, "compute_nodes", counting)
    data = la.Array(np.arange(24.0).reshape(4, 6))
    ds = xr.Dataset({"a": (("x", "y"), data), "b": (("x", "y"), data + 1)})
    computed = ds.compute()
    assert calls == [2]  # every variable in one compute: what they share runs once
    assert all(isinstance(v.data, np.ndarray) for v in computed.variables.values())
    assert isinstance(ds.a.data, BaseArray)  # compute returns a new object
    np.testing.assert_array_equal(ds.b.values, np.arange(24.0).reshape(4, 6) + 1)
    loaded = ds.load()
    assert isinstance(loaded.a.data, np.ndarray)


@pytest.mark.parametrize("name", ["numpy", "dask"])
def test_compute_runs_on_the_chosen_backend(
    name: str, eager: Any, chunked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    selected = la.get_backend(name)
    real = type(selected).execute

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        ran.append(self.name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(selected), "execute", recording)
    expected = (eager * 2).std("y")
    with la.config.set(small_bytes=0):  # planned: each backend's execute runs it
        with la.config.set(backend=name):
            xr.testing.assert_identical((chunked * 2).std("y").compute(), expected)
        again = (chunked * 2).std("y").compute(backend=name, cache=False)
        xr.testing.assert_identical(again, expected)
    assert ran == [name, name]


def test_compute_takes_every_keyword_of_lazyarrays_compute(
    chunked: Any, eager: Any, tmp_path: Any
) -> None:
    from lazyarray.assets import Asset, register_asset_type
    from lazyarray.execution.compute import COMPUTE_KEYWORDS

    opened: list[str] = []

    class Noted(Asset):
        def init(self) -> None:
            opened.append(self.id)

    register_asset_type("noted_for_xarray", Noted)
    spec = [{"id": "noted", "type": "noted_for_xarray", "scope": "process"}]
    expected = (eager * 3).mean("y")
    computed = (chunked * 3).mean("y").compute(assets=spec, cache=False, backend="numpy")
    xr.testing.assert_identical(computed, expected)
    assert opened == ["noted"]
    loaded = (chunked * 3).mean("y").load(assets=spec, cache=False, timeout=60, block=True)
    xr.testing.assert_identical(loaded, expected)
    assert opened == ["noted", "noted"]
    defaults = manager._DEFAULTS  # every public keyword, at its default, passes
    assert defaults.keys() == COMPUTE_KEYWORDS
    (value,) = LazyArrayChunkManager().compute(la.Array(np.ones(2)) * 2, **defaults)
    np.testing.assert_array_equal(value, [2.0, 2.0])
    with pytest.raises(TypeError, match=r"unexpected keyword.*bogus.*lazyarray's are"):
        chunked.compute(bogus=1)
    for refused in ({"block": False}, {"file": tmp_path / "x.npy"}, {"format": "json"}):
        with pytest.raises(la.errors.ComputeArgumentError, match=f"so {next(iter(refused))}"):
            chunked.compute(**refused)


def test_persist_keeps_lazy_arrays_with_their_chunks(chunked: Any, eager: Any) -> None:
    persisted = (chunked + 1).chunk({"y": 3}, **CHUNKED).persist()
    assert isinstance(persisted.data, BaseArray)
    assert persisted.data.literal_value is not None
    assert persisted.chunks == ((2, 2), (3, 3))
    xr.testing.assert_identical(persisted.compute(), eager + 1)


# --- chunks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ({}, ((2, 2), (6,))),
        (3, ((3, 1), (3, 3))),
        ({"x": 3, "y": 3}, ((3, 1), (3, 3))),
        ({"x": 3}, ((3, 1), (6,))),
        ({"x": (3, 1)}, ((3, 1), (6,))),
        ({"y": -1}, ((2, 2), (6,))),
        ("16B", ((2, 2), (1,) * 6)),
    ],
)
def test_chunk_records_chunks(chunks: Any, expected: Any, chunked: Any, eager: Any) -> None:
    rechunked = chunked.chunk(chunks, **CHUNKED)
    assert rechunked.chunks == expected
    assert rechunked.chunksizes == dict(zip(("x", "y"), expected, strict=True))
    dataset = chunked.to_dataset().chunk(chunks, **CHUNKED)
    assert dataset.chunks == dict(zip(("x", "y"), expected, strict=True))
    assert_lazy_identical(eager, rechunked)


def test_chunk_of_numpy_backed_data_and_of_other_types(eager: Any) -> None:
    ds = xr.Dataset({"foo": eager, "name": ("x", np.array(["a", "b", "c", "d"]))})
    chunked = ds.chunk({"x": 2}, **CHUNKED)
    assert isinstance(chunked.foo.data, BaseArray)
    assert chunked.foo.data.literal_value is eager.values  # wrapped, not copied
    assert isinstance(chunked.name.data, np.ndarray)  # text stays numpy's
    xr.testing.assert_identical(chunked.compute(), ds)


def test_chunk_without_a_type_takes_xarrays_chunk_manager_option(eager: Any, chunked: Any) -> None:
    """``.chunk()`` without ``chunked_array_type`` uses xarray's ``chunk_manager`` option
    (dask by default, even for a lazyarray variable); set to lazyarray it stays lazy."""
    pytest.importorskip("dask")
    assert type(chunked.chunk({"y": 3}).data).__module__.startswith("dask")
    with xr.set_options(chunk_manager="lazyarray"):
        rechunked = chunked.chunk({"y": 3})
        made = eager.chunk({"x": 1})
    assert isinstance(rechunked.data, BaseArray) and rechunked.chunks == ((2, 2), (3, 3))
    assert isinstance(made.data, BaseArray) and made.chunks == ((1, 1, 1, 1), (6,))
    xr.testing.assert_identical(made.compute(backend="dask", cache=False), eager)


def test_normalize_chunks() -> None:
    assert normalize_chunks(2, (5, 3)) == ((2, 2, 1), (2, 1))
    assert normalize_chunks((None, -1), (4, 6), previous_chunks=((1, 3), (6,))) == (
        (1, 3),
        (6,),
    )
    assert normalize_chunks("auto", (0, 5)) == ((0,), (5,))
    assert normalize_chunks("auto", (1000,), limit=800, dtype="f8") == ((100,) * 10,)
    sizes = normalize_chunks("auto", (64, 64), limit=8 * 256, dtype="f8", previous_chunks=(8, 8))
    assert sizes == ((16,) * 4, (16,) * 4)
    with pytest.raises(ShapeError, match="same length"):
        normalize_chunks((1, 2), (4,))
    with pytest.raises(ShapeError, match="add up"):
        normalize_chunks(((1, 2),), (4,))


def test_proxy_chunks_and_rechunk() -> None:
    x = la.Array(np.zeros((5, 0, 3)))
    assert x.chunks == ((5,), (0,), (3,))
    y = x.rechunk((2, None, (1, 2)))
    assert y.chunks == ((2, 2, 1), (0,), (1, 2))
    assert copy.copy(y).chunks == y.chunks  # recorded on the expression too
    z = x.rechunk(1)  # another proxy of it, cut otherwise
    assert y.chunks == ((2, 2, 1), (0,), (1, 2))
    assert z.chunks == ((1,) * 5, (0,), (1, 1, 1))
    assert (y * 2).chunks == z.chunks  # expressions built from it take the last recorded
    assert la.sum(y, axis=0).chunks == ((0,), (3,))  # another shape: one block
    unknown = la.Array(np.array([1.0, 1.0, 2.0]))
    assert np.isnan(unknown[unknown > 1].chunks[0][0])  # a size known only after running
    with pytest.raises(ShapeError):
        x.rechunk((2, 2))


def test_copies_keep_chunks(chunked: Any) -> None:
    assert chunked.copy().chunks == chunked.copy(deep=True).chunks == ((2, 2), (6,))
    assert (chunked * 2 + 1).chunks == ((2, 2), (6,))


# --- the chunk manager's other entries ------------------------------------------------


def test_entry_point_finds_the_manager() -> None:
    from xarray.namedarray.parallelcompat import get_chunked_array_type, list_chunkmanagers

    found = list_chunkmanagers()["lazyarray"]
    assert isinstance(found, LazyArrayChunkManager)
    assert get_chunked_array_type(la.Array([1.0]), np.ones(2)) is found
    assert not found.is_chunked_array(np.ones(2))


def test_map_blocks_reduction_and_scan() -> None:
    found = LazyArrayChunkManager()
    values = np.arange(12.0).reshape(3, 4)
    x = la.Array(values).rechunk((1, 2))
    mapped = found.map_blocks(lambda b, k: b * k + 1, x, k=3.0)
    np.testing.assert_array_equal(mapped.compute(), values * 3 + 1)
    assert mapped.dtype == np.float64
    with pytest.raises(la.errors.UnsupportedOperation):
        found.map_blocks(np.sum, x, drop_axis=1)
    reduced = found.reduction(x, np.sum, aggregate_func=np.sum, axis=1, dtype=np.float64)
    np.testing.assert_array_equal(reduced.compute(), values.sum(axis=1))
    scanned = found.scan(np.cumsum, np.add, 0, x, axis=0, dtype=np.float64)
    np.testing.assert_array_equal(scanned.compute(), np.cumsum(values, axis=0))
    first, second = found.apply_gufunc(
        lambda a: (a.min(-1), a.max(-1)), "(i)->(),()", x, output_dtypes=[float, float]
    )
    np.testing.assert_array_equal(first.compute(), values.min(-1))
    np.testing.assert_array_equal(second.compute(), values.max(-1))


def test_an_elementwise_function_runs_blockwise_on_both_backends(
    backend: str, few_chunks: None
) -> None:
    values = np.random.default_rng(2).standard_normal((300, 700))
    u = xr.DataArray(values, dims=("x", "y"))
    v = u.chunk({"x": 100}, **CHUNKED)
    sizes: list[int] = []

    def root(block: np.ndarray) -> np.ndarray:  # correctly rounded: exact in any block
        sizes.append(block.size)
        return np.sqrt(np.abs(block))

    actual = xr.apply_ufunc(root, v, dask="parallelized", output_dtypes=[float]) + 1
    expected = np.sqrt(np.abs(values)) + 1
    np.testing.assert_array_equal(actual.compute(backend=backend).values, expected)
    sizes.clear()
    sliced = xr.apply_ufunc(root, v, dask="parallelized", output_dtypes=[float])[5:7]
    np.testing.assert_array_equal(
        sliced.compute(backend=backend).values, np.sqrt(np.abs(values[5:7]))
    )
    if "pushdown" not in la.config.options.disabled:
        assert sum(sizes) == 2 * 700  # the slice went into the function's input


@pytest.mark.parametrize("name", ["numpy", "dask"])
def test_a_blockwise_function_reads_the_computes_assets(name: str, few_chunks: None) -> None:
    """The function runs on the kernel threads (numpy) or dask's: either sees the assets
    the compute opened."""
    from lazyarray.assets import Asset, Scope, get

    folders: set[Any] = set()

    def scaled(block: np.ndarray) -> np.ndarray:
        folders.add(get("tmp"))
        return block * 2

    values = np.random.default_rng(4).standard_normal((400, 600))
    v = xr.DataArray(values, dims=("x", "y")).chunk(**CHUNKED)
    total = xr.apply_ufunc(scaled, v, dask="parallelized", output_dtypes=[float]).sum()
    spec = [{"id": "tmp", "type": "scratch_dir", "scope": "process"}]
    with la.config.set(threads=2, block_bytes="64KiB"):
        value = total.data.compute(backend=name, cache=False, assets=spec)
    assert value == pytest.approx((values * 2).sum(), rel=1e-12)
    assert len(folders) == 1 and not next(iter(folders)).exists()
    if name == "numpy":  # a job sees the assets open where it was submitted
        folders.clear()
        with Scope([Asset.from_specification(spec[0])]) as scope:
            job = total.data.compute(backend=name, cache=False, block=False)
            assert job.result() == pytest.approx(value, rel=1e-12)
            assert folders == {scope["tmp"]}


def test_a_function_over_core_dimensions_is_refused_by_dask() -> None:
    v = xr.DataArray(np.ones((300, 700)), dims=("x", "y")).chunk(**CHUNKED)
    total = xr.apply_ufunc(
        np.sum, v, input_core_dims=[["y"]], kwargs={"axis": -1}, dask="parallelized",
        output_dtypes=[float],
    )  # fmt: skip
    np.testing.assert_array_equal(total.values, np.full(300, 700.0))
    with pytest.raises(la.errors.UnsupportedOperation, match="xarray_call"):
        total.compute(backend="dask")


def test_the_namespace_takes_chunks() -> None:
    found = LazyArrayChunkManager()
    made = found.array_api.full((4, 3), 2.0, dtype=np.float32, chunks=2)
    assert made.chunks == ((2, 2), (2, 1))
    np.testing.assert_array_equal(made.compute(), np.full((4, 3), 2.0, np.float32))
    assert found.array_api.sin is la.sin
