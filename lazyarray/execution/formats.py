"""Result formats: Python/numpy objects ("pyarrow"), or bytes ("npy", "npz", "json",
"arrow", encoded by ``encoders``) returned or streamed to a file. A path is written
atomically (``files``). A format that cannot hold a result's dtype refuses it before
anything runs, naming the formats that can."""

from __future__ import annotations

import importlib.util
import io
import os
from collections.abc import Mapping, Sequence
from typing import IO, Any

import numpy as np

from lazyarray.errors import FormatError
from lazyarray.execution import encoders
from lazyarray.execution.encoders import ENCODERS
from lazyarray.execution.files import check_target, write_atomically
from lazyarray.types import ArrayType, new_type

FORMATS = ("pyarrow", *ENCODERS)


def to_python(value: Any, type_: ArrayType) -> Any:
    """The "pyarrow" format: ndarray, numpy.ma.MaskedArray, or a numpy scalar."""
    if not type_.shape:
        if type(value) is type_.dtype.type and value.dtype == type_.dtype:
            return value  # already the numpy scalar (immutable)
        if isinstance(value, np.ma.MaskedArray):
            return np.ma.masked if value.mask.any() else value.data[()]
        if value is np.ma.masked:
            return value
        return np.asarray(value, dtype=type_.dtype)[()]
    if type_.masked:
        return value if isinstance(value, np.ma.MaskedArray) else np.ma.MaskedArray(value)
    return np.asarray(value)


def present(
    values: list[Any],
    types: Sequence[ArrayType],
    format: str,  # noqa: A002 - the public keyword's name
    unpack: bool,
) -> Any:
    """``values`` of ``types`` as compute returns them: each in ``format``, a tuple (as
    ``la.compute`` gives them, blocking or from its job), or the only one with ``unpack``."""
    formatted = tuple(serialize(v, t, format) for v, t in zip(values, types, strict=True))
    return formatted[0] if unpack else formatted


def presented(values: list[Any], presentation: Mapping[str, Any]) -> Any:
    """``values`` (arrays, scalars: a job's, read back elsewhere) as a compute with
    ``presentation``'s ``format`` and ``unpack`` gives them."""
    types = [
        new_type(np.ma.getdata(value).dtype, np.shape(value), np.ma.isMaskedArray(value))
        for value in values
    ]
    fmt = str(presentation.get("format") or "pyarrow")
    return present(values, types, fmt, bool(presentation.get("unpack")))


def check_format(
    format: str,  # noqa: A002 - the public keyword's name
    types: Sequence[ArrayType] | None = None,
    file: Any = None,
) -> None:
    """Refuses an unknown format, one that cannot hold results of ``types``, and a
    ``file`` that cannot be written or cannot take these results."""
    if format not in FORMATS:
        raise FormatError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    needs = ENCODERS[format].needs if format in ENCODERS else None
    if needs is not None and importlib.util.find_spec(needs[0]) is None:
        raise FormatError(
            f"format {format!r} needs {needs[0]}: pip install 'lazyarray[{needs[1]}]'"
        )
    for type_ in types or ():
        _check_holds(format, type_.dtype, type_.masked)
    if file is None:
        return
    if format == "pyarrow":
        raise FormatError("file= needs a byte format: format='npy', 'npz', 'json' or 'arrow'")
    if types is not None and len(types) != 1:
        raise FormatError("file= takes one result; compute the arrays one at a time")
    check_target(file)


def serialize(value: Any, type_: ArrayType, format: str) -> Any:  # noqa: A002
    """The value in ``format``: numpy objects for "pyarrow", else bytes."""
    if format == "pyarrow":
        return to_python(value, type_)
    buffer = io.BytesIO()
    write(value, type_, format, buffer)
    return buffer.getvalue()


