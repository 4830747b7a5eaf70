"""The server's routes over a real store, with worker processes running the jobs."""

from __future__ import annotations

import base64
import io
import re
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
from lazyarray.server import create_app

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
ALICE = {"Authorization": "Bearer alice-token"}
BOB = {"Authorization": "Bearer bob-token"}
OPEN = {"/health", "/version"}


def _document() -> dict[str, Any]:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None, None))
    return serialize.to_dict((x * 2.0 + 1.0).sum(axis=0))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = tmp_path_factory.mktemp("store")
    with TestClient(create_app(store, TOKENS, workers=2, lease_seconds=3.0)) as client:
        yield client


def _wait(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if state["status"] in ("Completed", "Errored", "Cancelled"):
            return state  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish")


def test_a_job_runs_and_its_result_equals_numpy(client: TestClient) -> None:
    x = np.arange(12.0).reshape(3, 4)
    response = client.post(
        "/v1/jobs",
        json={"graph": _document(), "arguments": {"x": x.tolist()}, "submission_id": "a1"},
        headers=ALICE,
    )
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    state = _wait(client, job_id, ALICE)
    assert state["status"] == "Completed", client.get(
        f"/v1/jobs/{job_id}/errors", headers=ALICE
    ).text
    assert state["attempts"] == 1
    result = client.get(f"/v1/jobs/{job_id}/result?format=npy", headers=ALICE)
    assert result.status_code == 200
    np.testing.assert_array_equal(np.load(io.BytesIO(result.content)), (x * 2.0 + 1.0).sum(0))
    # another format: the message says which one the result is in, and how to get json
    other = client.get(f"/v1/jobs/{job_id}/result?format=json", headers=ALICE)
    assert other.status_code == 422 and other.json()["error"]["type"] == "FormatError"
    assert other.json()["detail"] == (
        f"job {job_id}'s result is npy, the format it was submitted with: only format=npy "
        'can be fetched; for json, submit the job with "format": "json"'
    )
    unknown = client.get(f"/v1/jobs/{job_id}/result?format=csv", headers=ALICE).json()
    assert unknown["detail"].endswith("only format=npy can be fetched")
    assert client.get(f"/v1/jobs/{job_id}/errors", headers=ALICE).json()["errors"] == []
    # a long poll answers at once for a finished job
    started = time.monotonic()
    assert client.get(f"/v1/jobs/{job_id}?wait=30", headers=ALICE).json()["status"] == "Completed"
    assert time.monotonic() - started < 5
    # cancelling a finished job leaves it Completed
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=ALICE).json()["status"] == "Completed"


def test_the_callers_errstate_and_options_travel_with_the_job(client: TestClient) -> None:
    """A request's ``errstate`` is numpy's error handling where the job runs; the same
    graph under another errstate is another request (no SubmissionConflict with it)."""
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    graph = serialize.to_dict(x / 0.0)
    body = {"graph": graph, "arguments": {"x": [1.0, 2.0]}}
    raising = {"divide": "raise", "over": "warn", "under": "ignore", "invalid": "ignore"}
    job = client.post("/v1/jobs", json={**body, "errstate": raising}, headers=ALICE).json()
    assert _wait(client, job["job_id"], ALICE)["status"] == "Errored"
    (error,) = client.get(f"/v1/jobs/{job['job_id']}/errors", headers=ALICE).json()["errors"]
    assert "divide by zero" in error["message"], error
    quiet = {**raising, "divide": "ignore", "invalid": "ignore"}
    options = {"fast_math": False, "disabled": []}
    job = client.post(
        "/v1/jobs", json={**body, "errstate": quiet, "options": options}, headers=ALICE
    ).json()
    assert _wait(client, job["job_id"], ALICE)["status"] == "Completed"
    bad = client.post("/v1/jobs", json={**body, "errstate": {"divide": "loud"}}, headers=ALICE)
    assert bad.status_code == 422, bad.text
    shown = client.post("/v1/inspect", json={**body, "errstate": raising}, headers=ALICE)
    assert shown.status_code == 422 and "divide by zero" in shown.json()["detail"], shown.text


