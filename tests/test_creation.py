"""Generated sources (full, arange, linspace, eye, random): any region of them is
numpy's bit for bit and costs only its own size, on every backend and path; the sizes
they take are checked as numpy checks them."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.ops import OPS, Trait
from lazyarray.ops.indexing import encode_index
from lazyarray.planner import make_plan
from lazyarray.planner.fusion import _generated

GENERATED = ["full", "arange", "linspace", "eye", "random"]
FORCED = {"small_bytes": 0, "disabled": frozenset({"fold"}), "block_bytes": 1024}


def assert_bits(actual: Any, expected: Any) -> None:
    """Same dtype, shape and bytes: -0.0 is not 0.0, and NaN payloads count."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert np.ascontiguousarray(actual).tobytes() == np.ascontiguousarray(expected).tobytes()


# (start, stop, step, dtype): odd and negative steps, integers that wrap, float32 past
# 2**24, float16, complex, and starts where start + step is inexact
ARANGES = [
    (0, 300_000, 1, "float64"),
    (0.1, 1e5, 0.3, "float64"),
    (0.1, 3e4, 0.37, "float32"),
    (1.5, -1e5, -0.7, "float32"),
    (2**24 - 3000, 2**24 + 5000, 1, "float32"),
    (5, -300_000, -3, "int64"),
    (0, 300, 1, "int8"),
    (3, 100_000, 7, "uint16"),
    (0.1, 100, 0.1, "float16"),
    (2**60, 2**60 + 100_000, 3, "float64"),
    (np.float32(0.1), 1e4, np.float32(0.3), "float32"),
    (1 + 1j, 1000, 1.5, "complex128"),
    (0, 2, 1, "bool"),
]
# (start, stop, num, endpoint, dtype): num 1 and 2, endpoint False, a denormal step,
# integer dtypes (floored), float32 and complex
LINSPACES = [
    (0, 1, 1_000_003, True, "float64"),
    (0, 1, 1_000_003, False, "float64"),
    (-3.7, 11.1, 12_345, True, "float32"),
    (np.float32(0.1), np.float32(7.3), 1001, True, "float32"),
    (1, 1000, 999, True, "int64"),
    (10, -10, 1001, True, "int16"),
    (0, 1e-310, 10, True, "float64"),
    (0, 1, 1, True, "float64"),
    (0, 1, 1, False, "float64"),
    (0, 1, 2, True, "float64"),
    (5, 5, 100, True, "float64"),
    (1 + 2j, -3j, 77, True, "complex128"),
]
EYES = [(50, 50, 0, "float64"), (40, 70, 3, "int32"), (70, 40, -5, "bool"), (30, 30, 100, "f4")]
INDEXES_1D = [
    slice(None),
    slice(5, 17),
    slice(None, None, -3),
    slice(-9, 2, -2),
    slice(2, None, 7),
    slice(0, 0),
    slice(1, 2),
    0,
    1,
    2,
    -1,
]
INDEXES_2D = [
    (slice(3, 20), slice(None, None, -2)),
    (4, slice(None)),
    (slice(None), 7),
    (0, 0),
    (-1, slice(2, 9, 3)),
    (slice(None, None, -1), slice(1, None, 5)),
]


def test_every_generated_source_has_the_trait() -> None:
    assert {name for name, row in OPS.items() if Trait.GENERATED in row.traits} == set(GENERATED)


@pytest.mark.parametrize(("start", "stop", "step", "dtype"), ARANGES)
def test_arange_regions_are_numpys_bits(start: Any, stop: Any, step: Any, dtype: str) -> None:
    with np.errstate(all="ignore"):
        whole = np.arange(start, stop, step, dtype=dtype)
    for index in INDEXES_1D:
        if isinstance(index, int) and not -len(whole) <= index < len(whole):
            continue
        region = encode_index((index,))
        with np.errstate(all="ignore"):
            part = OPS["arange"].impl(
                start=start, stop=stop, step=step, dtype=np.dtype(dtype), region=region
            )
        assert_bits(part, whole[index])


@pytest.mark.parametrize(("start", "stop", "num", "endpoint", "dtype"), LINSPACES)
def test_linspace_regions_are_numpys_bits(
    start: Any, stop: Any, num: int, endpoint: bool, dtype: str
) -> None:
    whole = np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)
    for index in INDEXES_1D:
        if isinstance(index, int) and not -num <= index < num:
            continue
        part = OPS["linspace"].impl(
            start=start,
            stop=stop,
            num=num,
            endpoint=endpoint,
            dtype=np.dtype(dtype),
            region=encode_index((index,)),
        )
        assert_bits(part, whole[index])