def write(
    value: Any,
    type_: ArrayType,
    format: str,  # noqa: A002
    file: str | os.PathLike[str] | IO[bytes],
) -> None:
    """Streams the value in ``format`` into a binary file object, or atomically to a path;
    no whole encoded copy is held in memory."""
    check_format(format)
    data, mask, fill = _parts(value, type_)
    _check_holds(format, data.dtype, mask is not None)
    encoder = ENCODERS[format]
    reason = encoder.refusal(data, mask)
    if reason is not None:
        others = [f for f in _holding(data.dtype, mask is not None) if f != format]
        raise FormatError(f"format {format!r} cannot hold {reason}; {_can(others)}")
    if hasattr(file, "write"):
        encoder.write(data, mask, fill, file)  # type: ignore[arg-type]
    else:
        write_atomically(file, lambda handle: encoder.write(data, mask, fill, handle))


# encoded bytes per element at most, in json: a number's text and its separator
_JSON_WIDTH = {"b": 7, "i": 22, "u": 22, "f": 26, "c": 56, "M": 44, "m": 22}
_PYTHON_OBJECTS = 130  # json, per element of a piece: its Python scalar and string
_GROWTH = 1.3  # io.BytesIO over-allocates as the returned bytes grow
_NPY_CHUNK = 16 << 20  # numpy.lib.format's copy buffer for a stream that is not a file
_OVERHEAD = 64 << 10  # headers, schemas, zip members


def encoding_bytes(type_: ArrayType, format: str, file: bool = False) -> int | None:  # noqa: A002
    """Memory that formatting a result of ``type_`` takes besides the result itself, at
    most: one piece when streamed to a file; for a download, the whole bytes as well."""
    if format == "pyarrow" or type_.size is None:
        return 0 if format == "pyarrow" else None
    dtype, size = type_.dtype, type_.size
    if format == "json":
        width = _JSON_WIDTH[dtype.kind]
        body = size * width
        scratch = min(size, encoders.JSON_PIECE) * (_PYTHON_OBJECTS + 3 * width)
    else:
        mask = {"npz": size, "arrow": size // 8 + 1}.get(format, 0) if type_.masked else 0
        body = size * dtype.itemsize + mask
        scratch = min(body, _NPY_CHUNK if format != "arrow" else 2 * encoders.PIECE_BYTES)
    scratch += _OVERHEAD
    return scratch if file else int(body * _GROWTH) + scratch


def _parts(value: Any, type_: ArrayType) -> tuple[np.ndarray, np.ndarray | None, Any]:
    """(data, mask or None, fill_value) of a backend's value of type ``type_``."""
    if value is np.ma.masked:
        data = np.zeros((), type_.dtype)
        return data, np.ones((), bool), _fill_value(None, data.dtype)
    if isinstance(value, np.ma.MaskedArray) or type_.masked:
        data = np.asarray(np.ma.getdata(value), dtype=type_.dtype if type_.ndim == 0 else None)
        return data, np.ma.getmaskarray(value), _fill_value(value, data.dtype)
    return np.asarray(value, dtype=type_.dtype if type_.ndim == 0 else None), None, None


def _fill_value(value: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """The masked array's fill value in ``dtype``, cast as numpy.ma casts it (999999 wraps
    in int8); numpy's default is not a datetime for some units: NaT there."""
    fill = value.fill_value if isinstance(value, np.ma.MaskedArray) else None
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            return np.array(np.ma.default_fill_value(dtype) if fill is None else fill).astype(dtype)
    except (TypeError, ValueError):
        return np.array("NaT" if dtype.kind in "Mm" else 0, dtype)


def _holding(dtype: np.dtype[Any], masked: bool) -> list[str]:
    return [name for name, encoder in ENCODERS.items() if encoder.holds(dtype, masked)]


def _can(formats: list[str]) -> str:
    return f"formats that can: {', '.join(formats)}" if formats else "no byte format can"


def _check_holds(format: str, dtype: np.dtype[Any], masked: bool) -> None:  # noqa: A002
    if format == "pyarrow" or ENCODERS[format].holds(dtype, masked):
        return
    what = f"a masked {dtype} result" if masked else f"dtype {dtype}"
    raise FormatError(f"format {format!r} cannot hold {what}; {_can(_holding(dtype, masked))}")
