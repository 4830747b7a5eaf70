"""The server's limits, each checked before any work with a typed refusal: body size,
JSON nesting, graph nodes and depth, literal bytes, projected result and peak memory,
outstanding jobs per owner (429 with Retry-After), and a job's deadline."""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette's notice that it prefers httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import lazyarray as la
from lazyarray import serialize
from lazyarray.serialize.limits import Limits
from lazyarray.server import create_app
from lazyarray.server.limits import ServerLimits
from lazyarray.server.store import JobStore
from tests.server_kit import slow, small

HEADERS = {"Authorization": "Bearer t"}
LIMITS = ServerLimits(
    body_bytes=20_000,
    blob_bytes=5_000,
    document=Limits(nodes=60, depth=40, literal_bytes=4_000),
    result_bytes=50_000,
    peak_bytes=400_000,
    outstanding_jobs=3,
    retry_after=7,
    job_seconds=60.0,
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path, "t", workers=0, limits=LIMITS)) as client:
        yield client


def _refused(response: Any, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["type"] == error_type, body
    return str(body["detail"])


def _jobs(client: TestClient) -> int:
    return len(client.get("/v1/jobs", headers=HEADERS).json()["jobs"])


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    body = {"graph": small(), "arguments": {"x": [[1.0] * 100] * 50}}
    detail = _refused(client.post("/v1/jobs", json=body, headers=HEADERS), 413, "DocumentTooLarge")
    assert "20000 bytes" in detail
    # a stranger's body is never read: the token is checked first
    stranger = client.post("/v1/jobs", json=body, headers={"Authorization": "Bearer nope"})
    _refused(stranger, 401, "Unauthorized")
    assert stranger.headers["WWW-Authenticate"] == "Bearer"
    # the same without a declared length (streamed in pieces)
    pieces = (bytes([b]) * 1000 for b in b"x" * 30)
    response = client.post("/v1/jobs", content=pieces, headers=HEADERS)
    _refused(response, 413, "DocumentTooLarge")
    assert _jobs(client) == 0


def test_json_nested_too_deep_is_refused_before_it_is_parsed(client: TestClient) -> None:
    deep = "[" * 5000 + "]" * 5000  # Python's parser would recurse past its limit
    text = '{"graph": {}, "arguments": {"x": ' + deep + "}}"
    response = client.post(
        "/v1/jobs", content=text, headers={**HEADERS, "Content-Type": "application/json"}
    )
    assert "nested" in _refused(response, 413, "DocumentTooLarge")


def test_graph_nodes_depth_and_literal_bytes(client: TestClient) -> None:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    wide = x
    for i in range(30):  # 91 nodes in a chain of 32
        wide = wide + x * float(i)
    many = {"graph": serialize.to_dict(wide), "arguments": {"x": [1.0]}}
    assert "nodes (the limit is 60)" in _refused(
        client.post("/v1/jobs", json=many, headers=HEADERS), 413, "DocumentTooLarge"
    )
    deep = {"graph": slow(25)}  # 54 nodes in a chain of 52
    assert "a chain of" in _refused(
        client.post("/v1/jobs", json=deep, headers=HEADERS), 413, "DocumentTooLarge"
    )
    literal = la.asarray(np.arange(1000.0)) + 1.0  # 8000 bytes of literal data
    body = {"graph": serialize.to_dict(literal), "format": "npy"}
    assert "literals of more than 4000 bytes" in _refused(
        client.post("/v1/jobs", json=body, headers=HEADERS), 413, "DocumentTooLarge"
    )
    assert _jobs(client) == 0


def test_projected_result_and_peak(client: TestClient) -> None:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    outer = {"graph": serialize.to_dict(la.outer(x, x)), "arguments": {"x": list(range(100))}}
    assert "result" in _refused(
        client.post("/v1/jobs", json=outer, headers=HEADERS), 413, "ResourceExhausted"
    )
    # a small result whose intermediate is large: the peak is over its limit
    peak = {"graph": serialize.to_dict(la.outer(x, x).sum()), "arguments": {"x": list(range(300))}}
    assert "peak" in _refused(
        client.post("/v1/jobs", json=peak, headers=HEADERS), 413, "ResourceExhausted"
    )
    fits = {**outer, "arguments": {"x": list(range(50))}}
    assert client.post("/v1/jobs", json=fits, headers=HEADERS).status_code == 202


def test_a_blob_over_the_limit(client: TestClient) -> None:
    data = b"\0" * 6000
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _refused(
        client.put(f"/v1/blobs/{digest}", content=data, headers=HEADERS), 413, "DocumentTooLarge"
    )
    streamed = client.put(
        f"/v1/blobs/{digest}",
        content=(data[i : i + 1000] for i in range(0, 6000, 1000)),
        headers=HEADERS,
    )
    _refused(streamed, 413, "DocumentTooLarge")
    assert client.head(f"/v1/blobs/{digest}", headers=HEADERS).status_code == 404


def test_outstanding_jobs_per_owner(client: TestClient) -> None:
    body = {"graph": small(), "arguments": {"x": [[1.0]]}}
    ids = [
        client.post("/v1/jobs", json={**body, "submission_id": f"s{i}"}, headers=HEADERS).json()[
            "job_id"
        ]
        for i in range(3)
    ]
    over = client.post("/v1/jobs", json=body, headers=HEADERS)
    _refused(over, 429, "TooManyJobs")
    assert over.headers["Retry-After"] == "7"
    # a retry of a recorded submission is still answered with its job
    again = client.post("/v1/jobs", json={**body, "submission_id": "s0"}, headers=HEADERS)
    assert again.status_code == 202 and again.json()["job_id"] == ids[0]
    client.post(f"/v1/jobs/{ids[0]}/cancel", headers=HEADERS)
    assert client.post("/v1/jobs", json=body, headers=HEADERS).status_code == 202


def test_a_deadline_over_the_limit_is_refused(client: TestClient) -> None:
    body = {"graph": small(), "arguments": {"x": [[1.0]]}, "timeout": 61}
    _refused(client.post("/v1/jobs", json=body, headers=HEADERS), 422, "ComputeArgumentError")
    _refused(
        client.post("/v1/jobs", json={**body, "timeout": -1}, headers=HEADERS),
        422,
        "RequestValidationError",
    )


def test_a_pending_job_past_its_deadline_is_cancelled(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    late, _ = store.submit("alice", {}, "d1", timeout=0.01)
    other, _ = store.submit("alice", {}, "d2", timeout=100)
    assert store.expire(time.time() + 1) == [late]
    state = store.get(late)
    assert state is not None and state["status"] == "Cancelled"
    assert state["errors"][0]["type"] == "JobTimeoutError"
    assert store.get(other)["status"] == "Pending"  # type: ignore[index]


def test_a_running_job_past_its_deadline_is_cancelled(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path, "t", workers=1)) as client:
        body = {"graph": slow(4000), "timeout": 1.0}
        job_id = client.post("/v1/jobs", json=body, headers=HEADERS).json()["job_id"]
        started = time.monotonic()
        while client.get(f"/v1/jobs/{job_id}", headers=HEADERS).json()["status"] in (
            "Pending",
            "Running",
        ):
            assert time.monotonic() - started < 30
            time.sleep(0.05)
        state = client.get(f"/v1/jobs/{job_id}", headers=HEADERS).json()
        assert state["status"] == "Cancelled"
        errors = client.get(f"/v1/jobs/{job_id}/errors", headers=HEADERS).json()["errors"]
        assert errors[0]["type"] == "JobTimeoutError"
