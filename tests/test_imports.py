"""``import lazyarray`` stays light: no optional library, and a recorded import time;
``import lazyarray.testing`` loads no test framework (only its suite does)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

OPTIONAL = [
    "dask",
    "distributed",
    "xarray",
    "fastapi",
    "uvicorn",
    "httpx",
    "pyarrow",
    "zarr",
    "fsspec",
    "numexpr",
    "tqdm",
    "numba",
    "semver",  # workflows: loaded when first used
    "platformdirs",
    "sqlite3",
    "pytest",
    "_pytest",
    "hypothesis",
]

PROBE = """
import json, sys, time
start = time.perf_counter(); import numpy; numpy_done = time.perf_counter()
import lazyarray
end = time.perf_counter()
print(json.dumps({"modules": sorted(sys.modules), "numpy": numpy_done - start,
                  "lazyarray": end - numpy_done}))
"""


def test_import_loads_no_optional_library(record_property: pytest.RecordProperty) -> None:
    output = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    report = json.loads(output.stdout)
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert loaded.isdisjoint(OPTIONAL), sorted(loaded & set(OPTIONAL))
    record_property("import_seconds_beyond_numpy", round(report["lazyarray"], 4))
    print(f"import lazyarray: {report['lazyarray'] * 1000:.1f} ms beyond numpy")


def test_backends_are_found_through_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {point.name for point in entry_points(group="lazyarray.backends")}
    assert "numpy" in names


def test_the_testing_package_loads_no_test_framework() -> None:
    probe = "import json, sys, lazyarray.testing; print(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = {name.split(".")[0] for name in json.loads(output.stdout)}
    assert loaded.isdisjoint(OPTIONAL), sorted(loaded & set(OPTIONAL))
