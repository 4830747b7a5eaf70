"""Reading a slice of a zarr array on local disk: lazyarray (numpy and dask backends)
next to xarray + dask (``xr.open_zarr``) and ``dask.array.from_zarr`` on the same
store. Each run opens the store and computes the slice, so metadata reads count too.

Group ``sources slice``: float64 (16384, 8192) in 1024 x 1024 chunks (1 GiB, written once
to a temporary folder and removed afterwards), the slice ``[1000:3000, 2000:2500]``
(touching 3 x 2 chunks). ``extra_info`` records the bytes each run read from files
(``rchar`` of ``/proc/self/io``: compressed chunks and metadata) where Linux counts them.
Under ``make test`` (timing disabled) the array is (256, 128) in 16 x 16 chunks.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la

zarr = pytest.importorskip("zarr")
da = pytest.importorskip("dask.array")

FULL = ((16384, 8192), (1024, 1024), (slice(1000, 3000), slice(2000, 2500)))
SMOKE = ((256, 128), (16, 16), (slice(17, 50), slice(30, 40)))


@pytest.fixture(scope="module")
def stored(request: pytest.FixtureRequest) -> Iterator[tuple[str, tuple[slice, slice]]]:
    """A zarr group holding array ``x`` (dimensions ``y``, ``x``), and the slice read."""
    shape, chunks, index = SMOKE if request.config.getoption("benchmark_disable") else FULL
    folder = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    url = str(folder / "store.zarr")
    group = zarr.open_group(url, mode="w")
    array = group.create_array(
        "x", shape=shape, chunks=chunks, dtype="f8", dimension_names=("y", "x")
    )
    rows = chunks[0]
    for start in range(0, shape[0], rows):  # a chunk row at a time: memory stays small
        block = np.arange(start * shape[1], (start + rows) * shape[1], dtype="f8")
        array[start : start + rows] = np.sin(block.reshape(rows, shape[1]) * 1e-3)
    try:
        yield url, index
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _bytes_read() -> int | None:
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("rchar")))


def _peers(url: str, index: tuple[slice, slice]) -> dict[str, Callable[[], Any]]:
    def xarray_dask() -> Any:
        import xarray as xr

        with warnings.catch_warnings():
            # a checkout without lazyarray.xarray: its chunk manager's entry point fails
            warnings.filterwarnings("ignore", "Failed to load chunk manager", UserWarning)
            data = xr.open_zarr(url, chunks={}, consolidated=False)["x"]
        return data.isel(y=index[0], x=index[1]).values

    return {
        "xarray+dask": xarray_dask,
        "dask.from_zarr": lambda: da.from_zarr(url, component="x")[index].compute(),
        "lazyarray[numpy]": lambda: la.open_zarr(url, "x")[index].compute(cache=False),
        "lazyarray[dask]": lambda: la.open_zarr(url, "x")[index].compute(
            backend="dask", cache=False
        ),
    }


@pytest.mark.parametrize(
    "peer", ["xarray+dask", "dask.from_zarr", "lazyarray[numpy]", "lazyarray[dask]"]
)
def test_sources_slice(benchmark: Any, peer: str, stored: tuple[str, Any]) -> None:
    benchmark.group = "sources slice"
    url, index = stored
    if peer == "xarray+dask":
        pytest.importorskip("xarray")
    run = _peers(url, index)[peer]
    before = _bytes_read()
    expected = np.asarray(zarr.open_array(url, path="x", mode="r")[index])
    after = _bytes_read()
    value = run()
    read = _bytes_read()
    if read is not None and after is not None and before is not None:
        benchmark.extra_info["bytes read"] = read - after
        benchmark.extra_info["bytes read by zarr itself"] = after - before
    benchmark.extra_info["plan bytes read"] = la.open_zarr(url, "x")[index].explain().split("\n")[1]
    np.testing.assert_array_equal(value, expected)
    np.testing.assert_array_equal(benchmark(run), expected)
