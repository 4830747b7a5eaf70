"""The standard's creation functions, ``asarray`` and ``from_dlpack``: its signatures,
default dtypes, ``device=`` and copy semantics, against numpy's values on both backends
in every mode, small and large."""

from __future__ import annotations

import array
import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import LazyArrayError
from tests.conftest import assert_same

N = 200_000  # above small_bytes: the data stages and blocked paths run

# (lazy call, numpy's value) for n elements; the dtype is the standard's default
CREATION: dict[str, tuple[Callable[[int], Any], Callable[[int], Any]]] = {
    "zeros": (lambda n: la.zeros((2, n)), lambda n: np.zeros((2, n))),
    "zeros dtype None": (lambda n: la.zeros(n, dtype=None), lambda n: np.zeros(n)),
    "ones int32": (lambda n: la.ones(n, dtype=la.int32), lambda n: np.ones(n, np.int32)),
    "full int": (lambda n: la.full((n, 2), 5), lambda n: np.full((n, 2), 5, np.int64)),
    "full bool": (lambda n: la.full(n, True), lambda n: np.full(n, True)),
    "full float": (lambda n: la.full(n, 2.5), lambda n: np.full(n, 2.5)),
    "full complex": (lambda n: la.full(n, 1j), lambda n: np.full(n, 1j)),
    "full int8": (lambda n: la.full(n, 7, dtype=la.int8), lambda n: np.full(n, 7, np.int8)),
    "zeros_like": (
        lambda n: la.zeros_like(la.asarray(np.arange(n, dtype=np.int16))),
        lambda n: np.zeros(n, np.int16),
    ),
    "ones_like dtype": (
        lambda n: la.ones_like(la.asarray(np.arange(n)), dtype=la.float32),
        lambda n: np.ones(n, np.float32),
    ),
    "full_like": (
        lambda n: la.full_like(la.asarray(np.arange(n, dtype=np.uint8)), 3),
        lambda n: np.full(n, 3, np.uint8),
    ),
    "eye": (lambda n: la.eye(n // 1000 + 2), lambda n: np.eye(n // 1000 + 2)),
    "eye rectangular": (
        lambda n: la.eye(3, n // 100, k=1, dtype=la.int8),
        lambda n: np.eye(3, n // 100, k=1, dtype=np.int8),
    ),
    "arange int": (lambda n: la.arange(n), lambda n: np.arange(n, dtype=np.int64)),
    "arange float": (lambda n: la.arange(0, n / 4, 0.5), lambda n: np.arange(0, n / 4, 0.5)),
    "arange step": (lambda n: la.arange(3, n, 7), lambda n: np.arange(3, n, 7, dtype=np.int64)),
    "arange float32": (
        lambda n: la.arange(n, dtype=la.float32),
        lambda n: np.arange(n, dtype=np.float32),
    ),
    "linspace": (lambda n: la.linspace(0, 1, n), lambda n: np.linspace(0, 1, n)),
    "linspace complex": (lambda n: la.linspace(0, 1j, n), lambda n: np.linspace(0, 1j, n)),
    "linspace open": (
        lambda n: la.linspace(-2, 3, n, endpoint=False),
        lambda n: np.linspace(-2, 3, n, endpoint=False),
    ),
}


@pytest.mark.parametrize("n", [7, N], ids=["small", "large"])
@pytest.mark.parametrize("name", CREATION)
def test_creation_matches_numpy_with_the_standards_dtypes(name: str, n: int, backend: str) -> None:
    build, reference = CREATION[name]
    with la.config.set(backend="refuse", implicit_compute="error"):
        lazy = build(n)  # nothing runs while the array is written
    expected = reference(n)
    assert lazy.dtype == expected.dtype and lazy.shape == expected.shape
    assert_same(lazy.compute(backend=backend), expected)


def test_empty_has_the_standards_dtype_and_shape() -> None:
    assert la.empty((2, 3)).dtype == la.float64 and la.empty((2, 3)).shape == (2, 3)
    assert la.empty(4, dtype=la.uint16).dtype == la.uint16
    like = la.empty_like(la.zeros((3, 1), dtype=la.complex64))
    assert like.dtype == la.complex64 and like.shape == (3, 1)
    assert la.empty_like(la.zeros(2), dtype=la.int8).dtype == la.int8


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "zeros": lambda **k: la.zeros(3, **k),
    "ones": lambda **k: la.ones(3, **k),
    "empty": lambda **k: la.empty(3, **k),
    "full": lambda **k: la.full(3, 1.0, **k),
    "zeros_like": lambda **k: la.zeros_like(la.zeros(3), **k),
    "ones_like": lambda **k: la.ones_like(la.zeros(3), **k),
    "empty_like": lambda **k: la.empty_like(la.zeros(3), **k),
    "full_like": lambda **k: la.full_like(la.zeros(3), 2, **k),
    "eye": lambda **k: la.eye(3, **k),
    "arange": lambda **k: la.arange(3, **k),
    "linspace": lambda **k: la.linspace(0, 1, 3, **k),
    "asarray": lambda **k: la.asarray([1.0, 2.0, 3.0], **k),
    "from_dlpack": lambda **k: la.from_dlpack(np.zeros(3), **k),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_creation_function_takes_the_one_device(name: str) -> None:
    for device in (None, "cpu", la.Device("cpu"), la.zeros(1).device, np.zeros(1).device):
        assert FUNCTIONS[name](device=device).device == "cpu"


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("device", ["gpu", "cuda:0", 0, "CPU"])
def test_every_creation_function_refuses_other_devices(name: str, device: Any) -> None:
    with pytest.raises(ValueError, match="Unsupported device") as info:
        FUNCTIONS[name](device=device)
    assert isinstance(info.value, LazyArrayError)


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if n != "from_dlpack"])
def test_a_bad_dtype_is_refused_in_numpys_words(name: str) -> None:
    with pytest.raises(TypeError, match="data type 'no such' not understood"):
        FUNCTIONS[name](dtype="no such")


def test_the_standards_arguments_and_numpys_positions() -> None:
    """The standard's keyword-only arguments may also come where numpy puts them, so
    numpy code runs unchanged; ``device`` is keyword-only, as in both."""
    assert la.zeros(3, la.int8).dtype == la.int8
    assert la.full(2, np.float32(1.5)).dtype == la.float32  # numpy's scalars keep theirs
    assert_same(la.eye(3, 4, 1).compute(), np.eye(3, 4, 1))
    assert la.linspace(0, 1).shape == (50,)  # numpy's default num
    assert la.linspace(0, 1, num=3).shape == (3,)
    with pytest.raises(TypeError):
        la.zeros(3, la.int8, "cpu")  # device is keyword-only
    with pytest.raises(TypeError):
        la.asarray(obj=[1])  # obj is positional-only


@pytest.mark.parametrize("fill", [np.zeros(2), [1, 2], la.zeros(()), "1"])
def test_full_takes_a_scalar_fill_value(fill: Any) -> None:
    with pytest.raises(TypeError, match="fill_value must be a scalar"):
        la.full(3, fill)
    with pytest.raises(TypeError, match="fill_value must be a scalar"):
        la.full_like(la.zeros(3), fill)


def test_full_refuses_integers_no_dtype_holds() -> None:
    with pytest.raises(OverflowError, match="out of bounds"):
        la.full(2, 2**70)
    with pytest.raises(OverflowError, match="300 out of bounds for uint8"):
        la.full(2, 300, dtype=la.uint8)


def test_numpys_functions_on_proxies_keep_numpys_signatures(backend: str) -> None:
    x = la.asarray(np.arange(4))
    like = np.zeros_like(x, np.float32)  # NEP 18: numpy's positional dtype
    assert isinstance(like, la.Array) and like.dtype == la.float32
    assert_same(like.compute(backend=backend), np.zeros(4, np.float32))
    assert_same(np.full_like(x, 7).compute(backend=backend), np.full(4, 7))
    assert np.ones_like(x).dtype == la.int64


# --- asarray ---------------------------------------------------------------------------


def test_asarray_passes_proxies_through_and_copies_as_the_standard_says(backend: str) -> None:
    x = la.arange(4) * 2
    assert la.asarray(x) is x and la.asarray(x, copy=False) is x
    assert la.asarray(x, dtype=la.int64) is x
    copied = la.asarray(x, copy=True)  # a new handle: assigning to it leaves x alone
    assert copied is not x and copied.node is x.node
    copied[0] = 100
    assert_same(x.compute(backend=backend), np.arange(4) * 2)
    cast = la.asarray(x, dtype=la.float32)
    assert cast.dtype == la.float32
    assert_same(cast.compute(backend=backend), np.arange(4, dtype=np.float32) * 2)
    with pytest.raises(ValueError, match="Unable to avoid copy"):
        la.asarray(x, dtype=la.float32, copy=False)


def test_asarray_wraps_numpy_arrays_by_reference_or_snapshot(backend: str) -> None:
    data = np.arange(6.0)
    by_reference = la.asarray(data)
    no_copy = la.asarray(data, copy=False)
    cast = la.asarray(data, dtype=la.float32)  # a lazy cast: reads data when it runs
    snapshot = la.asarray(data, copy=True)
    snapshot_cast = la.asarray(data, dtype=la.float32, copy=True)
    data[0] = 100.0
    assert by_reference.compute(backend=backend)[0] == 100.0
    assert no_copy.compute(backend=backend)[0] == 100.0
    assert cast.compute(backend=backend)[0] == np.float32(100.0)
    assert_same(snapshot.compute(backend=backend), np.arange(6.0))
    assert_same(snapshot_cast.compute(backend=backend), np.arange(6, dtype=np.float32))
    with pytest.raises(ValueError, match="Unable to avoid copy"):
        la.asarray(data, dtype=la.float32, copy=False)


def test_asarray_keeps_masks(backend: str) -> None:
    data = np.ma.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False])
    for kwargs in ({}, {"copy": True}, {"copy": False}):
        result = la.asarray(data, **kwargs)
        assert result.masked
        assert_same(result.compute(backend=backend), data)
    cast = la.asarray(data, dtype=la.float32, copy=True)
    assert_same(cast.compute(backend=backend), data.astype(np.float32))


