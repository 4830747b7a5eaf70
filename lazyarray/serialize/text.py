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
    counted), by array arithmetic over blocks of 4 MiB: the positions of quotes and
    brackets are found in one pass each, and only they are looked at further. Carried
    from block to block: the depth, whether a string is open, and the backslashes the
    block ended with."""
    deepest = depth = 0
    in_string = False
    backslashes = 0
    for start in range(0, len(text), _CHUNK):
        block = text[start : start + _CHUNK]
        data = np.frombuffer(block.encode() if isinstance(block, str) else block, np.uint8)
        if not len(data):
            continue
        quotes = np.flatnonzero(data == _QUOTE)
        quotes = quotes[~_escaped(data, quotes, backslashes)]
        brackets = np.flatnonzero(_OPEN[data])
        # a bracket is inside a string when an odd number of quotes precede it
        before = np.searchsorted(quotes, brackets) + in_string
        steps = _OPEN[data[brackets[before % 2 == 0]]].astype(np.int64)
        if len(steps):
            levels = np.cumsum(steps)
            deepest = max(deepest, depth + int(levels.max()))
            depth += int(levels[-1])
        in_string = bool((len(quotes) + in_string) % 2)
        backslashes = _trailing_backslashes(data, backslashes)
    return deepest


def _escaped(data: np.ndarray[Any, Any], quotes: np.ndarray[Any, Any], carried: int) -> Any:
    """Which ``quotes`` follow an odd run of backslashes (which may have begun in the
    block before: ``carried`` backslashes)."""
    after = np.zeros(len(quotes), bool)
    candidates = quotes[(quotes > 0) & (data[np.maximum(quotes - 1, 0)] == _BACKSLASH)]
    at_start = len(quotes) and quotes[0] == 0
    if not len(candidates) and not (at_start and carried):
        return after
    others = np.flatnonzero(data != _BACKSLASH)  # the last one before a quote ends its run
    last = others[np.searchsorted(others, candidates) - 1]
    runs = candidates - 1 - last
    runs[last >= candidates] = candidates[last >= candidates] + carried  # the block's start
    after[np.searchsorted(quotes, candidates)] = runs % 2 == 1
    if at_start:
        after[0] = carried % 2 == 1
    return after


def _trailing_backslashes(data: np.ndarray[Any, Any], carried: int) -> int:
    others = np.flatnonzero(data[-64:] != _BACKSLASH)
    if len(others):
        return min(len(data), 64) - 1 - int(others[-1])
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
