"""The backend conformance suite (``lazyarray.testing.conformance``) on both bundled
backends, found through their entry points as a third-party backend is
(``tests/test_testing.py`` tests the suite itself)."""

from __future__ import annotations

import pytest

from lazyarray.errors import UnsupportedOperation
from lazyarray.testing.conformance import *  # noqa: F403
from lazyarray.testing.conformance import KnownFailures

KNOWN_FAILURES: dict[str, KnownFailures] = {
    "numpy": {},
    "dask": {
        "TestReductions::test_masked_row[*-median]": (
            UnsupportedOperation,
            "dask.array has no masked median",
        ),
    },
}


@pytest.fixture(params=["numpy", "dask"], scope="module")
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def known_failures(backend_name: str) -> KnownFailures:
    return KNOWN_FAILURES[backend_name]
