"""compute() and inspect() check every keyword up front, with one rule each."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import ComputeArgumentError

BAD = [
    ("timeout", 0),
    ("timeout", -1),
    ("timeout", "10"),
    ("timeout", True),
    ("timeout", float("nan")),
    ("cache", "yes"),
    ("file", 3),
    ("backend", 3),
]


@pytest.mark.parametrize(("keyword", "value"), BAD)
@pytest.mark.parametrize("method", ["compute", "inspect"])
def test_a_bad_keyword_is_refused_before_anything_runs(
    method: str, keyword: str, value: Any
) -> None:
    x = la.Array(np.arange(10.0)).sum()
    with la.config.set(backend="refuse"), pytest.raises(ComputeArgumentError, match=keyword):
        getattr(x, method)(**{keyword: value})


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("block", 1),
        ("progress_bar", "no"),
        ("num_retries", -1),
        ("num_retries", "3"),
        ("num_retries", 1.0),
        ("num_retries", True),
    ],
)
def test_compute_only_keywords(keyword: str, value: Any) -> None:
    with la.config.set(backend="refuse"), pytest.raises(ComputeArgumentError, match=keyword):
        la.Array([1.0]).compute(**{keyword: value})


def test_good_values_pass() -> None:
    x = la.Array(np.arange(10.0)).sum()
    assert x.compute(timeout=5, num_retries=0, cache=False) == 45.0
    assert x.inspect(timeout=2.5) == 45.0
    # an infinite timeout is no deadline, on every path
    assert x.compute(timeout=float("inf"), cache=False) == 45.0
    assert x.compute(timeout=float("inf"), cache=False, block=False).result() == 45.0
    assert x.inspect(timeout=float("inf"), cache=False) == 45.0