def test_a_completed_job_has_done_all_its_steps(client: TestClient) -> None:
    x = np.arange(12.0).reshape(3, 4)
    body = {"graph": _document(), "arguments": {"x": x.tolist()}}
    job = client.post("/v1/jobs", json=body, headers=ALICE).json()
    state = client.get(f"/v1/jobs/{job['job_id']}?wait=30", headers=ALICE).json()
    assert state["status"] == "Completed"
    assert 0 < state["completed_steps"] == state["total_steps"], state


def test_a_submission_that_waits_answers_with_the_end_and_a_small_result(
    client: TestClient,
) -> None:
    """``POST /v1/jobs?wait=&inline=true``: a tiny job in one request, its result in the
    answer; a result over 256 KiB, or a wait that ends first, leaves ``inline_result``
    out; the same inline result from the long poll."""
    x = np.arange(12.0).reshape(3, 4)
    body = {"graph": _document(), "arguments": {"x": x.tolist()}}
    waiting = {"wait": 30, "inline": "true"}
    created = client.post("/v1/jobs", json=body, params=waiting, headers=ALICE)
    assert created.status_code == 202
    state = created.json()["state"]
    assert state["status"] == "Completed" and state["job_id"] == created.json()["job_id"]
    inline = state["inline_result"]
    assert inline["media_type"] == "application/x-npy"
    value = np.load(io.BytesIO(base64.b64decode(inline["base64"])))
    np.testing.assert_array_equal(value, (x * 2.0 + 1.0).sum(0))
    again = client.get(f"/v1/jobs/{state['job_id']}", params=waiting, headers=ALICE).json()
    assert again["inline_result"] == inline
    # without inline=true, or without wait, nothing more than before
    plain = client.post("/v1/jobs", json=body, params={"wait": 30}, headers=ALICE).json()
    assert plain["state"]["status"] == "Completed" and plain["state"]["inline_result"] is None
    assert client.post("/v1/jobs", json=body, headers=ALICE).json()["state"] is None
    # 40,000 float64 sums: 320 KB, over the inline limit: downloaded as before
    big = np.ones((2, 40_000))
    large = client.post(
        "/v1/jobs", json={**body, "arguments": {"x": big.tolist()}}, params=waiting, headers=ALICE
    ).json()
    assert large["state"]["status"] == "Completed" and large["state"]["inline_result"] is None
    fetched = client.get(f"/v1/jobs/{large['job_id']}/result", headers=ALICE)
    np.testing.assert_array_equal(np.load(io.BytesIO(fetched.content)), (big * 2 + 1).sum(0))
    # a wait that ends before the job (seconds of sorting): the state then, no result
    y = la.sin(la.arange(2_000_000) * 1.0)
    for _ in range(100):
        y = la.sort(la.sin(y * 7.1))
    slow = {"graph": serialize.to_dict(y.sum())}
    started = time.monotonic()
    pending = client.post(
        "/v1/jobs", json=slow, params={"wait": 0.2, "inline": "true"}, headers=ALICE
    )
    assert 0.2 <= time.monotonic() - started < 5
    state = pending.json()["state"]
    assert state["status"] in ("Pending", "Running") and state["inline_result"] is None, state
    client.post(f"/v1/jobs/{state['job_id']}/cancel", headers=ALICE)
    assert _wait(client, state["job_id"], ALICE)["status"] == "Cancelled"
    for wait in (-1, 61):
        refused = client.post("/v1/jobs", json=body, params={"wait": wait}, headers=ALICE)
        assert refused.status_code == 422, refused.text


