"""Cancel latency: how long after ``job.cancel()`` a running job has stopped, on the
benchmark workloads (numpy backend). Prints p50 / p99 / max over repeated cancels at
random moments. Run: ``.venv/bin/python benchmarks/cancel_latency.py``."""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import time
from typing import Any

import lazyarray as la
from lazyarray.errors import JobCancelled

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from workloads import ELEMENTWISE, make_inputs, w3


def expressions() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, function in ELEMENTWISE.items():
        inputs = {k: la.Array(v) for k, v in make_inputs(name, 1.0).items()}
        found[name] = function(la, **inputs)
    found["W3"] = w3(la, la.Array(make_inputs("W3", 1.0)["x"]))
    found["W7"] = la.MaskedArray(make_inputs("W7", 1.0)["x"]).std(axis=0)
    n = make_inputs("W8", 1.0)["n"]
    ramp = la.arange(n) / n
    found["W8"] = (ramp + (1 - ramp)).sum()
    return found


def latency(expression: Any, rng: random.Random) -> float | None:
    job = expression.compute(block=False, cache=False)
    time.sleep(rng.uniform(0.0, 0.3))
    asked = time.monotonic()
    if not job.cancel():
        return None  # it had finished
    with contextlib.suppress(JobCancelled):
        job.result(timeout=60)
    return time.monotonic() - asked


def main(trials: int = 20) -> None:
    rng = random.Random(0)
    for name, expression in expressions().items():
        times = [t for t in (latency(expression, rng) for _ in range(trials)) if t is not None]
        if not times:
            print(f"{name}: finished before every cancel")
            continue
        times.sort()
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        print(
            f"{name}: {len(times)} cancels, p50 {statistics.median(times) * 1e3:.1f} ms, "
            f"p99 {p99 * 1e3:.1f} ms, max {times[-1] * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
