"""Result formats: Python/numpy objects ("pyarrow"), or bytes ("npy", "npz", "json",
"arrow") returned or written to a file. A path is written atomically: a temporary file in
the same folder, renamed into place only once complete."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from lazyarray.errors import FormatError
from lazyarray.types import ArrayType


def to_python(value: Any, type_: ArrayType) -> Any:
    """The "pyarrow" format: ndarray, numpy.ma.MaskedArray, or a numpy scalar."""
    if type_.ndim == 0:
        if isinstance(value, np.ma.MaskedArray):
            return np.ma.masked if value.mask.any() else value.data[()]
        if value is np.ma.masked:
            return value
        return np.asarray(value, dtype=type_.dtype)[()]
    if type_.masked:
        return value if isinstance(value, np.ma.MaskedArray) else np.ma.MaskedArray(value)
    return np.asarray(value)


def _npy(value: Any) -> bytes:
    if isinstance(value, np.ma.MaskedArray) or value is np.ma.masked:
        raise FormatError("format 'npy' cannot hold a mask; use format='npz' for masked results")
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


def _npz(value: Any) -> bytes:
    buffer = io.BytesIO()
    if value is np.ma.masked:
        value = np.ma.MaskedArray(0.0, mask=True)
    if isinstance(value, np.ma.MaskedArray):
        np.savez(
            buffer, data=value.data, mask=np.ma.getmaskarray(value), fill_value=value.fill_value
        )
    else:
        np.savez(buffer, data=np.asarray(value))
    return buffer.getvalue()


def _json_item(item: Any) -> Any:
    if isinstance(item, float) and not math.isfinite(item):
        return "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
    if isinstance(item, complex):
        return [_json_item(item.real), _json_item(item.imag)]
    return item


def _json_tree(data: Any, mask: Any) -> Any:
    if isinstance(data, list):
        return [_json_tree(d, m) for d, m in zip(data, mask, strict=True)]
    return None if mask else _json_item(data)


def _json(value: Any) -> bytes:
    """``{"dtype", "shape", "data"}``; masked values are null, non-finite floats strings."""
    if value is np.ma.masked:
        value = np.ma.MaskedArray(0.0, mask=True)
    array = np.ma.getdata(value)
    array = np.asarray(array)
    mask = (
        np.ma.getmaskarray(value)
        if isinstance(value, np.ma.MaskedArray)
        else np.zeros(array.shape, bool)
    )
    document = {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "data": _json_tree(array.tolist(), mask.tolist()),
    }
    return json.dumps(document, allow_nan=False).encode()


def _arrow(value: Any) -> bytes:
    """An Arrow IPC stream: one column of the flattened values (masked values are null),
    the shape and dtype in the schema metadata."""
    try:
        import pyarrow as pa
    except ImportError as exc:
        raise FormatError("format 'arrow' needs pyarrow: pip install 'lazyarray[arrow]'") from exc
    if value is np.ma.masked:
        value = np.ma.MaskedArray(0.0, mask=True)
    data = np.asarray(np.ma.getdata(value))
    mask = np.ma.getmaskarray(value).ravel() if isinstance(value, np.ma.MaskedArray) else None
    column = pa.array(data.ravel(), mask=mask)
    metadata = {"shape": json.dumps(list(data.shape)), "dtype": data.dtype.str}
    table = pa.table({"values": column}, metadata=metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


SERIALIZERS: dict[str, Callable[[Any], bytes]] = {
    "npy": _npy,
    "npz": _npz,
    "json": _json,
    "arrow": _arrow,
}
FORMATS = ("pyarrow", *SERIALIZERS)


def check_format(format: str) -> None:  # noqa: A002 - the public keyword's name
    if format not in FORMATS:
        raise FormatError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")


def serialize(value: Any, type_: ArrayType, format: str) -> Any:  # noqa: A002
    python_value = to_python(value, type_)
    if format == "pyarrow":
        return python_value
    return SERIALIZERS[format](python_value)


def write(data: bytes, file: str | os.PathLike[str] | IO[bytes]) -> None:
    """Writes ``data`` to a file object, or atomically to a path."""
    if hasattr(file, "write"):
        file.write(data)
        return
    path = os.fspath(file)
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".lazyarray-", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