def test_submission_is_idempotent(client: TestClient) -> None:
    body = {"graph": _document(), "arguments": {"x": [[1.0]]}, "submission_id": "same"}
    first = client.post("/v1/jobs", json=body, headers=ALICE).json()["job_id"]
    again = client.post("/v1/jobs", json=body, headers=ALICE).json()["job_id"]
    assert first == again
    conflict = client.post("/v1/jobs", json={**body, "arguments": {"x": [[2.0]]}}, headers=ALICE)
    assert conflict.status_code == 409


def test_missing_and_bad_arguments_are_refused_before_they_are_recorded(
    client: TestClient,
) -> None:
    before = len(client.get("/v1/jobs", headers=ALICE).json()["jobs"])
    for arguments in ({}, {"x": [[1.0], [2.0, 3.0]]}, {"x": [[1.0]], "y": 1}, {"x": "text"}):
        body = {"graph": _document(), "arguments": arguments}
        response = client.post("/v1/jobs", json=body, headers=ALICE)
        assert response.status_code == 422, (arguments, response.text)
        assert response.json()["error"]["type"] in ("ArgumentError", "ComputeArgumentError")
    assert len(client.get("/v1/jobs", headers=ALICE).json()["jobs"]) == before


def _uploaded(client: TestClient, array: np.ndarray[Any, Any]) -> str:
    import hashlib

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    digest = "sha256:" + hashlib.sha256(buffer.getvalue()).hexdigest()
    client.put(f"/v1/blobs/{digest}", content=buffer.getvalue(), headers=ALICE)
    return digest


def test_every_put_of_a_blob_is_hashed_stored_or_not(client: TestClient) -> None:
    import hashlib

    good = b"the blob's bytes" * 1000
    digest = "sha256:" + hashlib.sha256(good).hexdigest()
    path = f"/v1/blobs/{digest}"
    assert client.put(path, content=good[:-1], headers=ALICE).status_code == 422  # not stored
    assert client.head(path, headers=ALICE).status_code == 404
    assert client.put(path, content=good, headers=ALICE).status_code == 201
    assert client.put(path, content=good, headers=ALICE).status_code == 200
    # stored already: damaged bytes are still refused, the stored blob is left as it is
    damaged = client.put(path, content=good[:-1] + b"!", headers=ALICE)
    assert damaged.status_code == 422, damaged.text
    assert damaged.json()["error"]["type"] == "CorruptBlob"
    assert f"not {digest}" in damaged.json()["detail"]
    assert client.put(path, content=b"", headers=ALICE).status_code == 422
    assert client.app.state.layout.blobs().get(digest) == good  # type: ignore[attr-defined]


def test_a_masked_argument_is_its_data_its_mask_and_its_fill_value(client: TestClient) -> None:
    m = la.parameter("m", la.MaskedArray, dtype="float64", shape=(None,))
    document = serialize.to_dict(m * 2)
    data, mask = np.arange(4.0), np.array([False, True, False, True])
    fill = {"scalar": ["<f8", np.float64(-7.0).tobytes().hex()]}
    good = {"blob": _uploaded(client, data), "mask": _uploaded(client, mask), "fill_value": fill}
    body = {"graph": document, "arguments": {"m": good}, "format": "npz"}
    job = client.post("/v1/jobs", json=body, headers=ALICE).json()["job_id"]
    assert _wait(client, job, ALICE)["status"] == "Completed"
    result = np.load(io.BytesIO(client.get(f"/v1/jobs/{job}/result", headers=ALICE).content))
    np.testing.assert_array_equal(result["data"], data * 2)
    np.testing.assert_array_equal(result["mask"], mask)
    before = len(client.get("/v1/jobs", headers=ALICE).json()["jobs"])
    bad = [
        {**good, "mask": _uploaded(client, mask[:3])},  # not the data's shape
        {**good, "mask": _uploaded(client, mask.astype(np.int8))},  # not booleans
        {**good, "fill_value": "text"},  # not a scalar as a document writes one
        {**good, "mask": "sha256:" + "0" * 64},  # never uploaded
    ]
    for argument in bad:
        body = {"graph": document, "arguments": {"m": argument}, "format": "npz"}
        response = client.post("/v1/jobs", json=body, headers=ALICE)
        assert response.status_code == 422, (argument, response.text)
        assert response.json()["error"]["type"] == "ArgumentError", response.text
    assert len(client.get("/v1/jobs", headers=ALICE).json()["jobs"]) == before