@pytest.mark.parametrize(
    ("obj", "dtype"),
    [
        ([[1, 2], [3, 4]], la.int64),
        ([1, 2.5], la.float64),
        ([True, False], la.bool),
        ([1, 1j], la.complex128),
        ((1, 2), la.int64),
        (3, la.int64),
        (2.5, la.float64),
        (True, la.bool),
        (np.float32(1.5), la.float32),
    ],
)
def test_asarray_of_python_data_takes_the_standards_dtypes(
    obj: Any, dtype: Any, backend: str
) -> None:
    result = la.asarray(obj)
    assert result.dtype == dtype
    assert_same(result.compute(backend=backend), np.asarray(obj))
    assert_same(
        la.asarray(obj, dtype=la.complex64).compute(backend=backend),
        np.asarray(obj, dtype=np.complex64),
    )
    with pytest.raises(ValueError, match="Unable to avoid copy"):
        la.asarray(obj, copy=False)


def test_asarray_of_a_python_scalar_is_an_array_not_a_weak_scalar() -> None:
    small = la.zeros(2, dtype=la.int8)
    assert (la.asarray(1) + small).dtype == (np.asarray(1) + np.zeros(2, np.int8)).dtype
    assert (la.asarray(1) + small).dtype == la.int64


def test_asarray_reads_buffers_without_copying(backend: str) -> None:
    buffer = array.array("d", [1.0, 2.0, 3.0])
    shared = la.asarray(buffer, copy=False)
    copied = la.asarray(buffer, copy=True)
    buffer[0] = 9.0
    assert_same(shared.compute(backend=backend), np.array([9.0, 2.0, 3.0]))
    assert_same(copied.compute(backend=backend), np.array([1.0, 2.0, 3.0]))
    assert_same(la.asarray(memoryview(bytearray(b"\x01\x02"))).compute(), np.array([1, 2], "u1"))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: la.asarray([1], copy="yes"), ValueError, "copy must be True, False or None"),
        (lambda: la.asarray([1], copy=1), ValueError, "copy must be True, False or None"),
        (lambda: la.asarray([[1], [1, 2]]), ValueError, "inhomogeneous"),
        (lambda: la.asarray([la.zeros(2), la.zeros(3)]), ValueError, "inhomogeneous"),
        (lambda: la.asarray([la.zeros(2)], copy=False), ValueError, "Unable to avoid copy"),
        (lambda: la.asarray(2**70), OverflowError, "out of bounds"),
        (lambda: la.asarray(["a"]), TypeError, "numeric, boolean and datetime"),
        (lambda: la.asarray([1], dtype=object), TypeError, "numeric, boolean and datetime"),
    ],
)
def test_asarray_refuses_bad_input(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, LazyArrayError)


