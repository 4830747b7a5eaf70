"""Fused kernels against the plan they stand for, written by hand: W1, W3, W5 and W8 by
numpy eager (the baseline row), numexpr, a hand-blocked numpy loop (64K-element blocks,
``out=`` buffers reused per thread, no temporaries, 2 threads) and lazyarray's numpy
backend on 2 threads, bit-exact (and with ``fast_math``, numexpr inside). ``make bench``
prints each group as ratios to numpy eager. Under ``make test`` (timing disabled) each
runs once on inputs a thousand times smaller.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from benchmarks.workloads import NUMEXPR_SOURCES, make_inputs, w1, w3, w5
from lazyarray.ops.rng import RANDOM_BLOCK

BLOCK = 2**16
THREADS = 2
_pool = ThreadPoolExecutor(THREADS)


@pytest.fixture(scope="module")
def scale(request: pytest.FixtureRequest) -> float:
    return 1e-3 if request.config.getoption("benchmark_disable") else 1.0


def blocked(n: int, block: int, run: Callable[[int, int, list[Any]], Any]) -> list[Any]:
    """``run(start, stop, buffers)`` over blocks of ``block`` rows on ``THREADS``
    threads, each thread with its own buffers, made once."""
    import threading

    local = threading.local()

    def one(start: int) -> Any:
        if not hasattr(local, "buffers"):
            local.buffers = []
        return run(start, min(n, start + block), local.buffers)

    return list(_pool.map(one, range(0, n, block)))


def buffers(held: list[Any], count: int, shape: tuple[int, ...]) -> list[Any]:
    while len(held) < count:
        held.append(np.empty(shape))
    return [b[: shape[0]] for b in held[:count]]


def hand_w1(a: Any, b: Any, c: Any) -> Any:
    out = np.empty_like(a)

    def run(i: int, j: int, held: list[Any]) -> None:
        t, u, v = buffers(held, 3, (BLOCK,))
        t, u, v = t[: j - i], u[: j - i], v[: j - i]
        np.multiply(a[i:j], 2, out=t)
        np.multiply(b[i:j], 3, out=u)
        np.multiply(u, c[i:j], out=u)
        np.add(t, u, out=t)
        np.multiply(a[i:j], b[i:j], out=u)
        np.add(c[i:j], 1, out=v)
        np.divide(u, v, out=u)
        np.subtract(t, u, out=out[i:j])

    blocked(a.size, BLOCK, run)
    return out


def hand_w5(a: Any, b: Any, c: Any) -> Any:
    out = np.empty_like(a)

    def run(i: int, j: int, held: list[Any]) -> None:
        t, u = buffers(held, 2, (BLOCK,))
        t, u = t[: j - i], u[: j - i]
        np.exp(a[i:j], out=t)
        np.multiply(t, b[i:j], out=t)
        np.multiply(t, t, out=u)
        np.add(t, u, out=u)
        np.sin(t, out=t)
        np.add(u, t, out=out[i:j])

    blocked(a.size, BLOCK, run)
    return out


def hand_w3(x: Any) -> Any:
    rows, columns = x.shape
    block = max(1, BLOCK // columns)
    total = sum(blocked(rows, block, lambda i, j, held: x[i:j].sum(axis=0)))
    mean = total / rows

    def squares(i: int, j: int, held: list[Any]) -> Any:
        (t,) = buffers(held, 1, (block, columns))
        t = t[: j - i]
        np.subtract(x[i:j], mean, out=t)
        np.multiply(t, t, out=t)
        return t.sum(axis=0)

    std = np.sqrt(sum(blocked(rows, block, squares)) / rows)
    out = np.empty(rows)

    def standardized(i: int, j: int, held: list[Any]) -> None:
        (t,) = buffers(held, 1, (block, columns))
        t = t[: j - i]
        np.subtract(x[i:j], mean, out=t)
        np.divide(t, std, out=t)
        t.sum(axis=1, out=out[i:j])

    blocked(rows, block, standardized)
    return out


def _stream(seed: int, stream: int, block: int) -> np.random.Generator:
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream, block)))
    )


def hand_w8(n: int) -> Any:
    def run(i: int, j: int, held: list[Any]) -> Any:
        t, u = buffers(held, 2, (RANDOM_BLOCK,))
        t, u = t[: j - i], u[: j - i]
        _stream(0, 0, i // RANDOM_BLOCK).random(out=t)
        _stream(0, 1, i // RANDOM_BLOCK).random(out=u)
        np.multiply(t, u, out=t)
        return t.sum()

    return sum(blocked(n, RANDOM_BLOCK, run))


ELEMENTWISE = {"W1": (w1, hand_w1), "W5": (w5, hand_w5)}
PEERS = ["numpy", "numexpr", "hand-blocked", "lazyarray", "lazyarray-fast-math"]


def _lazyarray(build: Callable[..., Any], inputs: dict[str, Any], fast_math: bool) -> Any:
    arrays = {k: la.Array(v) for k, v in inputs.items()}

    def run() -> Any:
        with la.config.set(threads=THREADS, fast_math=fast_math):
            return build(la, **arrays).compute(cache=False)

    return run


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("name", ["W1", "W5"])
def test_elementwise_kernels(benchmark: Any, name: str, peer: str, scale: float) -> None:
    benchmark.group = f"kernels {name}"
    inputs = make_inputs(name, scale)
    build, hand = ELEMENTWISE[name]
    if peer == "numpy":
        run = lambda: build(np, **inputs)
    elif peer == "numexpr":
        numexpr = pytest.importorskip("numexpr")
        run = lambda: numexpr.evaluate(NUMEXPR_SOURCES[name], local_dict=inputs)
    elif peer == "hand-blocked":
        run = lambda: hand(**inputs)
    else:
        run = _lazyarray(build, inputs, fast_math=peer.endswith("fast-math"))
    result = benchmark(run)
    expected = build(np, **inputs)
    if peer in ("numpy", "lazyarray"):  # bit-exact
        np.testing.assert_array_equal(result, expected)
    else:
        np.testing.assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("peer", ["numpy", "hand-blocked", "lazyarray"])
def test_w3_kernels(benchmark: Any, peer: str, scale: float) -> None:
    benchmark.group = "kernels W3"
    x = make_inputs("W3", scale)["x"]
    if peer == "numpy":
        run = lambda: w3(np, x)
    elif peer == "hand-blocked":
        run = lambda: hand_w3(x)
    else:
        run = _lazyarray(w3, {"x": x}, fast_math=False)
    np.testing.assert_allclose(benchmark(run), w3(np, x), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("peer", ["numpy", "hand-blocked", "lazyarray"])
def test_w8_kernels(benchmark: Any, peer: str, scale: float) -> None:
    benchmark.group = "kernels W8"
    n = make_inputs("W8", scale)["n"]
    if peer == "numpy":

        def run() -> Any:
            rng = np.random.default_rng(0)
            return (rng.random(n) * rng.random(n)).sum()
    elif peer == "hand-blocked":
        run = lambda: hand_w8(n)
    else:

        def run() -> Any:
            rng = la.random.default_rng(0)
            with la.config.set(threads=THREADS):
                return (rng.random(n) * rng.random(n)).sum().compute(cache=False)

    result = benchmark.pedantic(run, rounds=3, iterations=1)
    assert abs(result / n - 0.25) < 0.05
