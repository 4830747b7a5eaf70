"""Hostile requests against the routes: valid requests mutated at random places (values
replaced by arbitrary JSON, keys dropped, lists stretched), and arbitrary query values.
Every answer is a success or a typed refusal with the error body: never a 5xx."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from tests.server_kit import JSON_VALUES

LIMITS = ServerLimits(
    body_bytes=1 << 20,
    document=Limits(nodes=1000, depth=1000),
    result_bytes=1 << 22,
    peak_bytes=1 << 26,
    inspect_bytes=1 << 20,
    inspect_seconds=2.0,
)
ALLOWED = {200, 201, 202, 401, 404, 408, 409, 413, 422, 429}


def _bodies() -> list[dict[str, Any]]:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None, None))
    masked = la.masked_where(x < 0, x)
    return [
        {
            "graph": serialize.to_dict((x * 2.0 + 1.0).sum(axis=0)),
            "arguments": {"x": [[1.0, -2.0]]},
        },
        {
            "graph": serialize.to_dict(masked.mean(axis=1)),
            "arguments": {"x": [[1.0]]},
            "format": "npz",
        },
        {
            "graph": serialize.to_dict((x.sum(), x.max())),
            "arguments": {"x": [[3.0]]},
            "format": "npz",
        },
        {"graph": serialize.to_dict(la.asarray(np.arange(12.0)).reshape(3, 4)[1:] @ la.ones(4))},
        {"graph": serialize.to_dict(la.sort(la.arange(10) % 3)), "format": "json"},
    ]


BODIES = _bodies()


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*path, index))


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    body = copy.deepcopy(draw(st.sampled_from(BODIES)))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(body))[1:]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "drop", "stretch", "number"]))
        if action == "replace":
            parent[key] = draw(JSON_VALUES)
        elif action == "drop" and isinstance(parent, dict):
            del parent[key]
        elif action == "stretch" and isinstance(parent[key], list):
            parent[key] = parent[key] * draw(st.integers(0, 3))
        elif action == "number":
            parent[key] = draw(st.sampled_from([-1, 0, 1, 2**31, 2**63, -(2**70), 1e308, 0.5]))
    return body


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(tmp_path_factory.mktemp("store"), "t", workers=0, limits=LIMITS)
    headers = {"Authorization": "Bearer t"}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
        yield client


def _check(response: Any) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text[:2000])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["type"], str) and isinstance(error["message"], str)


def _fuzz(client: TestClient, body: dict[str, Any], route: str) -> None:
    _check(client.post(route, json=body))


@settings(max_examples=150)
@given(body=mutated(), route=st.sampled_from(["/v1/jobs", "/v1/inspect"]))
def test_mutated_requests_get_typed_answers(
    client: TestClient, body: dict[str, Any], route: str
) -> None:
    _fuzz(client, body, route)


@settings(max_examples=60)
@given(
    status=st.text(max_size=12),
    limit=st.text(max_size=12),
    digest=st.text(max_size=80),
    data=st.binary(max_size=64),
)
def test_arbitrary_query_and_path_values(
    client: TestClient, status: str, limit: str, digest: str, data: bytes
) -> None:
    _check(client.get("/v1/jobs", params={"status": status, "limit": limit}))
    for method in ("HEAD", "PUT"):
        response = client.request(method, f"/v1/blobs/{quote(digest, safe='')}", content=data)
        assert response.status_code in ALLOWED | {405}, response.status_code
    _check(client.get(f"/v1/jobs/{quote(digest, safe='')}/result", params={"format": status}))


@pytest.mark.soak
@settings(max_examples=10_000)
@given(body=mutated(), route=st.sampled_from(["/v1/jobs", "/v1/inspect"]))
def test_mutated_requests_get_typed_answers_soak(
    client: TestClient, body: dict[str, Any], route: str
) -> None:
    _fuzz(client, body, route)