@pytest.mark.parametrize("dtype", ["float64", "int8"])
def test_a_masked_argument_without_a_fill_value_has_numpys_default(
    client: TestClient, dtype: str
) -> None:
    """As a local ``numpy.ma.MaskedArray(data, mask)``: the result (its fill value
    too) is what a local compute gives."""
    m = la.parameter("m", la.MaskedArray, dtype=dtype, shape=(None,))
    data, mask = np.arange(4, dtype=dtype), np.array([False, True, False, True])
    argument = {"blob": _uploaded(client, data), "mask": _uploaded(client, mask)}
    body = {"graph": serialize.to_dict(m * 2), "arguments": {"m": argument}, "format": "npz"}
    response = client.post("/v1/jobs", json=body, headers=ALICE)
    assert response.status_code == 202, response.text
    job = response.json()["job_id"]
    assert _wait(client, job, ALICE)["status"] == "Completed"
    result = np.load(io.BytesIO(client.get(f"/v1/jobs/{job}/result", headers=ALICE).content))
    local = np.load(io.BytesIO((m * 2).compute(m=np.ma.MaskedArray(data, mask), format="npz")))
    for member in ("data", "mask", "fill_value"):  # 999999 wraps to 63 in int8, as numpy's
        np.testing.assert_array_equal(result[member], local[member], strict=True)
    wrong = body | {"arguments": {"m": argument | {"fill_value": [1, 2]}}}
    refused = client.post("/v1/jobs", json=wrong, headers=ALICE).json()
    assert refused["error"]["type"] == "ArgumentError"
    assert "not [1, 2]; leave it out for numpy's default" in refused["detail"]


def test_ended_jobs_are_deleted_with_their_results_after_keep_results(tmp_path: Path) -> None:
    """``keep_results``: an ended job's record and result file go that long after it
    ended (then 404)."""
    app = create_app(tmp_path / "store", "t", workers=1, keep_results=0.5)
    headers = {"Authorization": "Bearer t"}
    big = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    document = serialize.to_dict(big * 2)
    with TestClient(app) as client:
        body = {"graph": document, "arguments": {"x": list(np.arange(300_000.0))}}
        job = client.post("/v1/jobs", json=body, headers=headers).json()["job_id"]
        assert _wait(client, job, headers)["status"] == "Completed"
        results = tmp_path / "store" / "results"
        assert [p.name for p in results.iterdir()]  # over 1 MiB: kept in a file
        deadline = time.monotonic() + 20
        while client.get(f"/v1/jobs/{job}", headers=headers).status_code != 404:
            assert time.monotonic() < deadline, "the ended job was never deleted"
            time.sleep(0.1)
        assert client.get(f"/v1/jobs/{job}/result", headers=headers).status_code == 404
        assert list(results.iterdir()) == []


def test_a_failing_node_is_named_by_its_position_in_the_document(client: TestClient) -> None:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None, None))
    document = serialize.to_dict(la.linalg.inv(x) + 1.0)
    ops = [node[0] for node in document["graph"]["nodes"]]
    response = client.post(
        "/v1/jobs",
        json={"graph": document, "arguments": {"x": [[0.0, 0.0], [0.0, 0.0]]}},
        headers=ALICE,
    )
    state = _wait(client, response.json()["job_id"], ALICE)
    assert state["status"] == "Errored"
    result = client.get(f"/v1/jobs/{state['job_id']}/result", headers=ALICE)
    assert result.status_code == 409
    assert result.json()["error"]["type"] == "Conflict"
    (error,) = client.get(f"/v1/jobs/{state['job_id']}/errors", headers=ALICE).json()["errors"]
    assert error["type"] == "ComputeError" and error["op"] == "inv"
    assert error["node"] == ops.index("inv")
    assert f"node {ops.index('inv')} of the graph document" in error["message"]
    # the sites of the client's own nodes are untouched by the server's labels
    assert "test_server_app.py" in (la.linalg.inv(x)._node.site_text)


