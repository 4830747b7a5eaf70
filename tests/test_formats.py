"""Byte formats hold every dtype exactly or refuse it up front; ``file=`` writes atomically,
with the usual mode, streaming, and cleans the temporaries killed writers leave."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import FormatError
from lazyarray.execution import encoders, files
from lazyarray.execution.formats import encoding_bytes, serialize, write
from lazyarray.types import ArrayType

pa = pytest.importorskip("pyarrow")

BYTE_FORMATS = ["npy", "npz", "json", "arrow"]
I64 = np.iinfo(np.int64)
DATETIME_UNITS = ["Y", "W", "D", "h", "s", "ms", "ns", "as", "2D"]


def _values(dtype: np.dtype[Any]) -> np.ndarray:
    """Eight values of ``dtype`` with its extremes; for datetimes, NaT second."""
    if dtype.kind == "b":
        return np.array([True, False] * 4)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array([info.min, info.max, 0, 1, info.max - 1, 7, info.min + 1, 3], dtype)
    if dtype.kind in "Mm":
        counts = [0, I64.min, 1, -7, 12345, I64.min + 1, I64.max, 2**40]
        return np.array(counts, np.int64).view(dtype)
    real = np.finfo(dtype).dtype if dtype.kind == "c" else dtype
    info = np.finfo(real)
    floats = np.array(
        [0.0, np.nan, -0.0, np.inf, -np.inf, info.max, info.smallest_subnormal, 1 / 3], real
    )
    if dtype.kind == "c":
        pairs = np.stack([floats, floats[::-1]], axis=-1)
        return pairs.view(dtype)[:, 0]
    return floats


def _arrays(dtype: np.dtype[Any]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each layout a result can have (0-d, empty, 1-d, non-contiguous 2-d), with a mask
    of the odd positions of ``_values`` (which masks NaT)."""
    values, odd = _values(dtype), np.arange(8) % 2 == 1
    for layout in (
        lambda v: v[2].reshape(()),
        lambda v: v[:0].reshape(2, 0),
        lambda v: v,
        lambda v: v.reshape(2, 4).T,
    ):
        yield layout(values), layout(odd)


# --- reading back with numpy, json and pyarrow alone ------------------------------------


