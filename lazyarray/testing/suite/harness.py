"""What every test of the conformance suite stands on: the backend under test, found by
name as users find it; the modes a value test runs in; strict known failures; and the
one comparison every value test makes (built without computing, then run, then equal to
numpy, or refused before running for a capability the backend does not declare)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.backend import Backend, Capability, get_backend
from lazyarray.errors import UnsupportedOperation
from lazyarray.graph import toposort
from lazyarray.ops import OPS, Trait
from lazyarray.planner.passes import STAGES
from lazyarray.testing.equal import assert_equal, is_masked
from lazyarray.testing.refusing import refusing

# Each value test runs once per mode. Folding stays off in both: it would compute on the
# planner's side, and the backend would receive constants.
MODES: dict[str, dict[str, Any]] = {
    # the graph exactly as written: every op row, parameters included, reaches the backend
    "as_written": {"disabled": frozenset(stage.name for stage in STAGES)},
    # every other stage (pushdown, masked ops split, kernels) on blocks and chunks of 1 KiB
    "planned": {
        "small_bytes": 0,
        "disabled": frozenset({"fold"}),
        "block_bytes": 1024,
        "dask_chunk_bytes": 1024,
    },
}

# what a node of a written graph requires of a backend, by the node's traits
_REQUIRES = {
    Trait.UNKNOWN_SIZE: Capability.UNKNOWN_SHAPES,
    Trait.NEEDS_PYTHON: Capability.CUSTOM_FUNCTIONS,
}

KnownFailures = Mapping[str, tuple[type[BaseException], str]]


@pytest.fixture
def backend_under_test(backend_name: str) -> Backend:
    """The backend called ``backend_name`` (a fixture the backend's tests define), found
    through the ``lazyarray.backends`` entry points as users find it."""
    backend = get_backend(backend_name)
    assert backend.name == backend_name, f"backend {backend_name!r} calls itself {backend.name!r}"
    return backend


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test with the options of one mode, numpy-exact (``fast_math`` off), and
    with floating-point warnings off (the values are the same, and a project that turns
    warnings into errors can run the suite)."""
    with la.config.set(**MODES[request.param], fast_math=False), np.errstate(all="ignore"):
        yield request.param


@pytest.fixture
def known_failures() -> KnownFailures:
    """Tests this backend is known to fail: a part of the test id, where ``*`` matches
    anything (``"TestReductions::test_masked_row[*-median]"``), to the exception it raises
    and why. Each becomes a strict xfail: once fixed, the test fails until its
    entry goes. Override this fixture in the backend's test module."""
    return {}


@pytest.fixture(autouse=True)
def _known_failure(request: pytest.FixtureRequest, known_failures: KnownFailures) -> None:
    for pattern, (error, reason) in known_failures.items():
        if re.search(".*".join(map(re.escape, pattern.split("*"))), request.node.nodeid):
            request.applymarker(pytest.mark.xfail(raises=error, reason=reason, strict=True))


# --- helpers -------------------------------------------------------------------------


def required(lazy: Any) -> set[Capability]:
    """What the graph of ``lazy``, as written, requires of a backend."""
    needed: set[Capability] = set()
    for node in toposort([lazy.node]):
        if node.type.masked:
            needed.add(Capability.MASKED)
        row = OPS.get(node.op)
        for trait, capability in _REQUIRES.items():
            if row is not None and trait in row.traits:
                needed.add(capability)
    return needed


def check_type(lazy: Any, expected: Any) -> None:
    """The dtype and the known sizes predicted without computing are numpy's."""
    if expected is np.ma.masked:
        return
    wanted = np.asarray(expected)
    assert lazy.dtype == wanted.dtype, f"predicted dtype {lazy.dtype}, numpy's {wanted.dtype}"
    assert lazy.ndim == wanted.ndim, f"predicted shape {lazy.shape}, numpy's {wanted.shape}"
    for predicted, actual in zip(lazy.shape, wanted.shape, strict=True):
        assert predicted in (None, actual), f"predicted shape {lazy.shape}, numpy's {wanted.shape}"


def compare(
    build: Callable[[], Any],
    expected: Any,
    backend: Backend,
    bound: Any = None,
) -> None:
    """``build()`` under the refusing backend (building computes nothing, and predicts
    numpy's dtype and shape), then computed on ``backend``: equal to ``expected`` as
    ``lazyarray.testing.equal`` says, or refused before running, which is allowed only
    for a capability the written graph requires and the backend does not declare."""
    with refusing():
        lazy = build()
        check_type(lazy, expected)
    try:
        actual = lazy.compute(backend=backend.name, cache=False)
    except UnsupportedOperation:
        if not required(lazy) - backend.capabilities:
            raise  # it lacks nothing this graph requires: the refusal is the failure
        assert_refused_before_running(lazy, backend)
        return
    assert_equal(actual, expected, bound)


def assert_refused_before_running(lazy: Any, backend: Backend) -> None:
    """A refusal for lack of a capability comes before anything runs: at submission,
    naming the backend."""
    with pytest.raises(UnsupportedOperation, match=repr(backend.name)):
        lazy.compute(backend=backend.name, cache=False, block=False)


@contextlib.contextmanager
def described(**what: Any) -> Iterator[None]:
    """Inside, a failed comparison names the case (dtype, axis...) it was comparing."""
    try:
        yield
    except AssertionError as error:
        text = ", ".join(f"{name}={value!r}" for name, value in what.items())
        raise AssertionError(f"[{text}] {error}") from error


def method_call(make: Callable[[Any], Any], data: Any, name: str, **kwargs: Any) -> Any:
    """A builder of ``make(data).name(**kwargs)``, its arguments bound now."""
    return lambda: getattr(make(data), name)(**kwargs)


def site_of(build: Callable[[], Any]) -> str:
    """``file:line`` where ``build`` writes its expression, as lazyarray records it."""
    with refusing():
        lazy = build()
    return lazy.node.site_text  # type: ignore[no-any-return]


def wrap(value: Any) -> Any:
    """A lazy array over ``value`` (masked when it is)."""
    if is_masked(value):
        return la.MaskedArray(value)
    return la.Array(value) if isinstance(value, np.ndarray) else value


def requires(backend: Backend, capability: Capability) -> None:
    if capability not in backend.capabilities:
        pytest.skip(f"backend {backend.name!r} does not declare {capability.value}")


__all__ = [
    "MODES",
    "_known_failure",
    "assert_refused_before_running",
    "backend_under_test",
    "check_type",
    "compare",
    "described",
    "known_failures",
    "method_call",
    "mode",
    "required",
    "requires",
    "site_of",
    "wrap",
]
