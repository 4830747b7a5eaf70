"""Smoke test of the peak-memory measurement (the real one runs in ``make bench``)."""

from __future__ import annotations

import sys

import pytest

from benchmarks.memory import measure


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_w8_peak_memory_stays_small_at_any_size() -> None:
    report = measure("W8", "lazyarray", 0.01)  # 1e6 elements, lazily generated
    assert report["peak_above_start"] < 64 * 2**20
