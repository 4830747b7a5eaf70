"""The byte formats, each written incrementally to a binary file: what it can hold, and
how. Every writer takes the result as ``data`` (an ndarray), ``mask`` (a boolean array of
the same shape, or None when the result is not masked) and the masked array's
``fill_value``, and holds at most one piece of about ``PIECE_BYTES`` besides them.

- npy: ``numpy.lib.format``, exactly what ``numpy.save`` writes; no masks.
- npz: ``numpy.savez``: ``data``, and for masked results ``mask`` and ``fill_value``.
- json: ``{"dtype", "shape", "data"}``, ``data`` nested lists in C order; masked values
  null, non-finite floats "NaN"/"Infinity"/"-Infinity", complex values [real, imag],
  datetimes ISO 8601 strings at the dtype's unit, timedeltas integer counts of the
  dtype's unit, NaT "NaT".
- arrow: an Arrow IPC stream of one column "values", the result in C order, in record
  batches; the shape (JSON) and dtype in the schema's metadata. Masked values are null;
  complex values fixed-size lists [real, imag]; datetime64 timestamp (s, ms, us, ns) or
  date32 (D); timedelta64 duration; NaT null, as pyarrow converts it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import IO, Any, NamedTuple

import numpy as np

PIECE_BYTES = 8 << 20
JSON_PIECE = 1 << 14  # elements: each becomes a Python scalar and a string

Writer = Callable[[np.ndarray, np.ndarray | None, Any, IO[bytes]], None]


class Encoder(NamedTuple):
    holds: Callable[[np.dtype[Any], bool], bool]  # (dtype, masked)
    write: Writer
    # why the format cannot hold these values (None if it can), asked before writing
    refusal: Callable[[np.ndarray, np.ndarray | None], str | None] = lambda data, mask: None
    needs: tuple[str, str] | None = None  # (module, extra) of an optional dependency


def pieces(shape: tuple[int, ...], size: int) -> Iterator[tuple[Any, ...]]:
    """Indexes cutting an array of ``shape`` into C-order pieces of at most about
    ``size`` elements (at least one row of the last axis, or one element)."""
    if not shape:
        yield ()
        return
    row = math.prod(shape[1:])
    if row > size:
        for i in range(shape[0]):
            for rest in pieces(shape[1:], size):
                yield (i, *rest)
        return
    step = max(1, size // max(row, 1))
    for start in range(0, max(shape[0], 1), step):
        yield (slice(start, start + step),)


def piece(array: np.ndarray, index: tuple[Any, ...]) -> np.ndarray:
    """One piece, flat, C-contiguous, in native byte order (a view where it can be)."""
    return np.ascontiguousarray(array[index], dtype=array.dtype.newbyteorder("=")).reshape(-1)


def _elements(dtype: np.dtype[Any], budget: int = PIECE_BYTES) -> int:
    return max(1, budget // max(dtype.itemsize, 1))


# --- npy, npz ---------------------------------------------------------------------------


def _write_npy(data: np.ndarray, mask: np.ndarray | None, fill: Any, handle: IO[bytes]) -> None:
    np.lib.format.write_array(handle, data, allow_pickle=False)


def _write_npz(data: np.ndarray, mask: np.ndarray | None, fill: Any, handle: IO[bytes]) -> None:
    if mask is None:
        np.savez(handle, data=data)
    else:
        np.savez(handle, data=data, mask=mask, fill_value=fill)


# --- json -------------------------------------------------------------------------------

# datetime units np.datetime_as_string writes and numpy parses back exactly
_ISO_UNITS = frozenset({"Y", "M", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"})


def _json_holds(dtype: np.dtype[Any], masked: bool) -> bool:
    if dtype.kind == "M":
        unit, count = np.datetime_data(dtype)
        return unit in _ISO_UNITS and count == 1
    return dtype.kind not in "fc" or dtype.itemsize <= (8 if dtype.kind == "f" else 16)


def _float_tokens(values: np.ndarray) -> list[str]:
    tokens = list(map(float.__repr__, values.tolist()))
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        value = values[i]
        tokens[i] = '"NaN"' if np.isnan(value) else ('"Infinity"' if value > 0 else '"-Infinity"')
    return tokens


def _count_tokens(values: np.ndarray) -> list[str]:
    tokens = list(map(str, values.view(np.int64).tolist()))
    for i in np.flatnonzero(np.isnat(values)).tolist():
        tokens[i] = '"NaT"'
    return tokens


_JSON_TOKENS: dict[str, Callable[[np.ndarray], list[str]]] = {
    "b": lambda v: ["true" if x else "false" for x in v.tolist()],
    "i": lambda v: list(map(str, v.tolist())),
    "u": lambda v: list(map(str, v.tolist())),
    "f": _float_tokens,
    "c": lambda v: [
        f"[{r}, {i}]" for r, i in zip(_float_tokens(v.real), _float_tokens(v.imag), strict=True)
    ],
    "M": lambda v: [f'"{s}"' for s in np.datetime_as_string(v).tolist()],
    "m": _count_tokens,
}


def _write_json(data: np.ndarray, mask: np.ndarray | None, fill: Any, handle: IO[bytes]) -> None:
    """Writes what ``json.dumps`` would (its separators), one piece at a time."""
    head = {"dtype": data.dtype.str, "shape": list(data.shape)}
    handle.write(json.dumps(head)[:-1].encode() + b', "data": ')
    if data.size == 0:
        handle.write(json.dumps(data.tolist()).encode())
    else:
        _write_json_data(data, mask, handle)
    handle.write(b"}")


def _write_json_data(data: np.ndarray, mask: np.ndarray | None, handle: IO[bytes]) -> None:
    ndim = data.ndim
    # brackets close and reopen before each flat index that is a multiple of a span
    spans = [math.prod(data.shape[axis:]) for axis in range(1, ndim)]
    row = spans[-1] if spans else 0
    tokens_of = _JSON_TOKENS[data.dtype.kind]
    handle.write(b"[" * ndim)
    offset = 0
    for index in pieces(data.shape, JSON_PIECE):
        tokens = tokens_of(piece(data, index))
        if mask is not None:
            for i in np.flatnonzero(piece(mask, index)).tolist():
                tokens[i] = "null"
        text = [", "] if offset and (not row or offset % row) else []
        done = 0
        for cut in range((-offset) % row, len(tokens), row) if row else ():
            if offset + cut:
                depth = sum((offset + cut) % span == 0 for span in spans)
                text += [", ".join(tokens[done:cut]), "]" * depth + ", " + "[" * depth]
                done = cut
        text.append(", ".join(tokens[done:]))
        handle.write("".join(text).encode())
        offset += len(tokens)
    handle.write(b"]" * ndim)


# --- arrow ------------------------------------------------------------------------------

_ARROW_UNITS = {
    "M": frozenset({"D", "s", "ms", "us", "ns"}),
    "m": frozenset({"s", "ms", "us", "ns"}),
}


def _arrow_holds(dtype: np.dtype[Any], masked: bool) -> bool:
    if dtype.kind in "Mm":
        unit, count = np.datetime_data(dtype)
        return unit in _ARROW_UNITS[dtype.kind] and count == 1
    return dtype.kind not in "fc" or dtype.itemsize <= (8 if dtype.kind == "f" else 16)


def _arrow_refusal(data: np.ndarray, mask: np.ndarray | None) -> str | None:
    """date32 holds days in int32 (pyarrow would wrap larger ones); null stands for both
    NaT and masked values, so a masked result may not hold NaT."""
    if data.dtype.kind not in "Mm":
        return None
    days = data.dtype.kind == "M" and np.datetime_data(data.dtype)[0] == "D"
    limit = np.iinfo(np.int32)
    for index in pieces(data.shape, _elements(data.dtype)):
        values = piece(data, index)
        invalid = np.isnat(values)
        if mask is not None:
            masked = piece(mask, index)
            if (invalid & ~masked).any():
                return f"a masked {data.dtype} result with NaT (both would be null)"
            invalid |= masked
        counts = values.view(np.int64)[~invalid]
        if days and counts.size and (counts.min() < limit.min or counts.max() > limit.max):
            return "datetime64[D] values beyond date32's range (int32 days)"
    return None


def _arrow_type(dtype: np.dtype[Any]) -> Any:
    import pyarrow as pa

    if dtype.kind == "c":
        return pa.list_(pa.from_numpy_dtype(np.dtype(f"f{dtype.itemsize // 2}")), 2)
    if dtype.kind in "Mm":
        unit = np.datetime_data(dtype)[0]
        if dtype.kind == "m":
            return pa.duration(unit)
        return pa.date32() if unit == "D" else pa.timestamp(unit)
    return pa.from_numpy_dtype(dtype.newbyteorder("="))


def _arrow_column(values: np.ndarray, mask: np.ndarray | None, type_: Any) -> Any:
    import pyarrow as pa

    if values.dtype.kind == "c":
        parts = pa.array(values.view(values.real.dtype))
        valid = None if mask is None else pa.py_buffer(np.packbits(~mask, bitorder="little"))
        return pa.Array.from_buffers(type_, len(values), [valid], children=[parts])
    return pa.array(values, type=type_, mask=mask)


def _write_arrow(data: np.ndarray, mask: np.ndarray | None, fill: Any, handle: IO[bytes]) -> None:
    import pyarrow as pa

    type_ = _arrow_type(data.dtype)
    metadata = {"shape": json.dumps(list(data.shape)), "dtype": data.dtype.str}
    schema = pa.schema([pa.field("values", type_)], metadata=metadata)
    with pa.ipc.new_stream(handle, schema) as writer:
        for index in pieces(data.shape, _elements(data.dtype)):
            column = _arrow_column(
                piece(data, index), None if mask is None else piece(mask, index), type_
            )
            writer.write_batch(pa.record_batch([column], schema=schema))


ENCODERS: dict[str, Encoder] = {
    "npy": Encoder(lambda dtype, masked: not masked, _write_npy),
    "npz": Encoder(lambda dtype, masked: True, _write_npz),
    "json": Encoder(_json_holds, _write_json),
    "arrow": Encoder(_arrow_holds, _write_arrow, _arrow_refusal, ("pyarrow", "arrow")),
}
