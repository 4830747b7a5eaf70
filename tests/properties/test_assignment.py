"""Assignment (hypothesis) against numpy: drawn shapes, basic keys and boolean masks,
values of drawn shapes and dtypes, on both backends in every mode. What numpy refuses
is refused when written, in the same builtin class; what numpy casts beyond
``same_kind`` (float into integer), lazyarray refuses (``docs/array-api.md``)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazyarray as la
from lazyarray.errors import CastError, ComputeError, LazyArrayError
from tests import kit
from tests.conftest import RUNS, forced

DTYPES = ["float64", "float32", "int32", "int64", "bool"]


@st.composite
def assignments(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    x = draw(hnp.arrays(draw(st.sampled_from(DTYPES[:4])), shape))
    if draw(st.booleans()):
        key: Any = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
        selected = np.empty(shape)[key].shape
    else:
        covered = draw(st.integers(1, len(shape)))
        key = draw(hnp.arrays(np.bool_, shape[:covered]))
        selected = (int(key.sum()), *shape[covered:])
    shapes = hnp.broadcastable_shapes(selected, max_dims=len(selected) + 1, min_side=0)
    if isinstance(key, np.ndarray):  # numpy takes an empty value of any shape for a mask
        shapes = shapes.filter(lambda shape: 0 not in shape)
    value_shape = draw(shapes)
    value = draw(hnp.arrays(draw(st.sampled_from(DTYPES)), value_shape))
    return x, key, value


def _same_error(call: Any, expected: tuple[type[BaseException], ...], x: Any = None) -> None:
    """``call`` refused as numpy refused; with ``x``, a mask's count (known only when
    run) may instead fail every compute of ``x``."""
    try:
        call()
    except LazyArrayError as error:
        assert isinstance(error, expected), (type(error), expected)
        return
    if x is None:
        raise AssertionError(f"lazyarray accepted what numpy refused with {expected}")
    for backend, mode in RUNS:
        with forced(mode), pytest.raises(ComputeError, match="boolean_setitem failed"):
            x.compute(backend=backend)


@given(assignments())
def test_assignment_matches_numpy(drawn: tuple[Any, Any, Any]) -> None:
    data, key, value = drawn
    castable = np.can_cast(value.dtype, data.dtype, casting="same_kind")
    x = la.asarray(data)
    expected = data.copy()
    try:
        with np.errstate(all="ignore"):
            expected[key] = value
    except (ValueError, IndexError, TypeError) as refused:
        # a mask's count is known only when run: before, only a dtype can be refused
        counted = isinstance(key, np.ndarray) and isinstance(refused, ValueError)
        errors = (type(refused), CastError) if counted else (type(refused),)
        assign = lambda: x.__setitem__(key, la.asarray(value))
        _same_error(assign, errors, x if counted and castable else None)
        return
    if not castable:
        _same_error(lambda: x.__setitem__(key, value), (CastError,))
        return
    other = copy.copy(x)
    x[key] = la.asarray(value)
    for backend, mode in RUNS:
        with forced(mode):
            kit.assert_exact(x.compute(backend=backend), expected)
    kit.assert_exact(other.compute(), data)


@st.composite
def masked_assignments(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    data, key, value = draw(assignments())
    data = np.ma.MaskedArray(data, mask=draw(hnp.arrays(np.bool_, data.shape)))
    if draw(st.booleans()):
        value = np.ma.MaskedArray(value, mask=draw(hnp.arrays(np.bool_, value.shape)))
    return data, key, value


@given(masked_assignments())
def test_masked_assignment_matches_numpy_ma(drawn: tuple[Any, Any, Any]) -> None:
    data, key, value = drawn
    expected = data.copy()
    try:
        with np.errstate(all="ignore"):
            expected[key] = value
    except (ValueError, IndexError, TypeError):
        return  # the refusals are those of plain arrays (above)
    if not np.can_cast(value.dtype, data.dtype, casting="same_kind"):
        return
    x = la.MaskedArray(data)
    x[key] = la.MaskedArray(value) if isinstance(value, np.ma.MaskedArray) else value
    for backend, mode in RUNS:
        with forced(mode):
            kit.assert_exact(x.compute(backend=backend), expected)