def _read_json(payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    document = json.loads(payload)
    dtype, shape = np.dtype(document["dtype"]), tuple(document["shape"])
    leaves: list[Any] = [document["data"]]
    for _ in shape:
        leaves = [item for level in leaves for item in level]
    nulls = np.array([leaf is None for leaf in leaves], bool)
    if dtype.kind == "f":
        items: list[Any] = [0.0 if x is None else float(x) for x in leaves]
    elif dtype.kind == "c":
        items = [0j if x is None else complex(float(x[0]), float(x[1])) for x in leaves]
    elif dtype.kind == "M":
        items = ["NaT" if x is None else x for x in leaves]
    else:
        items = [0 if x is None else x for x in leaves]
    return np.array(items, dtype).reshape(shape), nulls.reshape(shape)


def _read_arrow(payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    table = pa.ipc.open_stream(payload).read_all()
    metadata = table.schema.metadata
    dtype, shape = np.dtype(metadata[b"dtype"].decode()), tuple(json.loads(metadata[b"shape"]))
    column = table.column("values").combine_chunks()
    nulls = column.is_null().to_numpy(zero_copy_only=False)
    if dtype.kind == "c":
        data = np.asarray(column.values).view(dtype.newbyteorder("="))
    elif dtype.kind in "Mm":
        data = column.to_numpy(zero_copy_only=False)
    else:
        filler = pa.scalar(False if dtype.kind == "b" else 0, column.type)
        data = column.fill_null(filler).to_numpy(zero_copy_only=False)
    return data.astype(dtype).reshape(shape), nulls.reshape(shape)


def _read(format: str, payload: bytes, masked: bool) -> Any:  # noqa: A002
    if format == "npy":
        return np.load(io.BytesIO(payload))
    if format == "npz":
        archive = np.load(io.BytesIO(payload))
        if not masked:
            assert archive.files == ["data"]
            return archive["data"]
        return np.ma.MaskedArray(
            archive["data"], mask=archive["mask"], fill_value=archive["fill_value"]
        )
    data, nulls = (_read_json if format == "json" else _read_arrow)(payload)
    if masked:
        return np.ma.MaskedArray(data, mask=nulls)
    if data.dtype.kind not in "Mm":  # arrow's null is NaT there
        assert not nulls.any()
    return data


def _assert_exact(actual: Any, expected: Any, format: str, under_mask: bool = True) -> None:  # noqa: A002
    """Same dtype (byte order included), shape, mask and bits: of every element where the
    format keeps masked data (npz, ``under_mask``), of the unmasked ones otherwise. JSON's
    "NaN" keeps neither a NaN's sign nor its payload: any NaN reads back as numpy's."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    mask = np.ma.getmaskarray(expected)
    if isinstance(expected, np.ma.MaskedArray):
        assert isinstance(actual, np.ma.MaskedArray)
        np.testing.assert_array_equal(np.ma.getmaskarray(actual), mask)
    else:
        assert not isinstance(actual, np.ma.MaskedArray)
    keep = np.ones_like(mask) if format == "npz" and under_mask else ~mask
    got, want = np.asarray(np.ma.getdata(actual))[keep], np.asarray(np.ma.getdata(expected))[keep]
    if format == "json" and want.dtype.kind in "fc":
        parts = want.view(want.real.dtype)  # each part of a complex value
        want = np.where(np.isnan(parts), np.nan, parts).astype(parts.dtype).view(want.dtype)
    if want.dtype.kind in "fc" and want.real.dtype == np.longdouble:  # padding bytes
        got, want = got.view(got.real.dtype), want.view(want.real.dtype)
        assert np.array_equal(got, want, equal_nan=True)
        assert (np.signbit(got) == np.signbit(want)).all()
    else:
        assert got.tobytes() == want.tobytes()


# --- every dtype through every format: exact, or refused before running -----------------

DTYPES = [
    *("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"),
    *("f2", "f4", "f8", ">f8", "c8", "c16", "g", "G"),
    *(f"M8[{unit}]" for unit in DATETIME_UNITS),
    *(f"m8[{unit}]" for unit in DATETIME_UNITS),
]


@pytest.mark.parametrize("format", BYTE_FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_round_trips_exactly_or_is_refused_up_front(
    format: str,  # noqa: A002
    dtype: str,
    no_compute: None,
    request: pytest.FixtureRequest,
) -> None:
    for masked in (False, True):
        holds = encoders.ENCODERS[format].holds(np.dtype(dtype), masked)
        for array, mask in _arrays(np.dtype(dtype)):
            x = la.MaskedArray(array, mask=mask) if masked else la.Array(array)
            if not holds:
                with pytest.raises(FormatError, match=rf"format '{format}' cannot hold .*npz"):
                    x.compute(format=format)  # the refusing backend: before running
                continue
            with la.config.set(backend="numpy"):
                if format == "arrow" and dtype == "M8[D]" and _beyond_int32(array, mask, masked):
                    with pytest.raises(FormatError, match="date32"):
                        x.compute(format=format)
                    continue
                payload = x.compute(format=format)
            expected = np.ma.MaskedArray(array, mask=mask) if masked else array
            _assert_exact(_read(format, payload, masked), expected, format)


def _beyond_int32(array: np.ndarray, mask: np.ndarray, masked: bool) -> bool:
    days = array.view(np.int64)[~np.isnat(array) & ~(mask & masked)]
    return bool((np.abs(days) > np.iinfo(np.int32).max).any())


def test_json_datetimes_are_iso_strings_and_timedeltas_counts_of_the_unit() -> None:
    # the reported case: a raw TypeError, "Object of type date is not JSON serializable"
    dates = la.Array(np.array(["2020-01-01", "NaT"], "M8[D]"))
    assert json.loads(dates.compute(format="json")) == {
        "dtype": "<M8[D]",
        "shape": [2],
        "data": ["2020-01-01", "NaT"],
    }
    stamps = np.array(["2020-01-01T12:30:00.123456789"], "M8[ns]")
    assert json.loads(la.Array(stamps).compute(format="json"))["data"] == [
        "2020-01-01T12:30:00.123456789"
    ]
    durations = la.Array(np.array([90, "NaT"], "m8[s]")).compute(format="json")
    assert json.loads(durations) == {"dtype": "<m8[s]", "shape": [2], "data": [90, "NaT"]}


def test_arrow_complex_is_a_fixed_size_list_of_real_and_imag() -> None:
    # the reported case: pyarrow's raw ArrowNotImplementedError
    values = np.array([1 + 2j, -0.5j], np.complex64)
    table = pa.ipc.open_stream(la.Array(values).compute(format="arrow")).read_all()
    assert table.schema.field("values").type == pa.list_(pa.float32(), 2)
    assert table.column("values").to_pylist() == [[1.0, 2.0], [0.0, -0.5]]


def test_a_dtype_a_format_cannot_hold_is_refused_naming_the_formats_that_can(
    no_compute: None,
) -> None:
    x = la.Array(np.zeros(3, np.clongdouble))
    with pytest.raises(FormatError, match=r"'arrow' cannot hold dtype complex\d+; .* npy, npz$"):
        x.compute(format="arrow")
    weeks = la.Array(np.zeros(3, "M8[W]"))
    with pytest.raises(FormatError, match=r"'json' cannot hold dtype datetime64\[W\]"):
        weeks.compute(format="json")
    masked = la.MaskedArray(np.zeros(3), mask=[True, False, False])
    with pytest.raises(FormatError, match=r"'npy' cannot hold a masked float64 .* npz"):
        masked.compute(format="npy", file="never-written.npy")


def test_arrow_refuses_values_it_would_corrupt() -> None:
    far = la.Array(np.array([2**40], np.int64).view("M8[D]"))  # pyarrow would wrap it
    with pytest.raises(FormatError, match=r"date32.*formats that can: npy, npz, json"):
        far.compute(format="arrow")
    nat = la.MaskedArray(np.array(["NaT", "2020-01-01"], "M8[s]"), mask=[False, True])
    with pytest.raises(FormatError, match="NaT"):
        nat.compute(format="arrow")


@pytest.mark.parametrize("format", BYTE_FORMATS)
def test_big_results_round_trip_on_every_path(format: str, backend: str) -> None:  # noqa: A002
    data = np.arange(40_000.0).reshape(400, 100) / 7  # above small_bytes, several pieces
    x = la.Array(data)
    y = (la.MaskedArray(data, mask=data > 5000) if format != "npy" else x).T * 3
    expected = (np.ma.MaskedArray(data, mask=data > 5000) if format != "npy" else data).T * 3
    with la.config.set(block_bytes=1 << 16):
        payload = y.compute(format=format, backend=backend)
    # data under the mask is numpy.ma's business, not the format's
    _assert_exact(_read(format, payload, format != "npy"), expected, format, under_mask=False)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 7), (5,), ()])
@pytest.mark.parametrize("piece", [1, 5, 13, 1000])  # brackets within and across pieces
def test_json_bytes_are_what_json_dumps_writes(shape: tuple[int, ...], piece: int) -> None:
    data = np.arange(float(np.prod(shape))).reshape(shape)
    data.flat[1 % data.size] = np.nan
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoders, "JSON_PIECE", piece)
        payload = la.Array(data).compute(format="json")
    nested = np.where(np.isnan(data), None, data).tolist()
    expected = {"dtype": "<f8", "shape": list(shape), "data": nested}
    assert payload == json.dumps(expected).encode().replace(b"null", b'"NaN"')


# --- file=: mode, atomicity, errors, stale temporaries, memory --------------------------

X = la.Array(np.arange(1000.0))


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_get_the_mode_open_gives(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        X.compute(format="npy", file=tmp_path / "out.npy")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.npy").stat().st_mode & 0o777 == 0o666 & ~umask
    (tmp_path / "out.npy").chmod(0o640)  # an existing file keeps its mode, as with open()
    X.compute(format="npy", file=tmp_path / "out.npy")
    assert (tmp_path / "out.npy").stat().st_mode & 0o777 == 0o640


def _no_space(descriptor: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("format", BYTE_FORMATS)
def test_a_failed_write_keeps_the_old_file_leaves_no_temporary_and_names_the_target(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    format: str,  # noqa: A002
) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    monkeypatch.setattr(os, "fsync", _no_space)  # the disk fills as the data is synced
    with pytest.raises(OSError, match="No space left") as caught:
        X.compute(format=format, file=target)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert ".part" not in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    assert target.read_bytes() == b"old"


@pytest.mark.parametrize("failure", [ValueError, KeyboardInterrupt])
def test_a_serialization_failing_midway_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: type[BaseException]
) -> None:
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    calls = []

    def fail_on_third_piece(values: np.ndarray) -> list[str]:
        calls.append(1)
        if len(calls) == 3:
            raise failure("midway")
        return [repr(v) for v in values.tolist()]

    monkeypatch.setattr(encoders, "JSON_PIECE", 100)
    monkeypatch.setitem(encoders._JSON_TOKENS, "f", fail_on_third_piece)
    with pytest.raises(failure, match="midway"):
        X.compute(format="json", file=target)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    assert target.read_bytes() == b"old"


def test_errors_name_the_target_before_anything_runs(tmp_path: Path, no_compute: None) -> None:
    missing = tmp_path / "missing" / "out.npy"
    with pytest.raises(FileNotFoundError) as caught:
        X.compute(format="npy", file=missing)
    assert caught.value.filename == str(missing)
    with pytest.raises(IsADirectoryError) as folder:
        X.compute(format="npy", file=tmp_path)
    assert folder.value.filename == str(tmp_path)
    with pytest.raises(FormatError, match="binary"):
        X.compute(format="json", file=io.StringIO())
    with pytest.raises(FormatError, match="one result"):
        la.compute(X, X, format="npy", file=tmp_path / "two.npy")


def test_a_write_error_after_the_checks_names_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out.npy"

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), args[0])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "open", refuse)
        with pytest.raises(PermissionError) as caught:
            write(np.arange(3), ArrayType(np.dtype(int), (3,)), "npy", target)
    assert caught.value.filename == str(target) and ".part" not in str(caught.value)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def test_temporaries_of_dead_or_stalled_writers_are_removed_on_the_next_write(
    tmp_path: Path,
) -> None:
    host, pid = files._HOST, os.getpid()
    stale = [
        f".out.npy.lazyarray-{host}-{_dead_pid()}-0badc0de.part",  # killed writer
        ".other.json.lazyarray-elsewhere-1-00c0ffee.part",  # another host's, untouched long
    ]
    kept = [
        f".out.npy.lazyarray-{host}-{pid}-12345678.part",  # a live writer (this process)
        ".other.json.lazyarray-elsewhere-1-feedf00d.part",  # another host's, recent
        ".notes.part",  # not of our naming
    ]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"x")
    long_ago = time.time() - files.STALE_AFTER_S - 60
    os.utime(tmp_path / stale[1], (long_ago, long_ago))
    X.compute(format="npy", file=tmp_path / "new.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "new.npy"])


def test_file_objects_receive_the_stream() -> None:
    buffer = io.BytesIO()
    assert X.compute(format="npz", file=buffer) is None
    assert buffer.getvalue() == X.compute(format="npz")


def _peak(run: Any) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_writing_streams_without_a_second_copy(tmp_path: Path) -> None:
    value = np.arange(50 * 2**20 // 8, dtype=np.float64)  # 50 MB
    type_ = ArrayType(value.dtype, value.shape)
    for name in ("npy", "arrow"):
        peak = _peak(lambda f=name: write(value, type_, f, tmp_path / f"out.{f}"))
        assert peak < 0.05 * value.nbytes, (name, peak / value.nbytes)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), value)
    # through compute: the result, and nothing near a second copy of it
    x = la.Array(value) * 2
    alone = _peak(lambda: x.compute(cache=False))
    written = _peak(lambda: x.compute(format="npy", file=tmp_path / "c.npy", cache=False))
    assert written < alone + 0.05 * value.nbytes, (written / value.nbytes, alone / value.nbytes)


@pytest.mark.parametrize(("format", "dtype"), [("npy", "f8"), ("arrow", "i4"), ("json", "f8")])
def test_the_memory_estimate_of_formatting_bounds_what_it_takes(
    format: str,  # noqa: A002
    dtype: str,
) -> None:
    value = (np.arange(100_000 if format != "json" else 30_000) / 7 * 1e6).astype(dtype)
    type_ = ArrayType(value.dtype, value.shape)
    download = _peak(lambda: serialize(value, type_, format))
    estimate = encoding_bytes(type_, format)
    assert estimate is not None and download <= estimate < 3 * download
    buffer = io.BytesIO()  # a file: one piece, whatever the result's size
    streamed = _peak(lambda: write(value, type_, format, buffer)) - len(buffer.getvalue())
    assert streamed <= encoding_bytes(type_, format, file=True)  # type: ignore[operator]


@pytest.mark.parametrize("format", ["npz", "json", "arrow"])
def test_a_masked_scalar_keeps_its_dtype(format: str) -> None:  # noqa: A002
    empty = la.MaskedArray(np.array([1, 2], np.int8), mask=[True, True]).max()
    assert empty.compute() is np.ma.masked
    actual = _read(format, empty.compute(format=format), masked=True)
    assert actual.dtype == np.int8 and actual.shape == () and actual.mask


def test_arrow_without_pyarrow_is_refused_before_running(
    monkeypatch: pytest.MonkeyPatch, no_compute: None
) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyarrow" else find_spec(name, *a),
    )
    with pytest.raises(FormatError, match=r"needs pyarrow: pip install 'lazyarray\[arrow\]'"):
        X.compute(format="arrow")


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_a_symlinked_target_is_written_through_as_open_would(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "real.npy"
    real.write_bytes(b"old")
    link = tmp_path / "link.npy"
    link.symlink_to(real)
    X.compute(format="npy", file=link)
    assert link.is_symlink()
    np.testing.assert_array_equal(np.load(real), np.arange(1000.0))
