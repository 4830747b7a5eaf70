"""The planner's workloads (W1-W8), each written once per peer: numpy eager, numexpr,
dask.array and lazyarray. ``make_inputs(name, scale)`` builds the inputs; ``scale`` 1 is
the benchmark size (numpy takes 0.2-2 s), smaller scales are for smoke runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SIZES = {  # at scale 1
    "W1": 20_000_000,
    "W2": 10_000_000,
    "W3": (20_000, 1_000),
    "W4": 20_000_000,
    "W5": 5_000_000,
    "W7": (5_000, 1_000),
    "W8": 100_000_000,
}


def make_inputs(name: str, scale: float) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    size = SIZES[name]
    if isinstance(size, tuple):
        shape = (max(2, int(size[0] * scale)), size[1])
        x = rng.random(shape)
        if name == "W7":
            return {"x": np.ma.MaskedArray(x, mask=rng.random(shape) < 0.1)}
        return {"x": x}
    n = max(1000, int(size * scale))
    if name == "W8":
        return {"n": n}
    return {k: rng.random(n) for k in "abc"}


def chunks(n: int) -> int:
    return max(1, n // 8)


# --- one function per (workload, peer); each returns a computed value -----------------


def w1(m: Any, a: Any, b: Any, c: Any) -> Any:
    return 2 * a + 3 * b * c - a * b / (c + 1)


def w2(m: Any, a: Any, b: Any, c: Any) -> Any:
    return m.sin(a) ** 2 + m.cos(b) ** 2 + m.exp(-c)


def w3(m: Any, x: Any) -> Any:
    return ((x - x.mean(axis=0)) / x.std(axis=0)).sum(axis=1)


def w4(m: Any, a: Any, b: Any, c: Any) -> Any:
    return (a * b + c)[1000:1100].sum()


def w5(m: Any, a: Any, b: Any, c: Any) -> Any:
    t = m.exp(a) * b
    return t + t * t + m.sin(t)


def w7(m: Any, x: Any) -> Any:
    return x.mean(axis=0), x.std(axis=0)


NUMEXPR_SOURCES = {
    "W1": "2*a + 3*b*c - a*b/(c+1)",
    "W2": "sin(a)**2 + cos(b)**2 + exp(-c)",
    "W4": "sum(a*b + c)",  # on the slices: a numexpr user slices first
    "W5": "exp(a)*b + (exp(a)*b)**2 + sin(exp(a)*b)",  # no sharing: t three times
}
NUMEXPR_SLICE = {"W4": slice(1000, 1100)}

ELEMENTWISE: dict[str, Callable[..., Any]] = {"W1": w1, "W2": w2, "W4": w4, "W5": w5}
