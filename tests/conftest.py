"""Shared fixtures: the backends under test in every mode that forces an execution path,
the plan invariant checked on every plan any test makes, and ``no_compute``, inside which
the backend that refuses to run (``lazyarray.testing``) proves that building an
expression computes nothing. What "equal to numpy" means is in ``tests.kit``;
``docs/testing.md`` describes the modes."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import lazyarray as la
from lazyarray.ops import OPS, Kind, OpDef, Trait
from lazyarray.ops.attrtypes import PYTHON
from lazyarray.planner import plan as plan_module
from lazyarray.planner.passes import STAGES
from lazyarray.testing import refusing  # registers the backend that refuses, "refuse"
from tests import kit

# no database: a saved failing example must never decide whether a clean clone passes
settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: make test is deterministic
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("default")

_PER_USER = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
_HOME = pytest.StashKey[tuple[str, dict[str, str | None]]]()


def pytest_configure(config: pytest.Config) -> None:
    """Per-user folders (platformdirs: tokens, registries, caches) are this process's own
    while tests run, and subprocesses inherit them: a test never reads what the developer
    keeps there, never leaves anything there, and parallel workers never share a file."""
    home = tempfile.mkdtemp(prefix="lazyarray-tests-home-")
    config.stash[_HOME] = (home, {name: os.environ.get(name) for name in _PER_USER})
    for name in _PER_USER:
        os.environ[name] = os.path.join(home, name.lower())


def pytest_unconfigure(config: pytest.Config) -> None:
    home, saved = config.stash[_HOME]
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(home, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (addopts): a worker per CPU this process may run on, at most 8 (xdist's
    own count, psutil's physical cores, can say 1 on a 2-vCPU machine);
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides where set."""
    given = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if given and given.isdigit():
        return int(given)
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return max(1, min(8, len(usable) if usable is not None else os.cpu_count() or 1))


BACKENDS = ["numpy", "dask"]

# Each mode forces one execution path on the tests' small arrays (docs/testing.md). Every
# mode pins fast_math off, so an environment variable cannot loosen what is tested.
_KERNELS = {"small_bytes": 0, "disabled": frozenset({"fold"}), "block_bytes": 1024}
MODES: dict[str, dict[str, Any]] = {
    "optimized": {},  # the defaults: small graphs skip the data stages
    "stages": {"small_bytes": 0},  # every stage, folding included
    "kernels": {**_KERNELS, "threads": 2},  # numpy's blocks of 1 KiB on 2 threads
    "serial": {**_KERNELS, "threads": 1},  # the same on one thread
    "chunks": {**_KERNELS, "dask_chunk_bytes": 1024},  # dask chunks of 1 KiB
    "unoptimized": {"disabled": frozenset(s.name for s in STAGES)},  # the oracle
}
for _mode in MODES.values():
    _mode["fast_math"] = False

# threads and block sizes of kernels apply to the numpy backend, chunks to dask
MODES_OF = {
    "numpy": ["optimized", "stages", "kernels", "serial", "unoptimized"],
    "dask": ["optimized", "stages", "chunks", "unoptimized"],
}
RUNS = [(backend, mode) for backend in BACKENDS for mode in MODES_OF[backend]]


@contextlib.contextmanager
def forced(mode: str) -> Iterator[None]:
    """Inside, computes take the path ``mode`` forces (``MODES``)."""
    with la.config.set(**MODES[mode]):
        yield


@pytest.fixture(params=RUNS, ids=lambda p: f"{p[0]}-{p[1]}")
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    name, mode = request.param
    with forced(mode):
        yield name


@pytest.fixture
def no_compute() -> Iterator[None]:
    """Inside, any compute (explicit or implicit) fails the test."""
    with refusing():
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    la.execution.result_cache.clear()


_MAKE_PLAN = plan_module.make_plan


def _checked_make_plan(*args: Any, **kwargs: Any) -> Any:
    plan = _MAKE_PLAN(*args, **kwargs)
    kit.check_plan(plan.steps)
    return plan


@pytest.fixture(autouse=True)
def _plan_invariant(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Every plan made in any test, in any mode, is checked (``kit.check_plan``): the
    function is replaced wherever it was imported. Tests marked ``values_only`` compare
    values alone; each has a sibling checking its plans, marked as a known failure."""
    if request.node.get_closest_marker("values_only"):
        return
    for module in _plan_importers():
        if getattr(module, "make_plan", None) is _MAKE_PLAN:
            monkeypatch.setattr(module, "make_plan", _checked_make_plan)


_SEEN: set[str] = set()  # the modules looked at: each once, not once per test
_IMPORTERS: dict[str, ModuleType] = {}


def _plan_importers() -> list[ModuleType]:
    """The project's modules that imported ``make_plan``, each module looked at once
    (scanning all of ``sys.modules`` costs a millisecond: 25 s over some 25,000 tests)."""
    for name in sys.modules.keys() - _SEEN:
        _SEEN.add(name)
        module = sys.modules.get(name)
        if (
            module is not None
            and name.startswith(("lazyarray", "tests", "benchmarks"))
            and getattr(module, "make_plan", None) is _MAKE_PLAN
        ):
            _IMPORTERS[name] = module
    return [module for name, module in _IMPORTERS.items() if sys.modules.get(name) is module]


@pytest.fixture
def python_row() -> Iterator[OpDef]:
    """A row that runs Python (``NEEDS_PYTHON``: none ships), registered while a test
    runs: for what must refuse code unless trusted."""
    row = OpDef(
        "test_python",
        Kind.ELEMENTWISE,
        lambda x, *, function: function(x),
        lambda inputs, attrs: inputs[0].type,
        arity=1,
        traits=frozenset({Trait.NEEDS_PYTHON}),
        attributes={"function": PYTHON},
    )
    OPS[row.name] = row
    yield row
    del OPS[row.name]


def assert_same(
    actual: Any, expected: Any, rtol: float | None = None, atol: float = 0, *, bound: Any = None
) -> None:
    """Equal to numpy as ``tests.kit`` defines it: bit for bit (dtype, shape, mask, values,
    NaN equal to NaN, -0.0 distinct from 0.0), or within ``bound`` (``kit.reduction_bound``
    and friends) for floating results computed blockwise. ``rtol``/``atol`` are kept for
    callers not yet moved to a derived bound."""
    if bound is not None:
        kit.assert_within(actual, expected, bound)
    elif rtol is not None or atol:
        _assert_close(actual, expected, rtol or 0.0, atol)
    else:
        kit.assert_exact(actual, expected)


def _assert_close(actual: Any, expected: Any, rtol: float, atol: float) -> None:
    if kit.is_masked(expected):
        actual, expected = kit.masked_parts(actual, expected)
    actual, expected = kit.as_arrays(actual, expected)
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)
