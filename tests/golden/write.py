"""Writes the golden graph documents once: ``python tests/golden/write.py``.

A golden document is written by one release and must be read, to the same graph and the
same results, by every later one (``tests/test_golden.py``). This script never rewrites
an existing golden: add a new name for a new case. Each golden is ``<name>.json`` (the
document), ``<name>.npz`` (its results, computed when written: ``out<i>`` per output,
``mask<i>`` beside a masked one) and an entry of ``manifest.json`` (its graph digest,
the arguments of its parameters, whether its literals are kept in ``blobs/``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import lazyarray as la
from lazyarray import serialize
from lazyarray.stores.blobs import FolderBlobs

HERE = Path(__file__).resolve().parent


def literals_inline() -> Any:
    x = la.asarray(np.arange(12.0).reshape(3, 4))
    return ((x * 2.5 - 1) ** 2).sum(axis=1), x.T @ x


def literals_blob() -> Any:
    a = la.asarray(np.linspace(-3.0, 3.0, 3000))
    return (a[::3] * a[1::3] + a[2::3]).cumsum()[::50]


def parameters() -> Any:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    s = la.parameter("s", la.Scalar, dtype="float64")
    return la.where(x > s, x * s, -x).mean(), (x[:, None] * la.arange(3.0)).max(axis=0)


def masked() -> Any:
    data = np.array([[1.5, np.nan, -0.0, 4.0], [np.inf, 2.0, -3.0, 0.5]])
    m = la.MaskedArray(np.ma.MaskedArray(data, mask=[[0, 1, 0, 0], [1, 0, 0, 0]], fill_value=-9.0))
    return (m * 2).filled(-1.0), m.sum(axis=0), la.getmaskarray(m[:, ::-1]), m.mean()


def random() -> Any:
    rng = la.random.default_rng(42)
    x = rng.normal(size=(4, 5)) + rng.integers(0, 10, size=5) * rng.uniform(size=(4, 1))
    return x, x[1:, ::2].sum(axis=0)


def indexing() -> Any:
    x = la.asarray(np.arange(60.0).reshape(3, 4, 5))
    y = x[...]
    y[0, 1:] = -1.0
    y[y > 50] = 0.0
    return (
        x[1:, ::-2, 3],
        x[[2, 0], :, [1, 4]],
        x[x % 7 == 0],
        la.take(x, [4, 0, 2], axis=2),
        y,
        x[None, 1, ..., la.asarray([0, 0, 3])],
    )


def linalg() -> Any:
    a = la.asarray(np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]]))
    b = la.asarray(np.array([[1.0], [2.0], [3.0]]))
    return (
        la.linalg.solve(a, b),
        la.linalg.svd(a).S,
        la.linalg.qr(a).R,
        la.linalg.det(a),
        la.linalg.cholesky(a),
        la.linalg.eigh(a).eigenvalues,
    )


def scalars() -> Any:
    x = la.asarray(np.array([1.0, -2.0, 3.5]))
    return (
        x * -0.0 + np.float32(0.25),
        x - float("inf"),
        (x * float("nan")) + 1j,
        x.astype("int16") // 2 + True,
        x + np.int8(-3),
    )


GOLDENS: dict[str, tuple[Callable[[], Any], dict[str, Any], bool]] = {
    "literals_inline": (literals_inline, {}, False),
    "literals_blob": (literals_blob, {}, True),
    "parameters": (parameters, {"x": [0.5, -1.0, 2.0, 3.0], "s": 0.75}, False),
    "masked": (masked, {}, False),
    "random": (random, {}, False),
    "indexing": (indexing, {}, False),
    "linalg": (linalg, {}, False),
    "scalars": (scalars, {}, False),
}


def results(value: Any, arguments: dict[str, Any]) -> dict[str, np.ndarray[Any, Any]]:
    """The arrays stored beside a golden: each output computed, a mask beside it."""
    outputs = value if isinstance(value, tuple) else (value,)
    stored: dict[str, np.ndarray[Any, Any]] = {}
    for i, output in enumerate(outputs):
        used = serialize.parameters(serialize.to_dict(output))
        result = output.compute(cache=False, **{k: v for k, v in arguments.items() if k in used})
        stored[f"out{i}"] = np.asarray(np.ma.getdata(result))
        if isinstance(result, np.ma.MaskedArray):
            stored[f"mask{i}"] = np.ma.getmaskarray(result)
    return stored


def main() -> None:
    manifest_path = HERE / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    blobs = FolderBlobs(HERE / "blobs")
    for name, (build, arguments, in_blobs) in GOLDENS.items():
        if name in manifest:
            continue  # written by an earlier release: never rewritten
        value = build()
        text = la.to_json(value, blobs=blobs if in_blobs else None, inline_bytes=1024)
        doc = json.loads(text)
        (HERE / f"{name}.json").write_text(text + "\n")
        np.savez(HERE / f"{name}.npz", **results(value, arguments))
        manifest[name] = {
            "digest": serialize.graph_digest(doc),
            "arguments": arguments,
            "blobs": in_blobs,
            "writer": doc["writer"],
        }
        print(f"wrote {name}", file=sys.stderr)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
