"""JSON text to Python values, refusing what the format never writes: documents over
their size or nesting limits (measured before parsing, without recursion), duplicate
keys, ``NaN``/``Infinity`` tokens and numbers that overflow a float."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from lazyarray.errors import DocumentTooLarge, GraphFormatError
from lazyarray.serialize.limits import Limits

_CHUNK = 1 << 22
_OPEN = np.zeros(256, np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


def parse(text: str | bytes, limits: Limits) -> Any:
    size = len(text)
    if size > limits.document_bytes:
        raise DocumentTooLarge(
            f"a document of {size} bytes (the limit is {limits.document_bytes})", ""
        )
    deepest = nesting(text)
    if deepest > limits.nesting:
        raise DocumentTooLarge(f"JSON nested {deepest} deep (the limit is {limits.nesting})", "")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_float,
        )
    except _Refused as exc:
        raise GraphFormatError(str(exc), "") from None
    except RecursionError:  # only where the scan above was fooled
        raise DocumentTooLarge("JSON nested too deep", "") from None
    except ValueError as exc:  # not JSON; an integer of more than 4300 digits
        raise GraphFormatError(f"not a JSON document: {exc}", "") from None


def nesting(text: str | bytes) -> int:
    """How deep arrays and objects nest in ``text`` (brackets inside strings are not
    counted): one pass of array arithmetic over blocks of 4 MiB, carrying the depth,
    whether a string is open, and any backslashes ending a block."""
    deepest = depth = 0
    in_string = False
    backslashes = 0  # at the end of the previous block
    for start in range(0, len(text), _CHUNK):
        block = text[start : start + _CHUNK]
        data = np.frombuffer(block.encode() if isinstance(block, str) else block, np.uint8)
        if not len(data):
            continue
        escaped = _escaped_positions(data, backslashes)
        quotes = (data == _QUOTE) & ~escaped
        # inside a string: an odd number of quotes before (the quote itself excluded)
        toggles = np.cumsum(quotes, dtype=np.int64)
        inside = (toggles - quotes + in_string) % 2 == 1
        steps = np.where(inside, 0, _OPEN[data]).astype(np.int64)
        levels = np.cumsum(steps) + depth
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
        in_string = bool((int(toggles[-1]) + in_string) % 2)
        backslashes = _trailing_backslashes(data, backslashes)
    return deepest


def _escaped_positions(data: np.ndarray[Any, Any], carried: int) -> np.ndarray[Any, Any]:
    """Positions preceded by an odd run of backslashes (the run may start in the block
    before: ``carried`` backslashes)."""
    is_backslash = data == _BACKSLASH
    positions = np.arange(len(data))
    # the last position at or before each that is not a backslash
    last_other = np.maximum.accumulate(np.where(is_backslash, -1, positions))
    run = np.empty(len(data), np.int64)  # backslashes immediately before each position
    run[0] = carried
    run[1:] = positions[:-1] - last_other[:-1]
    run[1:] += np.where(last_other[:-1] < 0, carried, 0)
    return run % 2 == 1


def _trailing_backslashes(data: np.ndarray[Any, Any], carried: int) -> int:
    others = np.flatnonzero(data != _BACKSLASH)
    if not len(others):
        return carried + len(data)
    return len(data) - 1 - int(others[-1])


class _Refused(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {key!r} in a JSON object")
            seen.add(key)
    return found


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON (the format spells such floats by their bits)")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"the number {text[:40]} overflows a float")
    return value
