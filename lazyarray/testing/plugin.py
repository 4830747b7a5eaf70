"""A pytest plugin naming the backend the conformance suite runs on, for a run that
needs no test module: ``pytest -p lazyarray.testing.plugin --lazyarray-backend NAME
--pyargs lazyarray.testing.conformance``."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("lazyarray").addoption(
        "--lazyarray-backend",
        metavar="NAME",
        help="the backend (an entry point of lazyarray.backends) the conformance suite runs on",
    )


@pytest.fixture
def backend_name(request: pytest.FixtureRequest) -> str:
    name = request.config.getoption("--lazyarray-backend")
    if not name:
        raise pytest.UsageError("name the backend to test: --lazyarray-backend NAME")
    return str(name)
