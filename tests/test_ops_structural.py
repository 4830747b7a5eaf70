"""Shape, indexing, linear algebra, creation and masked ops against numpy.

Each case is one function written for both modules: ``case(np, x)`` is the reference,
``case(la, la.Array(x))`` the lazy version. A coverage test fails when an op row is
exercised by no test, so a new row needs a case here (or is generic: elementwise,
reductions and scans are covered by their own table-driven tests).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import UnsupportedOperation
from lazyarray.graph import toposort
from lazyarray.ops import OPS, Kind
from lazyarray.testing.suite.cases import NUMPY_MA
from tests.cases import masked_sample, sample
from tests.conftest import assert_same
from tests.test_ops_manipulation import ops_exercised as ops_exercised_by_manipulation

X = sample("float64", (2, 3, 4))
Case = Callable[[Any, Any], Any]


def _assigned(x: Any, key: Any, value: Any) -> Any:
    """A copy of ``x`` (for a proxy: another handle on its node) with ``[key] = value``."""
    y = x.copy() if isinstance(x, np.ndarray) else copy.copy(x)
    y[key] = value
    return y


CASES: dict[str, Case] = {
    # shape
    "reshape": lambda m, x: x.reshape(4, 6),
    "reshape -1": lambda m, x: m.reshape(x, (-1, 4)),
    "ravel": lambda m, x: m.ravel(x),
    "flatten": lambda m, x: x.flatten(),
    "transpose": lambda m, x: x.T,
    "transpose axes": lambda m, x: m.transpose(x, (1, 0, 2)),
    "transpose method": lambda m, x: x.transpose(2, 0, 1),
    "squeeze": lambda m, x: m.squeeze(x[:, :1], axis=1),
    "expand_dims": lambda m, x: m.expand_dims(x, (0, 2)),
    "broadcast_to": lambda m, x: m.broadcast_to(x[0, 0], (5, 4)),
    "moveaxis": lambda m, x: m.moveaxis(x, 0, -1),
    "swapaxes": lambda m, x: m.swapaxes(x, 0, 2),
    "flip": lambda m, x: m.flip(x, axis=1),
    "flip all": lambda m, x: m.flip(x),
    "rot90": lambda m, x: m.rot90(x, 3, axes=(2, 0)),
    "rot90 twice": lambda m, x: m.rot90(x, -2),
    "sliding_window_view": lambda m, x: m.lib.stride_tricks.sliding_window_view(x, 2, axis=1),
    "concatenate": lambda m, x: m.concatenate([x, x * 2], axis=1),
    "concatenate none": lambda m, x: m.concatenate([x, x[0]], axis=None),
    "stack": lambda m, x: m.stack([x, x + 1], axis=-1),
    # indexing
    "slice": lambda m, x: x[1:, ::-2, 1:3],
    "int": lambda m, x: x[1],
    "negative int": lambda m, x: x[-1, -2],
    "ellipsis": lambda m, x: x[..., 0],
    "newaxis": lambda m, x: x[:, None, 1],
    "int array": lambda m, x: x[:, [2, 0, 2]],
    "int array first": lambda m, x: x[[1, 0]],
    "int array 2d": lambda m, x: x[:, :, np.array([[0, 1], [3, 2]])],
    "int and array apart": lambda m, x: x[0, :, [1, 3]],
    "int and array adjacent": lambda m, x: x[:, 0, [1, 3]],
    "bool mask": lambda m, x: x[x > 0],
    "bool mask rows": lambda m, x: x[np.array([True, False])],
    "bool mask inner": lambda m, x: x[:, np.array([True, False, True])],
    "take": lambda m, x: m.take(x, [3, 0], axis=2),
    "take flat": lambda m, x: m.take(x, [5, 1]),
    "take wrap": lambda m, x: m.take(x, [5, -9], axis=2, mode="wrap"),
    "view": lambda m, x: x.view(np.int64),
    # assignment
    "setitem": lambda m, x: _assigned(x, (0, slice(1, None)), -1.5),
    "setitem array": lambda m, x: _assigned(x, (Ellipsis, 1), x[..., 2] * 2),
    "setitem newaxis": lambda m, x: _assigned(x, (None, 1), 0.25),
    "boolean setitem": lambda m, x: _assigned(x, x > 0, 0.0),
    "boolean setitem rows": lambda m, x: _assigned(x, np.array([True, False]), x[1] + 1),
    "boolean setitem values": lambda m, x: _assigned(x, x > 1, x[x > 1] * 10),
    # linear algebra
    "matmul": lambda m, x: x @ m.swapaxes(x, 1, 2),
    "matmul 1d": lambda m, x: x[0] @ x[0, 0],
    "matmul vector first": lambda m, x: x[0, 0, :3] @ x[0],
    "dot": lambda m, x: m.dot(x[0], x[1].T),
    "dot nd": lambda m, x: m.dot(x, x[0].T),
    "dot scalar": lambda m, x: m.dot(x[0], 2.0),
    "tensordot": lambda m, x: m.tensordot(x, x, axes=([0, 1], [0, 1])),
    "tensordot int": lambda m, x: m.tensordot(x[0], x[1].T, axes=1),
    "einsum": lambda m, x: m.einsum("ijk,ijl->kl", x, x),
    "einsum implicit": lambda m, x: m.einsum("ij,jk", x[0], x[1].T),
    "einsum ellipsis": lambda m, x: m.einsum("...j,...j->...", x, x),
    # creation
    "zeros": lambda m, x: m.zeros((2, 3)) + x[0, :2, :3],
    "ones int": lambda m, x: m.ones(4, dtype=int),
    "full": lambda m, x: m.full((2, 2), 7.5),
    "zeros_like": lambda m, x: m.zeros_like(x),
    "ones_like": lambda m, x: m.ones_like(x, dtype="int32"),
    "full_like unknown size": lambda m, x: m.full_like(x[x > 0], 3),
    "arange": lambda m, x: m.arange(10),
    "arange floats": lambda m, x: m.arange(0.5, 3, 0.25),
    "arange negative step": lambda m, x: m.arange(10, 2, -3),
    "linspace": lambda m, x: m.linspace(0, 1, 7),
    "linspace no endpoint": lambda m, x: m.linspace(-2, 2, 5, endpoint=False),
    "eye": lambda m, x: m.eye(3, 4, k=1),
}

MASKED_CASES: dict[str, Case] = {
    "masked reshape": lambda m, x: x.reshape(4, 6),
    "masked transpose": lambda m, x: m.transpose(x),
    "masked broadcast_to": lambda m, x: m.broadcast_to(x[0, 0], (5, 4)),
    "masked concatenate": lambda m, x: m.concatenate([x, x], axis=0),
    "masked stack": lambda m, x: m.stack([x, x]),
    "masked slice": lambda m, x: x[1:, ::2],
    "masked take": lambda m, x: m.take(x, [1, 0], axis=1),
    "masked bool": lambda m, x: x[np.array([False, True])],
    "masked dot": lambda m, x: m.dot(x[0], x[1].T),
    "masked where": lambda m, x: m.where(x > 0, x, -x),
    "masked clip": lambda m, x: m.clip(x, -1, 1),
    "masked squeeze": lambda m, x: m.squeeze(x[:1]),
    "masked expand_dims": lambda m, x: m.expand_dims(x, 0),
    "masked moveaxis": lambda m, x: m.moveaxis(x, 0, -1),
    "masked flip": lambda m, x: m.flip(x, 0),
    "masked swapaxes": lambda m, x: m.swapaxes(x, 0, 1),
    "masked ravel": lambda m, x: m.ravel(x),
    "masked astype": lambda m, x: x.astype("float32"),
    "masked setitem": lambda m, x: _assigned(x, (0, 1), 5.0),
    "masked setitem masked": lambda m, x: _assigned(x, (1, slice(None), 0), np.ma.masked),
    "masked boolean setitem": lambda m, x: _assigned(x, x > 0, 1.0),
}


@pytest.mark.parametrize("name", CASES)
def test_case_matches_numpy(name: str, backend: str) -> None:
    case = CASES[name]
    expected = case(np, X.copy())
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = case(la, la.Array(X))
        known = tuple(d for d in lazy.shape if d is not None)
        assert lazy.ndim == np.ndim(expected) and lazy.dtype == expected.dtype
        assert known == tuple(
            s for s, d in zip(np.shape(expected), lazy.shape, strict=True) if d is not None
        )
    assert_same(lazy.compute(backend=backend), expected)


@pytest.mark.parametrize("name", MASKED_CASES)
def test_masked_case_matches_numpy_ma(name: str, backend: str) -> None:
    data = masked_sample("float64", (2, 3, 4))
    expected = MASKED_CASES[name](NUMPY_MA, data.copy())
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = MASKED_CASES[name](la, la.MaskedArray(data))
        assert lazy.dtype == expected.dtype
        assert lazy.masked
    assert_same(lazy.compute(backend=backend), expected)


def _ops_used(cases: dict[str, Case], wrap: Any, data: Any) -> set[str]:
    used: set[str] = set()
    for case in cases.values():
        used |= {node.op for node in toposort([case(la, wrap(data)).node])}
    return used


def test_every_structural_row_is_exercised() -> None:
    generic = {Kind.ELEMENTWISE, Kind.REDUCTION, Kind.SCAN}
    generic |= {Kind.SORTING}  # test_ops_sorting.py checks its rows are exercised
    generic |= {Kind.STATISTICS}  # test_ops_statistics.py checks its rows are exercised
    structural = {name for name, row in OPS.items() if row.kind not in generic}
    used = _ops_used(CASES, la.Array, X) | _ops_used(
        MASKED_CASES, la.MaskedArray, masked_sample("float64", (2, 3, 4))
    )
    covered_elsewhere = {
        "parameter",
        "random",
        "masked_array",
        "filled",
        "getdata",
        "getmaskarray",
        "compressed",
        "fill_value",
        "masked_result",
        "fused",
        "dask_array",
        "read",
    }  # test_masked.py, test_masked_fusion.py, test_compute.py, test_random.py, tests/planner,
    # test_dask_cluster.py, test_sources.py
    covered_elsewhere |= ops_exercised_by_manipulation()  # tests/test_ops_manipulation.py
    from tests import test_ops_fft, test_ops_linalg  # families with case tables of their own

    covered_elsewhere |= test_ops_linalg.exercised() | test_ops_fft.exercised()
    assert structural - used - covered_elsewhere == set()


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda x: x.reshape(5, 5), ValueError, "cannot reshape array of size 24 into shape"),
        (lambda x: x.transpose(0, 0, 1), ValueError, "repeated axis"),
        (lambda x: la.squeeze(x, 0), ValueError, "cannot select an axis to squeeze"),
        (lambda x: la.broadcast_to(x, (3, 3)), ValueError, "broadcast|dimensions"),
        (lambda x: la.concatenate([x, x[0]]), ValueError, "dimension"),
        (lambda x: la.stack([x, x[0]]), ValueError, "same shape"),
        (lambda x: x[5], IndexError, "out of bounds"),
        (lambda x: x[0, 0, 0, 0], IndexError, "too many indices"),
        (lambda x: x[:, [7]], IndexError, "out of bounds"),
        (lambda x: x[np.array([True, False, True])], IndexError, "boolean index did not match"),
        (lambda x: x @ x, ValueError, "mismatch in its core dimension"),
        (lambda x: la.dot(x, x), ValueError, "not aligned"),
        (lambda x: la.einsum("ij,jk->ik", x[0], x[0]), ValueError, "einstein|operand|size"),
        (lambda x: la.moveaxis(x, 5, 0), np.exceptions.AxisError, "out of bounds"),
        (lambda x: la.flip(x, 3), np.exceptions.AxisError, "out of bounds"),
        # numpy's answer depends on a memory layout a lazy array has not: refused, not
        # guessed (x.T is Fortran-contiguous in numpy, so order="A" reads it in F order)
        (lambda x: x.T.reshape(-1, order="A"), UnsupportedOperation, "memory layout"),
    ],
)
def test_wrong_structure_fails_when_written(build: Any, error: type, message: str) -> None:
    with (
        la.config.set(backend="refuse", implicit_compute="error"),
        pytest.raises(error, match=message) as info,
    ):
        build(la.Array(X))
    assert "test_ops_structural.py" in str(info.value)


def test_unknown_sizes_are_none_and_resolve_by_computing(backend: str) -> None:
    x = la.Array(X)
    selected = x[x > 0]
    assert selected.shape == (None,) and selected.size is None
    doubled = (selected * 2)[1:]
    assert doubled.shape == (None,)
    assert selected.compute_shape() == (int((X > 0).sum()),)
    assert_same(doubled.compute(backend=backend), (X[X > 0] * 2)[1:])


@pytest.mark.parametrize("size", [6, 200_000], ids=["small", "big"])
@pytest.mark.parametrize("axis", [0, -1])
def test_stack_takes_an_unknown_size_beside_a_known_one(size: int, axis: int, backend: str) -> None:
    """numpy stacks arrays whose sizes turn out equal; a lazy operand of unknown size
    is checked when computed, as concatenate and broadcasting check theirs."""
    data = np.arange(2.0 * size)
    x = la.Array(data)
    picked, other = x[x % 2 == 0], la.Array(data[:size] * 3)
    lazy = la.stack([picked, other, picked], axis=axis)
    assert lazy.shape == ((3, size) if axis == 0 else (size, 3))
    expected = np.stack([data[data % 2 == 0], data[:size] * 3, data[data % 2 == 0]], axis=axis)
    assert_same(lazy.compute(backend=backend), expected)
    nothing = la.stack([x[x < 0], la.Array(np.zeros(0))])  # both empty when computed
    assert nothing.shape == (2, 0)
    assert_same(nothing.compute(backend=backend), np.zeros((2, 0)))
    with pytest.raises(la.errors.ComputeError, match="same shape") as info:
        la.stack([picked, la.Array(data[:3])]).compute(backend=backend)
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(ValueError, match="same shape"):  # known sizes: when written
        la.stack([la.Array(data[:2]), la.Array(data[:3])])


# --- index forms numpy accepts: [], 0-d booleans ---------------------------------------

_BIG = np.arange(2 * 300 * 200, dtype=np.float64).reshape(2, 300, 200)  # above small_bytes

EMPTY_AND_BOOLEAN_INDICES = [
    [],
    ([],),
    [[]],
    (slice(None), []),
    (0, [[]]),
    np.array([], dtype=int),
    True,
    False,
    np.True_,
    np.array(False),
    (0, True),
    (True, 0),
    (True, True),
    (True, False),
    (0, slice(None), True),  # advanced indices apart: the new axis goes first
    (slice(None), True, 0),
    (Ellipsis, True),
    (True, Ellipsis, 0),
    (None, True, slice(1, 3)),
    (True, slice(1, 2), None, False),
]


@pytest.mark.parametrize("index", EMPTY_AND_BOOLEAN_INDICES, ids=repr)
def test_empty_and_boolean_scalar_indices_match_numpy(index: Any, backend: str) -> None:
    expected = _BIG[index]
    result = la.Array(_BIG)[index]
    assert result.shape == expected.shape
    assert_same(result.compute(backend=backend), expected)


def test_boolean_scalar_indices_on_masked_arrays() -> None:
    data = np.ma.MaskedArray(_BIG[0], mask=_BIG[0] % 3 == 0)
    for index in (True, (False, 0), []):
        assert_same(la.MaskedArray(data)[index].compute(), data[index])


def test_a_mask_whose_count_is_known_gives_a_known_size() -> None:
    x = la.Array(np.arange(6.0))
    frozen = np.array([True, False] * 3)
    frozen.flags.writeable = False
    assert x[frozen].shape == (3,)  # read-only: its values cannot change
    assert x[np.array([True, False] * 3)].shape == (None,)  # writeable: counted when run
    assert la.zeros(0)[la.zeros(0, bool)].shape == (0,)


@pytest.mark.parametrize(
    "mask", [np.zeros(0, bool), np.zeros((2, 0), bool), np.zeros((0, 3), bool)], ids=str
)
def test_an_empty_boolean_axis_selects_nothing_whatever_the_size(
    mask: np.ndarray[Any, Any], backend: str
) -> None:
    """numpy takes a boolean index with an empty axis against an axis of any size."""
    lazy = la.Array(X)[mask]
    assert lazy.shape == X[mask].shape
    assert_same(lazy.compute(backend=backend), X[mask])
    masked = la.MaskedArray(masked_sample("float64", (2, 3, 4)))[mask]
    assert masked.compute(backend=backend).shape == X[mask].shape
