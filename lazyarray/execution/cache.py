"""Results of identical graphs with identical arguments, bounded by a byte budget (LRU)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np


def _nbytes(values: list[Any]) -> int:
    total = 0
    for value in values:
        total += int(getattr(value, "nbytes", 0))
        if isinstance(value, np.ma.MaskedArray):
            total += int(np.ma.getmaskarray(value).nbytes)
    return total


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


class ResultCache:
    """Entries are private copies: what callers get back is theirs to modify."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[list[Any], int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> list[Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return [_copy(value) for value in entry[0]]

    def peek(self, key: str) -> list[Any] | None:
        """The stored values themselves, for a reader that only reads them (and never
        hands them out): no copy."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, values: list[Any], budget: int) -> None:
        size = _nbytes(values)
        if size > budget:
            return
        values = [_copy(value) for value in values]  # the caller keeps the originals
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (values, size)
            self._bytes += size
            while self._bytes > budget:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


results = ResultCache()
