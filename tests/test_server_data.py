"""Result formats, masked results, blobs and the synchronous inspect path of the server."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette's notice that it prefers httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import lazyarray as la
from lazyarray import serialize
from lazyarray.server import create_app
from lazyarray.server.limits import ServerLimits
from lazyarray.stores.blobs import MemoryBlobs
from tests.server_kit import ThreadedServer

HEADERS = {"Authorization": "Bearer t"}
X = np.arange(-6.0, 6.0).reshape(3, 4)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = tmp_path_factory.mktemp("store")
    limits = ServerLimits(inspect_bytes=1 << 16, inspect_seconds=2.0)
    with TestClient(create_app(store, "t", workers=1, limits=limits)) as client:
        yield client


def _x() -> Any:
    return la.parameter("x", la.Array, dtype="float64", shape=(None, None))


def _masked() -> Any:
    x = _x()
    return la.masked_where(x < 0, x) * 2.0


def _job(client: TestClient, expression: Any, fmt: str, **arguments: Any) -> bytes:
    body = {"graph": serialize.to_dict(expression), "arguments": arguments, "format": fmt}
    response = client.post("/v1/jobs", json=body, headers=HEADERS)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/v1/jobs/{job_id}", headers=HEADERS).json()
        if state["status"] in ("Completed", "Errored", "Cancelled"):
            break
        time.sleep(0.02)
    assert state["status"] == "Completed", client.get(
        f"/v1/jobs/{job_id}/errors", headers=HEADERS
    ).text
    result = client.get(f"/v1/jobs/{job_id}/result?format={fmt}", headers=HEADERS)
    assert result.status_code == 200
    assert client.get(f"/v1/jobs/{job_id}/result", headers=HEADERS).content == result.content
    other = "npz" if fmt != "npz" else "npy"
    assert (
        client.get(f"/v1/jobs/{job_id}/result?format={other}", headers=HEADERS).status_code == 422
    )
    return result.content


@pytest.mark.parametrize("fmt", ["npy", "npz", "json", "arrow"])
@pytest.mark.parametrize("path", ["job", "inspect"])
def test_results_are_the_bytes_compute_gives(client: TestClient, fmt: str, path: str) -> None:
    if fmt == "arrow":
        pytest.importorskip("pyarrow")
    expression = (_x() * 2.0 + 1.0).sum(axis=0)
    expected = expression.compute(x=X, format=fmt)
    if path == "job":
        got = _job(client, expression, fmt, x=X.tolist())
    else:
        body = {
            "graph": serialize.to_dict(expression),
            "arguments": {"x": X.tolist()},
            "format": fmt,
        }
        response = client.post("/v1/inspect", json=body, headers=HEADERS)
        assert response.status_code == 200, response.text
        got = response.content
    if fmt == "npz":  # a zip's member times differ: compare the members
        with np.load(io.BytesIO(got)) as found, np.load(io.BytesIO(expected)) as wanted:
            assert found.files == wanted.files
            for name in found.files:
                np.testing.assert_array_equal(found[name], wanted[name])
    else:
        assert got == expected


def test_a_masked_result_is_npz_of_data_and_mask(client: TestClient) -> None:
    expected = np.ma.masked_where(X < 0, X) * 2.0
    with np.load(io.BytesIO(_job(client, _masked(), "npz", x=X.tolist()))) as found:
        np.testing.assert_array_equal(found["data"][~found["mask"]], expected.compressed())
        np.testing.assert_array_equal(found["mask"], np.ma.getmaskarray(expected))
    assert _job(client, _masked(), "json", x=X.tolist()) == _masked().compute(x=X, format="json")
    body = {"graph": serialize.to_dict(_masked()), "arguments": {"x": X.tolist()}, "format": "npy"}
    refused = client.post("/v1/jobs", json=body, headers=HEADERS)
    assert refused.status_code == 422
    assert refused.json()["error"]["type"] == "FormatError" and "npz" in refused.json()["detail"]


def test_a_tuple_of_results_is_one_npz(client: TestClient) -> None:
    x = _x()
    expression = (x.sum(axis=0), la.masked_where(x < 0, x).max())
    body = {"graph": serialize.to_dict(expression), "arguments": {"x": X.tolist()}}
    assert (
        client.post("/v1/jobs", json={**body, "format": "json"}, headers=HEADERS).status_code == 422
    )
    with np.load(io.BytesIO(_job(client, expression, "npz", x=X.tolist()))) as found:
        np.testing.assert_array_equal(found["arr_0"], X.sum(axis=0))
        assert found["arr_1"] == np.ma.masked_where(X < 0, X).max()
        assert not found["arr_1_mask"]


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_blobs_are_stored_once_and_verified(client: TestClient) -> None:
    data = _npy(np.arange(1000.0).reshape(10, 100))
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert client.head(f"/v1/blobs/{digest}", headers=HEADERS).status_code == 404
    assert client.put(f"/v1/blobs/{digest}", content=data, headers=HEADERS).status_code == 201
    assert client.put(f"/v1/blobs/{digest}", content=data, headers=HEADERS).status_code == 200
    assert client.head(f"/v1/blobs/{digest}", headers=HEADERS).status_code == 200
    other = "sha256:" + hashlib.sha256(b"other").hexdigest()
    wrong = client.put(f"/v1/blobs/{other}", content=data, headers=HEADERS)
    assert wrong.status_code == 422 and wrong.json()["error"]["type"] == "CorruptBlob"
    assert client.head(f"/v1/blobs/{other}", headers=HEADERS).status_code == 404
    assert client.put("/v1/blobs/md5:00", content=data, headers=HEADERS).status_code == 422
    assert client.head(f"/v1/blobs/{digest}").status_code == 401
    # a blob argument, read from its .npy without pickles
    result = _job(client, (_x() * 2.0).sum(axis=1), "npy", x={"blob": digest, "format": "npy"})
    np.testing.assert_array_equal(
        np.load(io.BytesIO(result)), (np.arange(1000.0).reshape(10, 100) * 2).sum(axis=1)
    )
    absent = "sha256:" + "0" * 64
    body = {"graph": serialize.to_dict(_x().sum()), "arguments": {"x": {"blob": absent}}}
    missing = client.post("/v1/jobs", json=body, headers=HEADERS)
    assert missing.status_code == 422 and "upload" in missing.json()["detail"]


def test_a_pickled_blob_argument_is_refused(client: TestClient) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    data = buffer.getvalue()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.put(f"/v1/blobs/{digest}", content=data, headers=HEADERS)
    body = {"graph": serialize.to_dict(_x().sum()), "arguments": {"x": {"blob": digest}}}
    refused = client.post("/v1/jobs", json=body, headers=HEADERS)
    assert refused.status_code == 422 and refused.json()["error"]["type"] == "ArgumentError"


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"a": 1}, "an argument object is"),
        ({"blob": None}, "an argument object is|no blob"),
        ([[1.0], 2.0], "argument .x.*inhomogeneous"),
        (10**400, "argument 'x'"),
    ],
)
def test_an_argument_that_is_no_array_is_refused_in_words(
    client: TestClient, given: object, said: str
) -> None:
    """An object without a blob, a ragged list, an int no float holds: a 422
    ``ArgumentError`` naming the argument, never a job nor a 500."""
    body = {"graph": serialize.to_dict(_x().sum()), "arguments": {"x": given}}
    refused = client.post("/v1/jobs", json=body, headers=HEADERS)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["type"] == "ArgumentError", refused.text
    assert re.search(said, refused.json()["detail"]), refused.text


def _put(client: TestClient, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    answer = client.put(f"/v1/blobs/{digest}", content=data, headers=HEADERS)
    assert answer.status_code in (200, 201)
    return digest


def _short_blobs(client: TestClient) -> dict[str, str]:
    """Uploaded ``.npy`` blobs holding less data than their headers declare."""
    whole = _npy(np.arange(1000.0))
    huge = _npy(np.zeros(1)).replace(b"(1,)", b"(100000000000,)")[:128]  # a header alone
    return {"truncated": _put(client, whole[:-4000]), "huge": _put(client, huge)}


@pytest.mark.parametrize("route", ["/v1/jobs", "/v1/inspect"])
def test_a_blob_short_of_its_header_is_refused_before_any_work(
    client: TestClient, route: str
) -> None:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    m = la.parameter("m", la.MaskedArray, dtype="float64", shape=(None,))
    short = _short_blobs(client)
    data, mask = _put(client, _npy(np.arange(1000.0))), _put(client, _npy(np.zeros(1000, bool)))
    fill = {"scalar": ["<f8", np.float64(1e20).tobytes().hex()]}
    mask_short = _put(client, _npy(np.zeros(1000, bool))[:-10])
    cases = [
        (x.sum(), "x", {"x": {"blob": short["truncated"]}}, "holds 4000 bytes"),
        (x.sum(), "x", {"x": {"blob": short["huge"]}}, "declares 800000000000"),
        (m.sum(), "m", {"m": {"blob": data, "mask": mask_short, "fill_value": fill}}, "990"),
    ]
    jobs_before = len(client.get("/v1/jobs", headers=HEADERS).json()["jobs"])
    for expression, name, arguments, says in cases:
        body = {"graph": serialize.to_dict(expression), "arguments": arguments}
        refused = client.post(route, json=body, params={"wait": 5}, headers=HEADERS)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["type"] == "ArgumentError"
        assert error["message"].startswith(f"argument {name!r}: blob ") and says in error["message"]
    assert len(client.get("/v1/jobs", headers=HEADERS).json()["jobs"]) == jobs_before
    # the whole blobs pass, and bytes past the data are ignored as numpy.load ignores them
    longer = _put(client, _npy(np.arange(1000.0)) + b"\0" * 16)
    whole = {"m": {"blob": data, "mask": mask, "fill_value": fill}}
    for arguments in ({"x": {"blob": longer}}, whole):
        expression = x.sum() if "x" in arguments else m.sum()
        body = {"graph": serialize.to_dict(expression), "arguments": arguments}
        answer = client.post(route, json=body, params={"wait": 30}, headers=HEADERS)
        assert answer.status_code in (200, 202), answer.text


def test_a_literal_blob_short_of_its_data_is_refused(client: TestClient) -> None:
    sent = MemoryBlobs()
    document = serialize.to_dict(la.asarray(np.arange(20_000.0)) * 2.0, blobs=sent)
    (digest,) = serialize.blob_references(document)
    short = _put(client, sent.get(digest)[:-8])
    body = {"graph": json.loads(json.dumps(document).replace(digest, short)), "arguments": {}}
    for route in ("/v1/jobs", "/v1/inspect"):
        refused = client.post(route, json=body, headers=HEADERS)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["type"] == "BadLiteral"


def test_inspect_refuses_a_large_result_and_times_out(client: TestClient) -> None:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    body = {"graph": serialize.to_dict(la.outer(x, x)), "arguments": {"x": list(range(200))}}
    large = client.post("/v1/inspect", json=body, headers=HEADERS)  # 320 kB > 64 KiB
    assert large.status_code == 413 and large.json()["error"]["type"] == "ResourceExhausted"
    n = 1500  # a chain of matrix products longer than the 2 s inspect timeout
    y = la.parameter("y", la.Array, dtype="float64", shape=(n, n))
    slow = y
    for _ in range(40):
        slow = (slow @ y) / n
    body = {"graph": serialize.to_dict(slow.sum()), "arguments": {}}
    data = _npy(np.full((n, n), 1.0))
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.put(f"/v1/blobs/{digest}", content=data, headers=HEADERS)
    body["arguments"] = {"y": {"blob": digest}}
    started = time.monotonic()
    timed_out = client.post("/v1/inspect", json=body, headers=HEADERS)
    assert timed_out.status_code == 408, timed_out.text
    assert timed_out.json()["error"]["type"] == "JobTimeoutError"
    assert time.monotonic() - started < 10


def test_an_inspect_error_names_the_node(client: TestClient) -> None:
    x = _x()
    document = serialize.to_dict(la.linalg.inv(x) + 1.0)
    ops = [node[0] for node in document["graph"]["nodes"]]
    body = {"graph": document, "arguments": {"x": [[0.0, 0.0], [0.0, 0.0]]}}
    failed = client.post("/v1/inspect", json=body, headers=HEADERS)
    assert failed.status_code == 422
    error = failed.json()["error"]
    assert error["type"] == "ComputeError" and error["op"] == "inv"
    assert error["node"] == ops.index("inv")


@pytest.mark.parametrize("fmt", ["npy", "json"])
def test_a_large_result_is_a_file_streamed(client: TestClient, fmt: str) -> None:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    values = np.linspace(0.0, 1.0, 400)  # a 1.28 MB result: over what a row keeps
    expression = la.outer(x, x)
    got = _job(client, expression, fmt, x=values.tolist())
    assert got == expression.compute(x=values, format=fmt)
    layout = client.app.state.layout  # type: ignore[attr-defined]
    assert any(path.suffix == f".{fmt}" for path in layout.results.iterdir())


def test_the_default_format_holds_the_result(client: TestClient) -> None:
    expected = np.ma.masked_where(X < 0, X) * 2.0
    body = {"graph": serialize.to_dict(_masked()), "arguments": {"x": X.tolist()}}
    job = client.post("/v1/jobs", json=body, params={"wait": 30}, headers=HEADERS).json()
    assert job["state"]["status"] == "Completed"
    answers = [
        client.get(f"/v1/jobs/{job['job_id']}/result", headers=HEADERS),
        client.post("/v1/inspect", json=body, headers=HEADERS),
    ]
    for answer in answers:
        assert answer.headers["content-type"] == "application/x-npz", answer.text
        with np.load(io.BytesIO(answer.content)) as found:
            np.testing.assert_array_equal(found["mask"], np.ma.getmaskarray(expected))
    body["graph"] = serialize.to_dict(_x() * 2.0)
    answer = client.post("/v1/inspect", json=body, headers=HEADERS)
    assert answer.headers["content-type"] == "application/x-npy"
    np.testing.assert_array_equal(np.load(io.BytesIO(answer.content)), X * 2.0)


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/jobs", {"submission_id": "s"}),
        ("/v1/inspect", {}),
        ("/v1/workflows/default:w/versions/1.0.0/call", {"arguments": {}}),
        ("/v1/jobs", {"errstate": {"divide": "raise"}}),
    ],
)
def test_an_unknown_field_of_a_body_is_refused(
    client: TestClient, route: str, body: dict[str, Any]
) -> None:
    graph = {"graph": serialize.to_dict(_x() * 2.0), "arguments": {"x": [1.0]}}
    if "errstate" in body:
        body = {**graph, "errstate": {**body["errstate"], "bogus": 1}}
    else:
        body = {**graph, **body, "bogus": 1} if "call" not in route else {**body, "bogus": 1}
    refused = client.post(route, json=body, headers=HEADERS)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["type"] == "RequestValidationError" and "bogus" in error["message"]


def test_nan_and_infinity_in_arguments_are_numbers(client: TestClient) -> None:
    graph = json.dumps(serialize.to_dict(_x() * 2.0))
    text = f'{{"graph": {graph}, "arguments": {{"x": [[NaN, Infinity, -Infinity]]}}}}'
    answer = client.post(
        "/v1/inspect", content=text, headers={**HEADERS, "content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    found = np.load(io.BytesIO(answer.content))
    np.testing.assert_array_equal(found, [[np.nan, np.inf, -np.inf]])


def test_errors_found_before_and_while_running_name_the_failing_node(
    client: TestClient,
) -> None:
    """A constant index out of range (which the planner finds, and leaves to the run)
    fails the job, or the inspect, naming the take's node; a document refused while it
    is read names the node too."""
    a = la.asarray(np.arange(9.0).reshape(3, 3))
    document = serialize.to_dict(la.take(a.ravel(), (a.sum() * 0 + 100).astype("int64")))
    take = [node[0] for node in document["graph"]["nodes"]].index("take")
    job = client.post("/v1/jobs", json={"graph": document}, params={"wait": 30}, headers=HEADERS)
    assert job.json()["state"]["status"] == "Errored", job.text
    (entry,) = client.get(f"/v1/jobs/{job.json()['job_id']}/errors", headers=HEADERS).json()[
        "errors"
    ]
    refused = client.post("/v1/inspect", json={"graph": document}, headers=HEADERS)
    assert refused.status_code == 422, refused.text
    for error in (entry, refused.json()["error"]):
        assert error["type"] == "ComputeError" and "out of bounds" in error["message"], error
        assert (error["op"], error["node"]) == ("take", take)
        assert f"node {take} of the graph document" in error["message"]
    document["graph"]["nodes"][take][0] = "no_such_op"  # refused while it is read
    refused = client.post("/v1/jobs", json={"graph": document}, headers=HEADERS)
    error = refused.json()["error"]
    assert refused.status_code == 422 and error["type"] == "UnknownOp", error
    assert (error["op"], error["node"]) == ("no_such_op", take)


DIVIDE = [  # X holds a zero
    {"category": "RuntimeWarning", "message": "divide by zero encountered in divide"},
    {"category": "RuntimeWarning", "message": "invalid value encountered in divide"},
]


def test_warnings_of_a_job_and_of_an_inspect_come_back(client: TestClient) -> None:
    body = {"graph": serialize.to_dict(_x() / 0.0), "arguments": {"x": X.tolist()}}
    job = client.post("/v1/jobs", json=body, params={"wait": 30}, headers=HEADERS).json()
    assert job["state"]["status"] == "Completed" and job["state"]["warnings"] == DIVIDE
    state = client.get(f"/v1/jobs/{job['job_id']}", headers=HEADERS).json()
    assert state["warnings"] == DIVIDE
    quiet = {**body, "graph": serialize.to_dict(_x() * 2.0)}
    job = client.post("/v1/jobs", json=quiet, params={"wait": 30}, headers=HEADERS).json()
    assert job["state"]["status"] == "Completed" and job["state"]["warnings"] == []
    with warnings.catch_warnings():  # this process's filters decide what inspect sees
        warnings.simplefilter("default")
        for value in (X, -X):  # not only the first time at numpy's line
            sent = {**body, "arguments": {"x": value.tolist()}}
            answer = client.post("/v1/inspect", json=sent, headers=HEADERS)
            assert json.loads(answer.headers["X-Lazyarray-Warnings"]) == DIVIDE
        answer = client.post("/v1/inspect", json=quiet, headers=HEADERS)
        assert json.loads(answer.headers["X-Lazyarray-Warnings"]) == []


def test_warnings_are_kept_once_each_and_at_most_twenty() -> None:
    from lazyarray.server.warned import entries, in_process

    class Own(UserWarning):
        pass

    with in_process() as seen:
        for index in range(30):
            warnings.warn(f"w{index % 25}", RuntimeWarning, stacklevel=1)
        warnings.warn("own", Own, stacklevel=1)
    assert len(seen) == 26  # each once
    kept = entries(seen)
    assert kept == [{"category": "RuntimeWarning", "message": f"w{i}"} for i in range(20)]
    named = entries([(Own, "own"), (np.exceptions.ComplexWarning, "c"), (DeprecationWarning, "d")])
    assert [entry["category"] for entry in named] == [
        "UserWarning",
        "ComplexWarning",
        "DeprecationWarning",
    ]


@pytest.mark.parametrize("ended_by", ["timeout", "disconnect"])
def test_a_timed_out_inspect_stops_its_computation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ended_by: str
) -> None:
    """At its timeout (the request's, under the server's) the inspect's run is
    cancelled: the blocks running then finish (a numpy call is not interrupted), no
    other block runs to its end."""
    from lazyarray.jobs import RunContext
    from lazyarray_numpy import kernels

    contexts: list[RunContext] = []
    made = RunContext.__init__

    def init(self: RunContext, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        contexts.append(self)

    ended: list[bool] = []  # per block run to its end: whether the run was cancelled then
    running = [0]
    mapped = kernels.map_in_context

    def map_in_context(pool: Any, function: Any, items: Any, workers: int) -> Any:
        def block(item: Any) -> Any:
            running[0] += 1
            try:
                value = function(item)
            finally:
                running[0] -= 1
            ended.append(contexts[-1].cancelled)
            return value

        return mapped(pool, block, items, workers)

    monkeypatch.setattr(RunContext, "__init__", init)
    monkeypatch.setattr(kernels, "map_in_context", map_in_context)
    y = la.arange(20_000_000, dtype="float64")
    for _ in range(40):  # many blocks, seconds of work
        y = la.sin(y) * 1.0001 + 0.5
    app = create_app(tmp_path, "t", workers=0)  # the server's limit: 10 s
    body = {"graph": serialize.to_dict(y.sum()), "timeout": 0.3}  # the client's
    if ended_by == "disconnect":  # a client that stops waiting, its timeout not sent
        del body["timeout"]
        with ThreadedServer(app) as server:
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(
                    f"{server.url}/v1/inspect",
                    json=body,
                    headers=HEADERS,
                    timeout=httpx.Timeout(30.0, read=0.5),
                )
            deadline = time.monotonic() + 5  # well within the server's 10 s
            while not (contexts and contexts[0].cancelled) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(contexts) == 1 and contexts[0].cancelled
        return
    with TestClient(app) as client:
        answer = client.post("/v1/inspect", json=body, headers=HEADERS)
        assert answer.status_code == 408 and answer.json()["error"]["type"] == "JobTimeoutError"
        assert len(contexts) == 1 and contexts[0].cancelled
        deadline = time.monotonic() + 60
        while running[0] and time.monotonic() < deadline:
            time.sleep(0.01)
        threads = la.config.snapshot().threads or os.cpu_count() or 1
        assert ended and running[0] == 0 and ended.count(True) <= threads, ended