def test_jobs_are_listed_newest_first_by_status(client: TestClient) -> None:
    ids = [
        client.post(
            "/v1/jobs", json={"graph": _document(), "arguments": {"x": [[float(i)]]}}, headers=BOB
        ).json()["job_id"]
        for i in range(3)
    ]
    for job_id in ids:
        _wait(client, job_id, BOB)
    listed = client.get("/v1/jobs?limit=2", headers=BOB).json()["jobs"]
    assert [job["job_id"] for job in listed] == ids[::-1][:2]
    completed = client.get("/v1/jobs?status=Completed", headers=BOB).json()["jobs"]
    assert [job["job_id"] for job in completed] == ids[::-1]
    assert client.get("/v1/jobs?status=Running", headers=BOB).json()["jobs"] == []
    assert all(
        job["job_id"] not in ids for job in client.get("/v1/jobs", headers=ALICE).json()["jobs"]
    )
    bad = client.get("/v1/jobs?status=Sleeping", headers=BOB)
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "RequestValidationError"


def test_the_token_cookie_authorizes_reads_only(client: TestClient) -> None:
    job_id = client.post(
        "/v1/jobs", json={"graph": _document(), "arguments": {"x": [[1.0]]}}, headers=ALICE
    ).json()["job_id"]
    cookies = {"lazyarray_token": "alice-token"}
    client.cookies.update(cookies)
    try:
        assert client.get(f"/v1/jobs/{job_id}").status_code == 200
        assert client.post(f"/v1/jobs/{job_id}/cancel").status_code == 401
        assert client.post("/v1/jobs", json={"graph": _document()}).status_code == 401
    finally:
        client.cookies.clear()
    client.cookies.update({"lazyarray_token": "wrong"})
    try:
        assert client.get(f"/v1/jobs/{job_id}").status_code == 401
    finally:
        client.cookies.clear()


def test_refusals_answer_the_error_body(client: TestClient) -> None:
    unknown = client.get("/v1/jobs/" + "0" * 32, headers=ALICE)
    assert unknown.status_code == 404
    body = unknown.json()
    assert body["error"] == {"type": "NotFound", "message": body["detail"]}
    anonymous = client.get("/v1/jobs")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "Unauthorized"
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    bad = client.post("/v1/jobs", json={"graph": _document(), "format": "csv"}, headers=ALICE)
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "FormatError"


def test_a_bad_document_is_refused_before_it_is_recorded(client: TestClient) -> None:
    response = client.post(
        "/v1/jobs", json={"graph": {"format_version": 1, "graph": {}}}, headers=ALICE
    )
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "GraphFormatError"
    assert client.get("/v1/jobs", headers=ALICE).status_code == 200


def test_jobs_are_visible_only_to_their_owner(client: TestClient) -> None:
    job_id = client.post(
        "/v1/jobs", json={"graph": _document(), "arguments": {"x": [[1.0]]}}, headers=ALICE
    ).json()["job_id"]
    for path in ("", "/errors", "/result"):
        assert client.get(f"/v1/jobs/{job_id}{path}", headers=BOB).status_code == 404
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=BOB).status_code == 404


def test_every_route_but_health_and_version_needs_a_token(client: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 401
    paths = client.get("/openapi.json", headers=ALICE).json()["paths"]
    assert {"/v1/jobs", "/v1/inspect", "/v1/blobs/{digest}"} <= set(paths)
    for path, methods in paths.items():
        concrete = re.sub(r"\{[^}]*\}", "0" * 32, path)
        for method in methods:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}):
                response = client.request(method.upper(), concrete, headers=headers)
                if path in OPEN:
                    assert response.status_code == 200
                else:
                    assert response.status_code == 401, (method, path, headers)