@pytest.mark.parametrize(
    "build",
    [
        lambda m, a, b: [a[0], a[1] * b[2]],
        lambda m, a, b: [[a[i] * b[j] for j in range(3)] for i in range(4)],
        lambda m, a, b: [a[0], 2.5, 7],
        lambda m, a, b: [b, b * 2],
        lambda m, a, b: ([b[0], b[1]], (b[2], 1)),
        lambda m, a, b: [m.astype(a[0], m.float32), a[1] > 2],
    ],
)
def test_asarray_of_nested_sequences_holding_lazy_arrays(build: Any, backend: str) -> None:
    a, b = np.arange(4.0), np.arange(3, dtype=np.int16)
    expected = np.asarray(build(np, a, b))
    with la.config.set(implicit_compute="error"):  # built as one lazy stack
        result = la.asarray(build(la, la.asarray(a, copy=True), la.asarray(b, copy=True)))
    assert result.shape == expected.shape and result.dtype == expected.dtype
    assert_same(result.compute(backend=backend), expected)
    as_float = la.asarray(build(la, la.asarray(a), la.asarray(b)), dtype=la.float32)
    assert_same(as_float.compute(backend=backend), expected.astype(np.float32))


def test_asarray_and_creation_compute_nothing(no_compute: None) -> None:
    x = la.asarray([1.0, 2.0], dtype=la.float32, copy=True)
    y = la.asarray(x, copy=True)
    z = la.zeros_like(la.asarray(np.arange(3)), dtype=la.bool)
    assert (x.dtype, y.dtype, z.dtype) == (la.float32, la.float32, la.bool)


# --- from_dlpack -----------------------------------------------------------------------


def test_from_dlpack_of_numpy_and_of_lazy_arrays(backend: str) -> None:
    data = np.arange(5.0)
    shared = la.from_dlpack(data)
    copied = la.from_dlpack(data, copy=True)
    data[0] = -1.0
    assert shared.compute(backend=backend)[0] == -1.0
    assert copied.compute(backend=backend)[0] == 0.0
    x = la.arange(3) + 1
    with la.config.set(backend="refuse", implicit_compute="error"):
        assert la.from_dlpack(x) is x  # a lazy array passes through, uncomputed
        again = la.from_dlpack(x, copy=True)
    assert again is not x and again.node is x.node
    assert_same(la.from_dlpack(copy.copy(x)).compute(backend=backend), np.arange(3) + 1)


def test_from_dlpack_refuses_what_has_no_dlpack() -> None:
    with pytest.raises(AttributeError):
        la.from_dlpack([1, 2])
    with pytest.raises(ValueError, match="copy must be"):
        la.from_dlpack(np.zeros(2), copy="no")
