"""Fused kernels on the numpy backend: bit for bit numpy's values for every fusable op
and dtype, whatever the blocks and threads; programs of any length and width; division
by zero as numpy; numexpr only under ``fast_math``; a check before every block."""

from __future__ import annotations

import functools
import itertools
import warnings
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.config import snapshot
from lazyarray.errors import JobCancelled
from lazyarray.ops import OPS, Kind
from lazyarray.ops.creation import constant_node
from lazyarray.ops.registry import apply
from lazyarray.planner.fusion import fuse
from lazyarray.runtime.kernel import _source, run_blocked
from lazyarray_numpy.kernels import run_fused

N = 100_000
DTYPES = ["bool", "int8", "int64", "uint8", "float32", "float64", "complex128"]
# (block_bytes, threads): odd blocks, ~64K-element blocks, one whole block
CUTS = [(24_040, 2), (2**19, 2), (2**24, 1)]


def _special(dtype: np.dtype[Any], rng: np.random.Generator) -> np.ndarray:
    if dtype.kind == "b":
        return rng.random(N) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, N, dtype=dtype, endpoint=True)
        values[: N // 2] = rng.integers(max(info.min, -9), 10, N // 2)  # shifts, gcd, powers
        values[:8] = [0, 1, info.max, info.min, 2, 3, 0, 1]
        return rng.permutation(values)
    real = np.dtype(dtype.char.lower() if dtype.kind == "c" else dtype)
    info = np.finfo(real)
    values = rng.normal(size=N) * 10.0 ** rng.integers(-4, 4, N)
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.0, info.tiny, info.smallest_subnormal,
                info.max, -info.max, 1.0, -1.0, 0.5]  # fmt: skip
    values[: N // 10] = rng.choice(specials, N // 10)
    values = rng.permutation(values).astype(real)
    if dtype.kind == "c":
        return (values + 1j * rng.permutation(values)).astype(dtype)
    return values


@functools.cache
def data(dtype: str, seed: int) -> np.ndarray:
    values = _special(np.dtype(dtype), np.random.default_rng(seed))
    values.flags.writeable = False
    return values


def _arguments(row: Any, dtype: str) -> list[tuple[list[Any], dict[str, Any]]]:
    """Argument sets for one op row: arrays of ``dtype`` (weak scalars for the second
    operand of binary ufuncs too); the rows that are not ufuncs say their own."""
    x, y, z = data(dtype, 1), data(dtype, 2), data(dtype, 3)
    if isinstance(row.impl, np.ufunc):
        arrays = [x, y, z][: row.impl.nin]
        if row.impl.nin != 2:
            return [(arrays, {})]
        weak = 3 if dtype in ("bool", "int8", "int64", "uint8") else 2.5
        return [(arrays, {}), ([x, weak], {})]
    return {
        "where": [([x.astype(bool), y, z], {}), ([x.astype(bool), y, 1], {})],
        "clip": [([x, y, z], {"which": "minmax"}), ([x, y], {"which": "min"})],
        "round": [([x], {}), ([x], {"decimals": 2})],
        "real": [([x], {})],
        "imag": [([x], {})],
        "astype": [([x], {"dtype": np.dtype(d)}) for d in ("int8", "float32", "complex128")],
    }[row.name]


FUSABLE = [row for row in OPS.values() if row.kind is Kind.ELEMENTWISE]


def _kernel(op: str, values: list[Any], attrs: dict[str, Any]) -> Any:
    """The fused node of ``op(maximum(x, x), *rest)``: the op reads a pooled buffer for
    the last time (so it may write over it), as in a chain."""
    x, *rest = [constant_node(v) for v in values]
    node = apply(op, (apply("maximum", (x, x)), *rest), **attrs)
    (kernel,) = fuse((node,))
    assert kernel.op == "fused"
    return kernel


def _same_bits(result: Any, expected: Any) -> None:
    result, expected = np.ascontiguousarray(result), np.ascontiguousarray(expected)
    assert result.dtype == expected.dtype and result.shape == expected.shape
    differ = result.view(np.uint8).reshape(result.size, -1) != expected.view(np.uint8).reshape(
        expected.size, -1
    )
    wrong = np.flatnonzero(differ.any(axis=-1))
    assert wrong.size == 0, (
        f"{wrong.size} elements differ, first at {wrong[0]}: "
        f"{result.ravel()[wrong[0]]!r} != {expected.ravel()[wrong[0]]!r}"
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("row", FUSABLE, ids=[row.name for row in FUSABLE])
def test_every_fusable_op_is_bit_exact(row: Any, dtype: str) -> None:
    """Each (op, dtype) in one of the cuts, in turn, so every cut meets every op."""
    turn = FUSABLE.index(row) + DTYPES.index(dtype)
    for case, (values, attrs) in enumerate(_arguments(row, dtype)):
        try:
            expected = row.impl(*values, **attrs)
        except (TypeError, ValueError) as exc:  # no loop for this dtype, or bad values
            try:
                kernel = _kernel(row.name, values, attrs)
            except (TypeError, ValueError):
                continue  # refused when written, as numpy refuses
            with pytest.raises(type(exc)):
                run_fused(kernel, values, snapshot())
            continue
        kernel = _kernel(row.name, values, attrs)
        assert kernel.attr("kernel").result.dtype == np.asarray(expected).dtype
        block_bytes, threads = CUTS[(turn + case) % len(CUTS)]
        options = snapshot().replace(block_bytes=block_bytes, threads=threads)
        _same_bits(run_fused(kernel, values, options), expected)


# --- programs of any length and width, through compute() ------------------------------

A = np.random.default_rng(0).random(100_000)


@pytest.fixture
def blocks() -> Any:
    """Several blocks on two threads."""
    with la.config.set(block_bytes=2**17, threads=2):
        yield


def _chain(x: Any, length: int) -> Any:
    sin = np.sin if isinstance(x, np.ndarray) else la.sin
    steps = [lambda v: v * 1.0001, lambda v: v - 0.25, lambda v: v / 7, sin]
    for i in range(length):
        x = steps[i % 4](x)
    return x


@pytest.mark.parametrize("length", [200, 1_000])
def test_long_chains_run_and_are_exact(length: int, blocks: None) -> None:
    _same_bits(_chain(la.Array(A), length).compute(cache=False), _chain(A, length))


@pytest.mark.soak
def test_a_chain_of_5000_ops_runs_and_is_exact(blocks: None) -> None:
    _same_bits(_chain(la.Array(A), 5_000).compute(cache=False), _chain(A, 5_000))


def test_a_sum_of_1000_terms_runs_and_is_exact(blocks: None) -> None:
    def wide(m: Any, x: Any) -> Any:
        total = x
        for i in range(1, 1_000):
            total = total + x * float(i)
        return total

    _same_bits(wide(la, la.Array(A)).compute(cache=False), wide(np, A))


def test_300_nested_wheres_run_and_are_exact(blocks: None) -> None:
    def nested(m: Any, x: Any) -> Any:
        y = x
        for i in range(300):
            y = m.where(x > i / 300, y, y + 1.0)
        return y

    _same_bits(nested(la, la.Array(A)).compute(cache=False), nested(np, A))


def test_a_kernel_of_200_inputs_runs() -> None:
    columns = [np.random.default_rng(i).random(5_000) for i in range(200)]
    with la.config.set(small_bytes=0, disabled={"fold"}, block_bytes=4096):
        total = la.Array(columns[0])
        for column in columns[1:]:
            total = total * 0.5 + la.Array(column)
        result = total.compute(cache=False)
    expected = columns[0]
    for column in columns[1:]:
        expected = expected * 0.5 + column
    _same_bits(result, expected)


@pytest.mark.parametrize("fast_math", [False, True])
def test_division_by_zero_constants_give_inf_and_nan(fast_math: bool, blocks: None) -> None:
    with la.config.set(fast_math=fast_math):
        _same_bits((la.Array(A) * 2 / 0.0).compute(cache=False), A * 2 / 0.0)
        rows = np.random.default_rng(1).random((3, 100_000))
        std = la.Array(rows).std(axis=0, ddof=3).compute(cache=False)
    np.testing.assert_array_equal(std, np.std(rows, axis=0, ddof=3))


def test_division_is_not_rewritten_as_a_product(blocks: None) -> None:
    # numexpr computes (x+1)/7 as (x+1)*(1/7): a unit in the last place off in a third
    _same_bits(((la.Array(A) + 1) / 7).compute(cache=False), (A + 1) / 7)


@pytest.mark.parametrize(
    "build",
    [
        lambda m, x: m.sinh(x / 10),
        lambda m, x: m.arcsin(x / 100),
        lambda m, x: m.exp(x) * m.cos(x * 3) - m.log1p(x),
    ],
)
def test_transcendentals_in_kernels_are_bit_exact(build: Any, blocks: None) -> None:
    _same_bits(build(la, la.Array(A)).compute(cache=False), build(np, A))


def test_float32_kernels_are_bit_exact_with_weak_scalars(blocks: None) -> None:
    x = A.astype(np.float32)
    result = (la.sin(la.Array(x) * 3.5) + 1).compute(cache=False)
    assert result.dtype == np.float32
    _same_bits(result, np.sin(x * 3.5) + 1)


def test_fast_math_is_close_and_takes_programs_of_any_length(blocks: None) -> None:
    with la.config.set(fast_math=True):
        short = ((la.Array(A) + 1) / 7).compute(cache=False)
        long = _chain(la.Array(A), 300).compute(cache=False)
    np.testing.assert_allclose(short, (A + 1) / 7, rtol=4e-16)
    np.testing.assert_allclose(long, _chain(A, 300), rtol=1e-12)


# --- the check before each block --------------------------------------------------------


def test_check_runs_before_every_block_and_stops_the_kernel() -> None:
    x = la.Array(A)
    (kernel,) = fuse(((x * 2 + 1).node,))
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise JobCancelled("cancelled")

    options = snapshot().replace(block_bytes=2**14, threads=1)
    with pytest.raises(JobCancelled):
        run_fused(kernel, [A, 2, 1], options, check=check)
    assert len(calls) == 3  # the remaining blocks never ran
    calls.clear()
    run_fused(kernel, [A, 2, 1], options.replace(block_bytes=2**24), check=lambda: calls.append(1))
    assert calls == [1]


def test_run_blocked_keeps_its_positional_region() -> None:
    x = np.random.default_rng(2).random((300, 40))
    (kernel,) = fuse(((la.Array(x) * 3 - 1).sum(axis=1).node,))
    region = ((100, 250), (0, 40))
    part = run_blocked(kernel.attr("kernel"), [x[100:250], 3, 1], region, block_bytes=2048)
    np.testing.assert_allclose(part[:, 0], (x[100:250] * 3 - 1).sum(axis=1), rtol=1e-13)


# --- generated sources, per block ------------------------------------------------------


def test_sources_generate_exactly_the_block_asked_for() -> None:
    random = {"shape": (50, 60), "seed": 4, "stream": 0, "distribution": "random",
              "params": (), "dtype": np.dtype(np.float64)}  # fmt: skip
    whole = OPS["random"].impl(**random)
    region = ((10, 20), (0, 60))
    np.testing.assert_array_equal(_source("random", dict(random), (50, 60), region), whole[10:20])
    full = {"shape": (50, 1), "fill_value": 2.5, "dtype": np.dtype(np.float64)}
    assert _source("full", full, (50, 1), region).shape == (10, 1)
    arange = {"start": 0, "stop": 60, "step": 1, "dtype": np.dtype(np.int64)}
    np.testing.assert_array_equal(_source("arange", arange, (60,), region), np.arange(60))
    np.testing.assert_array_equal(_source("arange", arange, (60,), ((5, 9),)), np.arange(60)[5:9])


def test_random_kernels_match_the_whole_draw_in_any_blocks() -> None:
    rng = la.random.default_rng(5)
    x = rng.random((700, 300))
    expected = (x.compute() * 2 + 1).sum(axis=1)
    for block_bytes, threads in itertools.product([4096, 2**20], [1, 2]):
        with la.config.set(block_bytes=block_bytes, threads=threads):
            np.testing.assert_allclose(
                (x * 2 + 1).sum(axis=1).compute(cache=False), expected, rtol=1e-13
            )


@pytest.mark.parametrize(
    ("backend", "settings"),
    [
        ("numpy", {}),
        ("numpy", {"block_bytes": 1024, "threads": 2}),
        ("dask", {"dask_chunk_bytes": 4096, "block_bytes": 1024}),
    ],
)
def test_a_view_of_a_buffer_keeps_it_from_the_pool(backend: str, settings: Any) -> None:
    """``real`` and ``imag`` return views: the buffer they view is not reused while the
    view is still to be read (it was overwritten by the next complex step)."""
    data = np.linspace(1.0, 2.0, 200_000)
    x = la.Array(data)
    with la.config.set(**settings):
        got = ((x * (1 + 2j)).real + (x * (3 + 4j)).imag).compute(backend=backend, cache=False)
    np.testing.assert_array_equal(got, (data * (1 + 2j)).real + (data * (3 + 4j)).imag)


def test_the_callers_errstate_reaches_the_kernel_threads() -> None:
    x = la.Array(np.linspace(1.0, 2.0, 300_000))
    with la.config.set(threads=2, block_bytes=4096), np.errstate(divide="raise"):
        with pytest.raises(la.ComputeError) as raised:
            (x * 2 / 0.0).compute(cache=False)
        assert isinstance(raised.value.__cause__, FloatingPointError)
        job = (x * 2 / 0.0).compute(cache=False, block=False)  # and a job's thread
        with pytest.raises(la.ComputeError):
            job.result(timeout=30)
    quiet = np.errstate(all="ignore")
    with la.config.set(threads=2, block_bytes=4096), quiet, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf((x * 2 / 0.0).compute(cache=False)).all()