@pytest.mark.parametrize(("n", "m", "k", "dtype"), EYES)
def test_eye_regions_are_numpys_bits(n: int, m: int, k: int, dtype: str) -> None:
    whole = np.eye(n, m, k, dtype=dtype)
    for index in INDEXES_2D:
        part = OPS["eye"].impl(n=n, m=m, k=k, dtype=np.dtype(dtype), region=encode_index(index))
        assert_bits(part, whole[index])


# lazy expressions (module, n) over big generated sources, each sliced
SLICED = [
    lambda m, n: m.arange(n)[12_345:-7:3],
    lambda m, n: m.arange(0.5, n / 3, 1 / 3, dtype="float32")[::-5],
    lambda m, n: m.linspace(-2, 3, n, endpoint=False)[n // 2 :: 9],
    lambda m, n: m.linspace(0, 1, n)[-10:],
    lambda m, n: m.eye(n // 1000, k=1)[5:200:3, ::-7],
    lambda m, n: m.full((n // 1000, 1000), 2.5, dtype="float32")[1:-1:4, 3],
    lambda m, n: m.arange(n)[::2] * 0.5 + m.linspace(0, 1, n)[1::2],
    lambda m, n: m.arange(n)[::-1][10:20],
]


@pytest.mark.parametrize("mode", ["default", "forced"])
@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize("build", SLICED)
def test_sliced_sources_compute_numpys_bits(build: Any, backend: str, mode: str) -> None:
    n = 1_000_000
    options = FORCED if mode == "forced" else {}
    with la.config.set(**options):
        actual = build(la, n).compute(backend=backend, cache=False)
    assert_bits(actual, build(np, n))


def test_random_slices_match_the_whole_array_on_both_backends() -> None:
    whole = la.random.default_rng(3).random((700, 500)).compute()
    for backend in ("numpy", "dask"):
        x = la.random.default_rng(3).random((700, 500))
        assert_bits(x[5:600:7, ::-3][1:, 2].compute(backend=backend), whole[5:600:7, ::-3][1:, 2])


HUGE = [
    (lambda m: m.arange(10**9)[:3], lambda: np.arange(3)),
    (lambda m: m.eye(10**6)[:2, :2], lambda: np.eye(2)),
    # numpy's linspace is arange(num) * step + start; its whole array would be 8 GB
    (lambda m: m.linspace(0, 1, 10**9)[5:8], lambda: np.arange(5.0, 8.0) * (1 / (10**9 - 1))),
    (lambda m: m.full((10**6, 10**6), 7, dtype="int8")[-2:, 5], lambda: np.full(2, 7, "int8")),
    (lambda m: m.random.default_rng(0).random((10**6, 10**6))[3, -2:], None),
]


@pytest.mark.parametrize("backend", ["numpy", "dask"])
@pytest.mark.parametrize(("build", "expected"), HUGE)
def test_slices_of_huge_sources_cost_only_the_slice(
    build: Any, expected: Any, backend: str
) -> None:
    x = build(la)
    plan = make_plan([x.node])
    assert plan.peak_bytes() <= 1024
    started = time.perf_counter()
    actual = x.compute(backend=backend, cache=False)
    assert time.perf_counter() - started < 5  # materializing would take minutes, or fail
    if expected is not None:
        assert_bits(actual, expected())
    else:
        assert actual.shape == (2,)


@pytest.mark.parametrize("source", ["arange", "linspace", "eye", "full"])
def test_kernels_generate_sources_block_by_block(source: str) -> None:
    n = 400_000
    build = {
        "arange": lambda m: m.arange(n) * 0.5 + 1,
        "linspace": lambda m: m.linspace(0, 1, n) * 3 - 1,
        "eye": lambda m: m.eye(n // 1000, 1000) * 2 + 1,
        "full": lambda m: m.full(n, 3.0) * 2 + 1,
    }[source]
    lazy = build(la)
    plan = make_plan([lazy.node])
    assert [node.op for node in plan.steps if node.op != "constant"] == ["fused"]
    assert plan.peak_bytes(block_bytes=2**12) < n * 8 + 2**17  # the output, no whole source
    for backend in ("numpy", "dask"):
        for options in ({}, FORCED):
            with la.config.set(**options):
                assert_bits(lazy.compute(backend=backend, cache=False), build(np))


def test_a_sum_over_a_generated_source_holds_no_array() -> None:
    n = 10**6
    total = (la.arange(n) / n).sum()
    plan = make_plan([total.node])
    assert plan.peak_bytes(block_bytes=2**12) < 2**17  # kernel blocks only, no 8 MB array
    assert not any(_generated(node) for node in plan.steps)
    expected = (np.arange(n) / n).sum()
    assert abs(total.compute(cache=False) - expected) <= 64 * np.finfo(float).eps * n


# --- sizes as numpy takes them ----------------------------------------------------


def _numpy_error(call: Any) -> BaseException:
    try:
        call()
    except Exception as error:  # any error numpy raises is the reference
        return error
    raise AssertionError("numpy accepted it")


BAD_SIZES = [
    ("zeros", lambda m: m.zeros((2.5,))),
    ("zeros", lambda m: m.zeros(("3",))),
    ("zeros", lambda m: m.zeros(2.5)),
    ("zeros", lambda m: m.zeros((3, -1))),
    ("zeros", lambda m: m.zeros((10**19,))),
    ("zeros", lambda m: m.zeros((10**12,) * 2)),
    ("zeros", lambda m: m.zeros((True,))),
    ("full", lambda m: m.full((2**61, 2), 1.0)),
    ("ones", lambda m: m.ones((4, 2**62))),
    ("broadcast_to", lambda m: m.broadcast_to(m.ones(3), (2.5, 3))),
    ("reshape", lambda m: m.ones(6).reshape(2.5)),
    ("reshape", lambda m: m.ones(6).reshape((2, "3"))),
    ("eye", lambda m: m.eye(-1)),
    ("eye", lambda m: m.eye(10**19)),
    ("linspace", lambda m: m.linspace(0, 1, -1)),
    ("linspace", lambda m: m.linspace(0, 1, 10**19)),
    ("arange", lambda m: m.arange(0, 10, 0)),
    ("arange", lambda m: m.arange(0.0, 10.0, 0.0)),
    ("arange", lambda m: m.arange(10**19)),
    ("arange", lambda m: m.arange(0, np.inf)),
    ("arange", lambda m: m.arange(0, 3, dtype=bool)),
    ("random", lambda m: m.random.default_rng(0).random((2.5,))),
    ("random", lambda m: m.random.default_rng(0).random(-1)),
]


@pytest.mark.parametrize(
    ("name", "build"), BAD_SIZES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_sizes_numpy_refuses_are_refused_in_its_words(name: str, build: Any) -> None:
    expected = _numpy_error(lambda: build(np))
    with pytest.raises(type(expected)) as caught:
        build(la)
    assert isinstance(caught.value, la.errors.LazyArrayError)
    assert str(caught.value).startswith(str(expected)), (str(caught.value), str(expected))


class Size:
    def __index__(self) -> int:
        return 4


def test_integer_like_sizes_are_accepted() -> None:
    assert la.zeros((np.int8(3), Size())).shape == (3, 4)
    assert la.zeros(np.int64(5)).shape == (5,)
    assert la.eye(np.int32(3), Size()).shape == (3, 4)
    assert la.random.default_rng(0).random(np.uint8(6)).shape == (6,)
    assert la.linspace(0, 1, np.int16(7)).shape == (7,)
    big = la.zeros((10**6, 10**6))  # 8 TB: a legal shape, as in numpy (which fails to allocate)
    assert_bits(big[:2, :2].compute(), np.zeros((2, 2)))


# --- one node per slice of a literal --------------------------------------------------


def _repeated_steps(plan: Any) -> list[Any]:
    seen: set[Any] = set()
    repeated = []
    for node in plan.steps:
        key = (node.op, node.inputs, node.attrs)
        if key in seen:
            repeated.append(node)
        seen.add(key)
    return repeated


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("options", [{}, FORCED], ids=["default", "forced"])
def test_equal_slices_of_a_literal_are_planned_once(options: dict[str, Any], masked: bool) -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(20.0, 4.0, size=(2_000, 300))
    mask = rng.random(data.shape) < 0.05
    x = la.MaskedArray(data, mask=mask) if masked else la.Array(data)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    damped = la.where(abs(z) > 3, np.sign(z) * 3, z)
    out = (damped[:5] + z[:5]).sum(axis=1)
    with la.config.set(**options):
        plan = make_plan([out.node], small_bytes=la.config.snapshot().small_bytes)
        literals = [
            node for node in plan.steps if node.op == "constant" and node.type.shape == (5, 300)
        ]
        assert len(literals) == (2 if masked else 1)  # the data, and the mask
        assert _repeated_steps(plan) == []
        actual = out.compute(cache=False)
    eager = np.ma.MaskedArray(data, mask=mask) if masked else data
    where = np.ma.where if masked else np.where
    zs = (eager - eager.mean(axis=0)) / eager.std(axis=0)
    expected = (where(abs(zs) > 3, np.sign(zs) * 3, zs)[:5] + zs[:5]).sum(axis=1)
    np.testing.assert_allclose(np.ma.filled(actual, 0), np.ma.filled(expected, 0), rtol=1e-12)
