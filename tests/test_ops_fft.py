"""The FFT rows against numpy.fft: the array API's fft extension and numpy's fft2 family.

Each case is written once for both modules (``case(np, x)`` the reference,
``case(la, proxy)`` the lazy version, ``case(np, proxy)`` numpy's dispatch, NEP 18).
Every result is numpy's bit for bit, on both backends: dask transforms each chunk with
numpy's pocketfft, the transformed axes whole, and pocketfft computes each line alone
(the same bits whatever the lines around it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.errors import UnsupportedOperation
from lazyarray.graph import toposort
from lazyarray.ops import apply, fourier
from tests import kit

DTYPES = ("float32", "float64", "complex64", "complex128", "int16")
COMPLEX = ("complex64", "complex128")
REAL = ("float32", "float64", "int16")
SHAPE = (12, 20)  # several chunks of 1 KiB on dask: transforms along axis 1 run per chunk
CUBE = (4, 6, 10)

FAMILY = {row.name for row in fourier.ROWS}


def random(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-50, 50, size=shape).astype(dtype)
    values = rng.normal(size=shape)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.normal(size=shape)
    return values.astype(dtype)


@dataclasses.dataclass(frozen=True)
class Case:
    build: Callable[[Any, Any], Any]
    shape: tuple[int, ...] = SHAPE
    dtypes: tuple[str, ...] = DTYPES
    nep18: bool = True


CASES: dict[str, Case] = {
    "fft": Case(lambda m, x: m.fft.fft(x)),
    "fft axis 0": Case(lambda m, x: m.fft.fft(x, axis=0)),
    "fft padded": Case(lambda m, x: m.fft.fft(x, n=27)),
    "fft cut": Case(lambda m, x: m.fft.fft(x, 7, 0)),
    "fft ortho": Case(lambda m, x: m.fft.fft(x, norm="ortho")),
    "ifft forward": Case(lambda m, x: m.fft.ifft(x, norm="forward")),
    "ifft": Case(lambda m, x: m.fft.ifft(x, axis=-2)),
    "rfft": Case(lambda m, x: m.fft.rfft(x), dtypes=REAL),
    "rfft odd": Case(lambda m, x: m.fft.rfft(x, n=11, axis=0), dtypes=REAL),
    "irfft": Case(lambda m, x: m.fft.irfft(x), dtypes=COMPLEX),
    "irfft odd": Case(lambda m, x: m.fft.irfft(x, n=15, norm="ortho"), dtypes=COMPLEX),
    "hfft": Case(lambda m, x: m.fft.hfft(x, axis=0), dtypes=COMPLEX),
    "ihfft": Case(lambda m, x: m.fft.ihfft(x, n=9), dtypes=REAL),
    "fftn": Case(lambda m, x: m.fft.fftn(x), CUBE),
    "fftn axes": Case(lambda m, x: m.fft.fftn(x, axes=(2, 0)), CUBE),
    "fftn sizes": Case(lambda m, x: m.fft.fftn(x, s=(3, -1), axes=(0, 2), norm="forward"), CUBE),
    "fftn repeated axis": Case(lambda m, x: m.fft.fftn(x, s=(5, 8), axes=(1, 1)), CUBE),
    "ifftn": Case(lambda m, x: m.fft.ifftn(x, axes=(1,)), CUBE),
    "rfftn": Case(lambda m, x: m.fft.rfftn(x), CUBE, REAL),
    "rfftn sizes": Case(lambda m, x: m.fft.rfftn(x, s=(6, 7), axes=(0, 1)), CUBE, REAL),
    "irfftn": Case(lambda m, x: m.fft.irfftn(x, axes=(0, 2)), CUBE, COMPLEX),
    "irfftn sizes": Case(lambda m, x: m.fft.irfftn(x, s=(3, 9), axes=(1, 2)), CUBE, COMPLEX),
    "fft2": Case(lambda m, x: m.fft.fft2(x), CUBE),
    "ifft2 axes": Case(lambda m, x: m.fft.ifft2(x, axes=(0, 2)), CUBE),
    "rfft2": Case(lambda m, x: m.fft.rfft2(x, s=(5, 6)), CUBE, REAL),
    "irfft2": Case(lambda m, x: m.fft.irfft2(x), CUBE, COMPLEX),
    "fftshift": Case(lambda m, x: m.fft.fftshift(x)),
    "fftshift axis": Case(lambda m, x: m.fft.fftshift(x, axes=0), CUBE),
    "fftshift odd axes": Case(lambda m, x: m.fft.fftshift(x[:-1, :-1], axes=(1, 0))),
    "ifftshift": Case(lambda m, x: m.fft.ifftshift(x[:-1], axes=(0,))),
    "ifftshift all": Case(lambda m, x: m.fft.ifftshift(x), CUBE),
    "round trip": Case(lambda m, x: m.fft.irfft(m.fft.rfft(x), n=x.shape[-1]), dtypes=REAL),
    "fftfreq": Case(lambda m, x: m.fft.fftfreq(8) + x[0, :8], nep18=False),
    "fftfreq odd spaced": Case(lambda m, x: m.fft.fftfreq(9, 0.1) + x[0, :9], nep18=False),
    "rfftfreq": Case(lambda m, x: m.fft.rfftfreq(9, d=2.0) + x[0, :5], nep18=False),
    "rfftfreq even": Case(lambda m, x: m.fft.rfftfreq(20) * x[0, :11], nep18=False),
}


@pytest.mark.parametrize("name", CASES)
def test_case_matches_numpy(name: str, backend: str) -> None:
    case = CASES[name]
    for dtype in case.dtypes:
        data = random(dtype, case.shape)
        expected = case.build(np, data.copy())
        with la.config.set(backend="refuse", implicit_compute="error"):  # builds only
            lazy = case.build(la, la.Array(data))
            dispatched = [case.build(np, la.Array(data))] if case.nep18 else []
            assert lazy.shape == expected.shape and lazy.dtype == expected.dtype, dtype
        for value in la.compute(lazy, *dispatched, backend=backend):
            kit.assert_exact(value, expected)


def test_precision_is_kept() -> None:
    """numpy 2 and the standard alike: float32 in, complex64 out (and back)."""
    x = la.Array(np.ones((4, 6), dtype=np.float32))
    assert la.fft.fft(x).dtype == np.complex64
    assert la.fft.rfftn(x).dtype == np.complex64
    assert la.fft.irfft(la.fft.rfft(x)).dtype == np.float32
    assert la.fft.hfft(x.astype(np.complex64)).dtype == np.float32
    assert la.fft.fft(x.astype(np.float64)).dtype == np.complex128


def test_frequencies_follow_the_standards_arguments(backend: str) -> None:
    kit.assert_exact(la.fft.fftfreq(7, d=0.5).compute(backend=backend), np.fft.fftfreq(7, 0.5))
    as32 = la.fft.rfftfreq(10, dtype=la.float32 if hasattr(la, "float32") else np.float32)
    kit.assert_exact(as32.compute(backend=backend), np.fft.rfftfreq(10).astype(np.float32))
    kit.assert_exact(la.fft.fftfreq(5, device="cpu").compute(backend=backend), np.fft.fftfreq(5))


def exercised() -> set[str]:
    """The ops the cases build (``test_ops_structural`` requires a case of each row)."""
    used: set[str] = set()
    for case in CASES.values():
        built = case.build(la, la.Array(random(case.dtypes[0], case.shape)))
        used |= {node.op for node in toposort([built.node])}
    return used


def test_every_row_is_exercised() -> None:
    assert FAMILY - exercised() == set()


def test_a_node_rebuilt_from_its_attributes_is_itself() -> None:
    for case in CASES.values():
        built = case.build(la, la.Array(random(case.dtypes[0], case.shape)))
        for node in toposort([built.node]):
            if node.op in FAMILY:
                assert apply(node.op, node.inputs, **node.kwargs) is node, node


def test_numpys_default_norm_is_the_same_node() -> None:
    x = la.Array(random("float64", SHAPE))
    assert np.fft.fft(x, norm=None).node is la.fft.fft(x, norm="backward").node
    assert np.fft.fft(x, axis=-1).node is la.fft.fft(x).node


# --- bad input: refused when written, in numpy's words, at the user's line ---------------

_X = random("float64", SHAPE)

BAD: list[tuple[Callable[[], Any], type, str]] = [
    (lambda: la.fft.fft(la.Array(_X), norm="bad"), ValueError, "Invalid norm value bad"),
    (lambda: la.fft.fft(la.Array(_X), n=0), ValueError, r"Invalid number of FFT data points \(0\)"),
    (lambda: la.fft.irfft(la.Array(_X[:, :1])), ValueError, r"data points \(0\)"),
    (lambda: la.fft.fft(la.Array(_X), axis=2), np.exceptions.AxisError, "axis 2 is out of bounds"),
    (lambda: la.fft.fft(la.Array(_X[0, 0])), np.exceptions.AxisError, "out of bounds"),
    (lambda: la.fft.fftn(la.Array(_X), s=(3,), axes=(0, 1)), ValueError, "different lengths"),
    (lambda: la.fft.rfftn(la.Array(_X), s=(3, -2), axes=(0, 1)), ValueError, r"points \(-2\)"),
    (lambda: la.fft.fft(la.Array(_X), n=2.5), TypeError, "cannot be interpreted as an integer"),
    (lambda: la.fft.rfft(la.Array(_X.astype(np.complex128))), TypeError, "not supported"),
    (lambda: la.fft.fftshift(la.Array(_X), axes=3), np.exceptions.AxisError, "out of bounds"),
    (lambda: la.fft.fftfreq(0), ZeroDivisionError, "division by zero"),
    (lambda: la.fft.fftfreq(4, dtype="int32"), ValueError, "real floating-point"),
    (lambda: la.fft.fftfreq(4, device="gpu"), ValueError, "device"),
    (lambda: la.fft.fft(la.MaskedArray(np.ma.masked_array(_X))), UnsupportedOperation, "masked"),
    (
        lambda: la.fft.fftshift(la.MaskedArray(np.ma.masked_array(_X))),
        UnsupportedOperation,
        "masked",
    ),
]


@pytest.mark.parametrize(("build", "error", "message"), BAD)
def test_bad_input_fails_when_written(build: Any, error: type, message: str) -> None:
    with (
        la.config.set(backend="refuse", implicit_compute="error"),
        pytest.raises(error, match=message) as info,
    ):
        build()
    assert __file__ in str(info.value)  # names the user's line


# --- large arrays ---------------------------------------------------------------------------

BIG = random("complex128", (500, 400), 5)  # 200,000 elements

LARGE: dict[str, Callable[[Any, Any], Any]] = {
    "fft rows": lambda m, x: m.fft.fft(x),
    "fft columns": lambda m, x: m.fft.fft(x, axis=0, norm="ortho"),
    "ifftn": lambda m, x: m.fft.ifftn(x, s=(512, 300), axes=(0, 1)),
    "rfft of real": lambda m, x: m.fft.rfft(x.real, axis=0),
    "irfft": lambda m, x: m.fft.irfft(x),
    "fftshift": lambda m, x: m.fft.fftshift(x),
    "round trip": lambda m, x: m.fft.ifft2(m.fft.fft2(x) * 2),
}


@pytest.mark.parametrize(
    ("backend_name", "chunk_bytes"),
    [("numpy", 2**26), ("dask", 2**26), ("dask", 2**18)],
    ids=["numpy", "dask one chunk", "dask chunks"],
)
@pytest.mark.parametrize("name", LARGE)
def test_large_arrays(name: str, backend_name: str, chunk_bytes: int) -> None:
    expected = LARGE[name](np, BIG)
    with la.config.set(dask_chunk_bytes=chunk_bytes):
        lazy = LARGE[name](la, la.Array(BIG))
        kit.assert_exact(lazy.compute(backend=backend_name, cache=False), expected)


# --- hypothesis --------------------------------------------------------------------------

TRANSFORMS = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")


@settings(max_examples=40)
@given(
    name=st.sampled_from(TRANSFORMS),
    dtype=st.sampled_from(DTYPES),
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    axis=st.integers(-3, 2),
    n=st.one_of(st.none(), st.integers(1, 12)),
    norm=st.sampled_from([None, "backward", "ortho", "forward"]),
    backend=st.sampled_from(["numpy", "dask"]),
)
def test_one_dimensional_transforms(
    name: str,
    dtype: str,
    shape: list[int],
    axis: int,
    n: int | None,
    norm: str | None,
    backend: str,
) -> None:
    data = random(dtype, tuple(shape))
    try:
        expected = getattr(np.fft, name)(data, n=n, axis=axis, norm=norm)
    except (ValueError, TypeError, IndexError) as exc:  # numpy refuses: so must lazyarray
        with pytest.raises(type(exc)):
            getattr(la.fft, name)(la.Array(data), n=n, axis=axis, norm=norm)
        return
    lazy = getattr(la.fft, name)(la.Array(data), n=n, axis=axis, norm=norm)
    kit.assert_exact(lazy.compute(backend=backend, cache=False), expected)


def test_sizes_known_only_when_computed(backend: str) -> None:
    data = random("complex128", SHAPE)
    keep = np.arange(SHAPE[0]) % 3 != 0
    x = la.Array(data)[la.Array(keep)]  # (?, 20)
    along_unknown = la.fft.irfft(x, axis=0)
    assert along_unknown.shape == (None, 20)
    expected = (np.fft.irfft(data[keep], axis=0), np.fft.fft(data[keep], n=9))
    results = la.compute(along_unknown, la.fft.fft(x, n=9), backend=backend)
    for value, reference in zip(results, expected, strict=True):
        kit.assert_exact(value, reference)
