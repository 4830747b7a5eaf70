"""The backend conformance suite (``lazyarray.testing.conformance``) over the remote
backend, against a real server (``tests/test_remote_fixtures.py``). The contract, jobs,
errors, results and large cases run in every test run; the op families (several hundred
jobs, minutes over HTTP) run with ``make soak``. Known failures are strict xfails, each
with the reason it cannot pass over HTTP today."""

from __future__ import annotations

import pytest

from lazyarray.backend import available_backends
from lazyarray.testing import conformance as suite
from lazyarray.testing.conformance import (  # noqa: F401 - the suite's fixtures and tests
    KnownFailures,
    TestCapabilities,
    TestErrors,
    TestJobs,
    TestLarge,
    TestOptions,
    TestOutputsFit,
    TestResults,
    _known_failure,
    backend_under_test,
    mode,
)
from tests.test_remote_fixtures import (  # noqa: F401 - fixtures
    remote_fixture,
    remote_server_fixture,
)

KNOWN_FAILURES: KnownFailures = {}
if "remote" not in available_backends():  # an editable install made before the entry point
    KNOWN_FAILURES = {
        **KNOWN_FAILURES,
        "TestCapabilities::test_it_is_found_through_its_entry_point": (
            AssertionError,
            "reinstall (pip install -e .) to register the remote entry point",
        ),
    }


@pytest.fixture
def backend_name(remote: str) -> str:
    return "remote"


@pytest.fixture
def known_failures() -> KnownFailures:
    return KNOWN_FAILURES


@pytest.mark.soak
class TestElementwise(suite.TestElementwise):
    """Every elementwise row, as a job each."""


@pytest.mark.soak
class TestReductions(suite.TestReductions):
    """Every reduction row, as a job each."""


@pytest.mark.soak
class TestScans(suite.TestScans):
    """Every scan row, as a job each."""


@pytest.mark.soak
class TestStructural(suite.TestStructural):
    """Shapes, indexing, sorting and the rest, as a job each."""


@pytest.mark.soak
class TestRandom(suite.TestRandom):
    """Random draws, as a job each."""
