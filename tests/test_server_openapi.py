"""Schemathesis over the server's own OpenAPI document: requests generated from every
operation's schema (valid ones, and ones that break it), with a token, against a real
server: none may answer a 5xx. (``test_server_fuzz`` mutates known-good requests; this
explores what the document says the routes take.)"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("uvicorn")

from hypothesis import HealthCheck, settings  # noqa: E402

from lazyarray.server import create_app  # noqa: E402
from tests.server_kit import ThreadedServer  # noqa: E402

TOKEN = "openapi-test-token"
STORE = Path(tempfile.mkdtemp(prefix="lazyarray-openapi-"))
atexit.register(shutil.rmtree, STORE, True)  # made at import: each worker has its own
APP = create_app(STORE, TOKEN, workers=0)  # jobs are recorded, not run: the routes are tested
SCHEMA = schemathesis.openapi.from_dict(APP.openapi())


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer(APP) as running:
        yield running


@SCHEMA.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure replays
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_is_a_server_error(case: Any, server: ThreadedServer) -> None:
    response = case.call(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
