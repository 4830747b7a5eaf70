"""Peak memory of each workload and peer, each run in a fresh process.

The process builds its inputs, resets the kernel's peak-RSS counter, runs the workload
once, and reports how far its resident memory rose above what it held before running.

    python benchmarks/memory.py [scale]
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, sys
import numpy as np
import lazyarray as la
sys.path.insert(0, ".")
from benchmarks.workloads import ELEMENTWISE, make_inputs, w3, w7
name, peer, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
inputs = make_inputs("W8" if name == "OOC" else name, scale)

def status(field):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field):
                return int(line.split()[1]) * 1024

def run():
    if name == "OOC":  # 1e9 float64 drawn lazily: 8 GB if materialized
        n = inputs["n"] * 10
        if peer == "dask":
            import dask.array as da
            state = da.random.default_rng(0)
            return (state.random(n, chunks=2**23) * state.random(n, chunks=2**23)).sum().compute()
        rng = la.random.default_rng(0)
        with la.config.set(dask_chunk_bytes=2**26):
            return (rng.random(n) * rng.random(n)).sum().compute(backend="dask", cache=False)
    if name == "W8":
        n = inputs["n"]
        if peer == "numpy":
            rng = np.random.default_rng(0)
            return (rng.random(n) * rng.random(n)).sum()
        if peer == "dask":
            import dask.array as da
            state = da.random.default_rng(0)
            return (state.random(n, chunks=2**22) * state.random(n, chunks=2**22)).sum().compute()
        rng = la.random.default_rng(0)
        return (rng.random(n) * rng.random(n)).sum().compute(cache=False)
    build = ELEMENTWISE.get(name) or {"W3": w3, "W7": w7}[name]
    if peer in ("numpy", "numpy.ma"):
        return build(np, **inputs)
    if peer == "dask":
        import dask.array as da
        arrays = {k: da.from_array(v, chunks=max(1, len(v) // 8)) for k, v in inputs.items()}
        return build(da, **arrays).compute()
    wrap = la.MaskedArray if name == "W7" else la.Array
    result = build(la, **{k: wrap(v) for k, v in inputs.items()})
    if isinstance(result, tuple):
        return la.compute(*result, cache=False)
    return result.compute(cache=False)

if "dask" in peer:
    import dask.array  # imported before measuring, like the other peers
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")
value = run()
peak = status("VmHWM")
input_bytes = sum(getattr(v, "nbytes", 0) for v in inputs.values())
output = value if isinstance(value, tuple) else (value,)
print(json.dumps({"peak_above_start": peak - before, "inputs": input_bytes,
                  "output": sum(np.asarray(v).nbytes for v in output)}))
"""

CASES = [
    ("W1", ["numpy", "dask", "lazyarray"]),
    ("W3", ["numpy", "dask", "lazyarray"]),
    ("W7", ["numpy.ma", "lazyarray"]),
    ("W8", ["numpy", "dask", "lazyarray"]),
    ("OOC", ["dask", "lazyarray[dask]"]),
]


def measure(name: str, peer: str, scale: float) -> dict[str, int]:
    output = subprocess.run(
        [sys.executable, "-c", CHILD, name, peer, str(scale)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(scale: float) -> None:
    mib = 2**20
    print(f"\n## peak memory above the process's memory before running (scale {scale})")
    print(f"{'workload':10} {'peer':10} {'peak MiB':>10} {'inputs+output MiB':>18}")
    for name, peers in CASES:
        for peer in peers:
            report = measure(name, peer, scale)
            held = (report["inputs"] + report["output"]) / mib
            print(f"{name:10} {peer:10} {report['peak_above_start'] / mib:10.1f} {held:18.1f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
