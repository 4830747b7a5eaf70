"""The backend conformance suite: every promise of the backend protocol, tested on one
backend found by name through its entry point (group ``lazyarray.backends``).

Each op family runs against numpy (elementwise and reduction tests are generated from
the op rows, so a new row is covered at once) in two modes, the graph as written and
planned; jobs, errors, capability refusals, memory checks, the options snapshot and
results' ownership are tested once. Every expression is built under the refusing
backend: building one computes nothing.

A backend's own test module runs it with::

    import pytest
    from lazyarray.testing.conformance import *  # noqa: F403


    @pytest.fixture
    def backend_name() -> str:
        return "mybackend"

or without writing a module: ``pytest -p lazyarray.testing.plugin --lazyarray-backend
mybackend --pyargs lazyarray.testing.conformance``. Known failures are declared by
overriding the ``known_failures`` fixture; each becomes a strict xfail.
"""

from lazyarray.testing.suite.contract import (
    TestCapabilities,
    TestOptions,
    TestOutputsFit,
    TestResults,
)
from lazyarray.testing.suite.elementwise import TestElementwise
from lazyarray.testing.suite.harness import (
    KnownFailures,
    _known_failure,
    backend_under_test,
    known_failures,
    mode,
)
from lazyarray.testing.suite.jobs import TestErrors, TestJobs
from lazyarray.testing.suite.reductions import TestReductions, TestScans
from lazyarray.testing.suite.structural import TestLarge, TestRandom, TestStructural

__all__ = [
    "KnownFailures",
    "TestCapabilities",
    "TestElementwise",
    "TestErrors",
    "TestJobs",
    "TestLarge",
    "TestOptions",
    "TestOutputsFit",
    "TestRandom",
    "TestReductions",
    "TestResults",
    "TestScans",
    "TestStructural",
    "_known_failure",
    "backend_under_test",
    "known_failures",
    "mode",
]