def test_health_and_version(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/version").json()["version"] == la.__version__


def test_a_pending_job_can_be_cancelled(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path, "t", workers=0)) as client:
        headers = {"Authorization": "Bearer t"}
        job_id = client.post(
            "/v1/jobs", json={"graph": _document(), "arguments": {"x": [[1.0]]}}, headers=headers
        ).json()["job_id"]
        assert client.get(f"/v1/jobs/{job_id}", headers=headers).json()["status"] == "Pending"
        started = time.monotonic()  # a long poll of a job that does not finish: its time
        waited = client.get(f"/v1/jobs/{job_id}?wait=0.3", headers=headers).json()
        assert waited["status"] == "Pending" and time.monotonic() - started >= 0.3
        state = client.post(f"/v1/jobs/{job_id}/cancel", headers=headers).json()
        assert state["status"] == "Cancelled"


def test_a_dead_worker_is_replaced_and_jobs_still_run(client: TestClient) -> None:
    pool = client.app.state.pool  # type: ignore[attr-defined]
    victim = pool.processes[0]
    victim.kill()
    victim.join()
    deadline = time.monotonic() + 30
    while pool.processes[0] is victim and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.processes[0] is not victim
    job_id = client.post(
        "/v1/jobs", json={"graph": _document(), "arguments": {"x": [[3.0]]}}, headers=ALICE
    ).json()["job_id"]
    assert _wait(client, job_id, ALICE)["status"] == "Completed"


def test_a_job_id_is_answered_only_once_its_record_is_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission that waits for its job saves the record's sync when the job's end
    (a synced commit) comes first; one answered before the end (its wait ran out), or
    one that does not wait, is synced before the answer."""
    from lazyarray.server.store import JobStore

    synced: list[tuple[str, bool]] = []
    submit, make_durable = JobStore.submit, JobStore.make_durable

    def noted_submit(self: JobStore, *args: Any, durable: bool = True, **kwargs: Any) -> Any:
        synced.append(("submit", durable))
        return submit(self, *args, durable=durable, **kwargs)

    def noted_make_durable(self: JobStore, job_id: str) -> None:
        synced.append(("make_durable", True))
        make_durable(self, job_id)

    monkeypatch.setattr(JobStore, "submit", noted_submit)
    monkeypatch.setattr(JobStore, "make_durable", noted_make_durable)
    body = {"graph": _document(), "arguments": {"x": [[1.0, 2.0]]}}
    with TestClient(create_app(tmp_path / "store", TOKENS, workers=0)) as idle:
        created = idle.post("/v1/jobs", params={"wait": 0.05}, json=body, headers=ALICE)
        assert created.status_code == 202 and created.json()["state"]["status"] == "Pending"
        assert synced == [("submit", False), ("make_durable", True)]
        synced.clear()
        assert idle.post("/v1/jobs", json=body, headers=ALICE).status_code == 202
        assert synced == [("submit", True)]
    synced.clear()
    with TestClient(create_app(tmp_path / "store", TOKENS, workers=1)) as working:
        created = working.post("/v1/jobs", params={"wait": 30}, json=body, headers=ALICE)
        assert created.json()["state"]["status"] == "Completed", created.text
        assert synced == [("submit", False)]  # the job's end synced it


def test_an_app_served_again_takes_jobs(tmp_path: Path) -> None:
    """Its lifespan run a second time (a test server started anew): the first run's end
    marked it stopping, which must not last into the next."""
    app = create_app(tmp_path / "store", TOKENS, workers=0)
    body = {"graph": serialize.to_dict(la.arange(3.0).sum())}
    for _ in range(2):
        with TestClient(app) as again:
            answer = again.post("/v1/jobs", json=body, headers=ALICE)
            assert answer.status_code == 202, answer.text
