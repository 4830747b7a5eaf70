"""Workflows on a server: the registry suite and the core workflow cases run again over
HTTP (``registry="http://..."``) against a real server (uvicorn on a free loopback port,
one per module), plus what only a server has: owners, calls as jobs, hostile URLs."""

from __future__ import annotations

import base64
import dataclasses
import http.client
import io
import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

import lazyarray as la  # noqa: E402
from lazyarray import serialize  # noqa: E402
from lazyarray.client import Client, ServerUnreachable  # noqa: E402
from lazyarray.errors import (  # noqa: E402
    ArgumentError,
    GraphFormatError,
    InvalidName,
    Unauthorized,
    VersionNotFound,
    WorkflowNotFound,
)
from lazyarray.server import create_app  # noqa: E402
from lazyarray.stores.blobs import FolderBlobs, MemoryBlobs  # noqa: E402
from lazyarray.workflows import Registry  # noqa: E402
from lazyarray.workflows.http import HttpRegistry  # noqa: E402
from tests import kit  # noqa: E402
from tests.server_kit import JSON_VALUES, ThreadedServer, wait_finished  # noqa: E402

# the interface suite and the core cases of publish/use, collected here once more, with
# this module's ``store`` and ``registry`` fixtures: a server's registry
from tests.test_registry import (  # noqa: E402, F401
    publication,
    test_an_implementation_is_a_registry,
    test_conflicts_and_deletions_through_the_interface,
    test_ids_are_checked_where_they_meet_storage,
    test_publish_creates_once_and_reads_back,
    test_records_travel_as_json,
    test_updates_through_the_interface,
)
from tests.test_workflows import (  # noqa: E402, F401
    COUNT,
    ID,
    T,
    X,
    publish_count,
    test_a_deleted_version_is_gone_and_its_number_never_reused,
    test_a_graph_running_python_code_is_not_published,
    test_a_new_version_may_replace_metadata_and_keeps_what_is_not_given,
    test_a_published_expression_is_used_as_a_function,
    test_a_version_holds_its_metadata,
    test_bad_ids_are_refused_everywhere,
    test_bad_metadata_is_refused_before_anything_is_written,
    test_bad_versions_are_refused_everywhere,
    test_calls_of_a_version_are_cached_like_any_compute,
    test_masked_parameters_are_published_as_declared,
    test_only_lazy_arrays_and_functions_are_published,
    test_only_prereleases_are_never_chosen_unnamed,
    test_publishing_another_graph_under_a_version_is_a_conflict,
    test_the_json_of_a_version_lists_its_arguments,
    test_the_used_graph_is_the_published_graph,
    test_unknown_workflows_and_versions_are_typed_errors,
    test_version_docstrings_and_labels_may_change_graphs_never,
    test_versions_are_sorted_by_semver_and_none_means_the_latest_release,
    test_workflow_metadata_is_kept_and_may_change,
    test_x_publish_and_workflows_publish_are_one,
)

TOKENS = {"alice-token": "alice", "bob-token": "bob"}


class Server(ThreadedServer):
    """A lazyarray server over ``store`` running in a thread of this process."""

    def __init__(self, store: Path) -> None:
        self.store = store
        super().__init__(create_app(store, TOKENS, workers=1))

    def empty_registry(self) -> None:
        """Forgets every workflow (between tests: one server serves the module)."""
        database = sqlite3.connect(self.store / "registry" / "registry.sqlite")
        with database:
            for table in ("tags", "versions", "workflows"):
                database.execute(f"DELETE FROM {table}")
        database.close()


@pytest.fixture(params=["numpy", "dask"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend once: the registry is what differs here (test_workflows runs the
    same cases in every execution mode over a folder registry)."""
    return str(request.param)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("store")) as running:
        yield running


@pytest.fixture(scope="module")
def alice(server: Server) -> Iterator[Client]:
    """A connection speaking for alice, without a registry around it."""
    with Client(server.url, token="alice-token") as client:
        yield client


@pytest.fixture
def published(server: Server) -> str:
    """alice:x 1.0.0 and 2.0.0-rc.1 are published (for requests that need a version)."""
    server.empty_registry()
    with HttpRegistry(server.url, token="alice-token") as alice:
        (X * 2.0).publish("alice:x", "1.0.0", registry=alice)
        (X * 3.0).publish("alice:x", "2.0.0-rc.1", registry=alice)
    return "alice:x"


@pytest.fixture
def registry(server: Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """The server's URL, as ``registry=`` takes it; the client speaks for alice."""
    server.empty_registry()
    monkeypatch.setenv("LAZYARRAY_TOKEN", "alice-token")
    return server.url


@pytest.fixture
def store(registry: str) -> Iterator[Registry]:
    with HttpRegistry(registry, token="alice-token") as opened:
        yield opened


@pytest.fixture
def bob(registry: str) -> Iterator[HttpRegistry]:
    """The server's registry as bob sees it."""
    with HttpRegistry(registry, token="bob-token") as opened:
        yield opened


def _wait(client: Client, job_id: str) -> dict[str, Any]:
    return wait_finished(lambda job: client.json("GET", f"/v1/jobs/{job}"), job_id)


# --- owners ----------------------------------------------------------------------------------


def test_only_the_owner_publishes_and_changes_a_workflow(
    server: Server, registry: str, bob: HttpRegistry
) -> None:
    with pytest.raises(Unauthorized, match="belongs to 'alice'"):
        COUNT.publish(ID, "1.0.0", parameters=["x", "threshold"], registry=bob)
    publish_count(registry, title="Alice's")
    with pytest.raises(Unauthorized):
        la.Workflow.get(ID, registry=bob).update(title="Bob's")
    with pytest.raises(Unauthorized):
        la.Workflow.get(ID, registry=bob).delete_version("1.0.0")
    with pytest.raises(Unauthorized):
        la.Workflow.get(ID, registry=bob).get_version("1.0.0").update(docstring="Bob's")
    # reading and using are anyone's with a token
    assert la.Workflow.get(ID, registry=bob).title == "Alice's"
    assert la.use(ID, registry=bob)([0.1, 0.9], 0.5).compute() == 1
    X.sum().publish("bob:total", "1.0.0", tags=["sums"], registry=bob)
    assert [w.id for w in la.workflows.list(registry=registry)] == [ID, "bob:total"]
    assert [w.id for w in la.workflows.list(registry=bob, owner="alice")] == [ID]
    assert [w.id for w in la.workflows.list(registry=registry, tag="sums")] == ["bob:total"]
    with HttpRegistry(server.url, token="wrong") as stranger, pytest.raises(Unauthorized):
        stranger.list_workflows()


def test_the_registry_option_may_name_a_server(registry: str) -> None:
    with la.config.set(registry=registry):
        publish_count(registry=None)  # type: ignore[arg-type]
        assert la.use(ID).name == f"{ID}@1.0.0"
        assert [w.id for w in la.workflows.list()] == [ID]
        assert la.Workflow.get(ID).registry.location == registry


def test_the_command_line_takes_a_servers_url(
    registry: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from lazyarray import cli

    publish_count(registry, title="Count above")
    assert cli.main(["workflows", "list", "--json", "--registry", registry]) == 0
    assert [w["id"] for w in json.loads(capsys.readouterr().out)] == [ID]
    output = tmp_path / "count.npy"
    arguments = ["--arg", "x=[0.1, 0.7, 0.9]", "--arg", "threshold=0.5", "--output", str(output)]
    assert cli.main(["run", ID, *arguments, "--registry", registry]) == 0
    assert np.load(output) == 2
    # with the remote backend, the registry's server computes it (not 127.0.0.1:8700)
    with Client(registry, token="alice-token") as alice:
        before = len(alice.json("GET", "/v1/jobs")["jobs"])
        remotely = ["run", ID, *arguments, "--registry", registry, "--backend", "remote"]
        assert cli.main(remotely) == 0, capsys.readouterr().err
        assert np.load(output) == 2
        other = [a.replace("threshold=0.5", "threshold=0.8") for a in arguments]
        assert cli.main(["run", ID, *other, "--registry", registry, "--server", registry]) == 0
        assert np.load(output) == 1
        assert len(alice.json("GET", "/v1/jobs")["jobs"]) == before + 2
    assert cli.main(["workflows", "delete", ID, "1.0.0", "--registry", registry]) == 0
    assert la.Workflow.get(ID, registry=registry).versions == ()


def test_an_unreachable_server_is_a_transient_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(ServerUnreachable, match="no answer"):
        la.workflows.list(registry=url)


def test_an_expression_without_parameters_is_used_as_an_array(registry: str) -> None:
    table = la.Array(np.arange(12.0).reshape(3, 4)).mean(axis=0)
    table.publish("alice:means", "0.1.0", registry=registry)
    used = la.use("alice:means", registry=registry)
    assert isinstance(used, la.Array)
    kit.assert_exact(used.compute(), np.arange(12.0).reshape(3, 4).mean(axis=0))


# --- what the server checks ------------------------------------------------------------------


def test_a_document_must_hold_the_graph_it_names(store: Registry) -> None:
    lying = publication(store, X * 2.0, graph_digest=(X * 3.0).node.digest)
    with pytest.raises(GraphFormatError, match="not the one named by graph_digest"):
        store.publish(lying)
    with pytest.raises(ArgumentError, match="parameters are"):
        store.publish(publication(store, la.Array(np.ones(3)) * 2.0))
    broken = publication(store, X * 2.0)
    broken = type(broken).from_dict(broken.to_dict() | {"document": {"format": "nonsense"}})
    with pytest.raises(GraphFormatError):
        store.publish(broken)
    with pytest.raises(WorkflowNotFound):
        store.get_workflow(ID)


def _malformed(good: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Publication bodies broken one field at a time, and PATCH bodies."""
    for field, values in {
        "document": [None, [], "x", {"format": 99}, {**good["document"], "graph": []}],
        "arguments": [None, {}, [1], [{"name": "x"}], [{**good["arguments"][0], "shape": 5}]],
        "result": [None, [], {"dtype": "<f4", "shape": [None], "masked": False}],
        "graph_digest": [None, 5, ""],
        "docstring": [None, 5],
        "version_labels": [None, {"a": [1]}, {"a": None}],
        "title": [5, "two\nlines"],
        "labels": ["x", {"": 1}],
        "tags": ["stats", [5], [" padded"]],
        "id": ["alice:other", 5],
        "version": ["2.0.0", None],
    }.items():
        for value in values:
            yield "PUT", {**good, field: value}
    yield "PUT", {key: value for key, value in good.items() if key != "document"}
    yield "PUT", []
    for changes in ({"title": 5}, {"labels": "x"}, {"nope": 1}, {"tags": [1]}, []):
        yield "PATCH", changes


def test_malformed_bodies_are_refused_with_typed_4xx(store: Registry, server: Server) -> None:
    good = publication(store, X * 2.0).to_dict()
    route = f"/v1/workflows/{good['id']}"
    with Client(server.url, token="alice-token") as client:
        for method, body in _malformed(good):
            path = f"{route}/versions/1.0.0" if method == "PUT" else route
            answer = client._http.request(method, path, json=body)
            assert 400 <= answer.status_code < 500, (method, body, answer.text)
            assert answer.json()["error"]["type"], answer.text
        assert client._http.put(f"{route}/versions/1.0.0", json=good).status_code == 201
        for method, body in _malformed(good):
            if method == "PATCH":
                answer = client._http.request(method, route, json=body)
                assert answer.status_code == 422, (body, answer.text)
    assert store.get_version(good["id"], "1.0.0").graph_digest == (X * 2.0).node.digest


PARTS = st.sampled_from(["alice:x", "bob:y", "Alice:x", "alice:..", "x", "alice:x%00", ":"])
VERSIONS = st.sampled_from(["1.0.0", "latest", "1.0", "v1", "1.0.0+b", "..", "2.0.0-rc.1"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=st.sampled_from(["PUT", "PATCH", "POST", "GET", "DELETE"]),
    workflow=PARTS,
    version=VERSIONS,
    body=JSON_VALUES,
)
def test_no_request_to_the_workflow_routes_is_a_server_error(
    alice: Client, published: str, method: str, workflow: str, version: str, body: Any
) -> None:
    path = f"/v1/workflows/{workflow}/versions/{version}" + ("/call" if method == "POST" else "")
    answer = alice._http.request(method, path, json=body)
    assert answer.status_code < 500, answer.text


def test_a_literal_blob_must_be_uploaded_first(store: Registry) -> None:
    weights = np.random.default_rng(2).normal(size=20_000)  # 160 kB: a blob
    document = serialize.to_dict(X * la.Array(weights), blobs=MemoryBlobs())
    scaled = X * la.Array(weights)
    entry = dataclasses.replace(
        publication(store, X * 2.0), document=document, graph_digest=scaled.node.digest
    )
    with pytest.raises(GraphFormatError, match="blob"):
        store.publish(entry)


def _raw(server: Server, method: str, path: str, token: str = "alice-token") -> int:
    """The status of a request sent with its path exactly as written (no client
    normalizes it)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.putheader("Authorization", f"Bearer {token}")
        connection.putheader("Content-Type", "application/json")
        body = b'{"docstring": "x"}'
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path",
    [
        "/v1/workflows/..%2f..%2fetc:passwd",
        "/v1/workflows/alice:..%2f..%2fx/versions/1.0.0",
        "/v1/workflows/alice:%2e%2e/versions/1.0.0",
        "/v1/workflows/alice:x%00y/versions/1.0.0",
        "/v1/workflows/alice%3a..%5cx/versions/1.0.0",
        "/v1/workflows/../../etc/passwd",
        "/v1/workflows/alice:x/versions/..%2f..%2fregistry.sqlite",
        "/v1/workflows/alice:x/versions/1.0.0%00",
        "/v1/workflows/alice:%D0%B0x",
        "/v1/workflows/Alice:x",
    ],
)
def test_hostile_ids_in_urls_are_refused(server: Server, registry: str, path: str) -> None:
    before = sorted(p.relative_to(server.store.parent) for p in server.store.parent.rglob("*"))
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        assert _raw(server, method, path) in (404, 405, 422), (method, path)
    after = sorted(p.relative_to(server.store.parent) for p in server.store.parent.rglob("*"))
    assert [p for p in after if p not in before and "registry" not in p.parts] == []


def test_refusals_name_the_error_and_hide_the_servers_folders(
    server: Server, registry: str
) -> None:
    with Client(server.url, token="alice-token") as client:
        response = client._http.get("/v1/workflows/alice:nope")
        bad = client._http.get("/v1/workflows/alice:x/versions/v1")
    assert response.status_code == 404
    body = response.json()
    assert body["error"]["type"] == "WorkflowNotFound"
    assert str(server.store) not in response.text
    assert (bad.status_code, bad.json()["error"]["type"]) == (422, "InvalidVersion")
    with pytest.raises(InvalidName):
        la.Workflow.get("alice:x%2fy", registry=registry)


# --- calls -----------------------------------------------------------------------------------


def test_a_call_runs_as_a_job_and_equals_the_local_result(server: Server, registry: str) -> None:
    publish_count(registry, "1.0.0")
    (X < T).sum().publish(ID, "0.9.0", parameters=["x", "threshold"], registry=registry)
    data = np.random.default_rng(3).normal(size=1000)
    expected = la.use(ID, registry=registry)(data, 0.25).compute()
    assert expected == (data > 0.25).sum()
    blobs = FolderBlobs(server.store / "blobs")  # as PUT /v1/blobs would store it
    buffer = io.BytesIO()
    np.save(buffer, data, allow_pickle=False)
    digest = blobs.put(buffer.getvalue())
    with Client(server.url, token="bob-token") as bob:  # anyone with a token calls
        for version, x in (("latest", data.tolist()), ("1.0.0", {"blob": digest, "format": "npy"})):
            job_id = bob.json(
                "POST",
                f"/v1/workflows/{ID}/versions/{version}/call",
                json={"arguments": {"x": x, "threshold": 0.25}},
            )["job_id"]
            state = _wait(bob, job_id)
            assert state["status"] == "Completed", bob.json("GET", f"/v1/jobs/{job_id}/errors")
            result = bob.request("GET", f"/v1/jobs/{job_id}/result", params={"format": "npy"})
            kit.assert_exact(np.load(io.BytesIO(result.content)), np.asarray(expected))
        # one request: the call waits for the job's end, its small result in the answer
        answer = bob.json(
            "POST",
            f"/v1/workflows/{ID}/versions/1.0.0/call",
            json={"arguments": {"x": data.tolist(), "threshold": 0.25}},
            params={"wait": 30, "inline": "true"},
        )
        assert (
            answer["state"]["status"] == "Completed"
            and answer["state"]["job_id"] == answer["job_id"]
        )
        inline = base64.b64decode(answer["state"]["inline_result"]["base64"])
        kit.assert_exact(np.load(io.BytesIO(inline)), np.asarray(expected))
        # JSON numbers are Python numbers, weak as a local call's: ints fill uint8
        counts = la.parameter("counts", la.Array, dtype="uint8")
        counts.sum(dtype="int64").publish("alice:u8sum", "1.0.0", registry=registry)
        called = bob.json(
            "POST",
            "/v1/workflows/alice:u8sum/versions/1.0.0/call",
            json={"arguments": {"counts": [1, 2, 250]}},
            params={"wait": 30, "inline": "true"},
        )
        assert called["state"]["status"] == "Completed", called
        inline = base64.b64decode(called["state"]["inline_result"]["base64"])
        kit.assert_exact(np.load(io.BytesIO(inline)), np.int64(253))
        # a call is submitted as any job is: once per submission id
        body = {"arguments": {"x": [0.5, 1.0], "threshold": 0.75}, "submission_id": "s1"}
        route = f"/v1/workflows/{ID}/versions/1.0.0/call"
        assert bob.json("POST", route, json=body) == bob.json("POST", route, json=body)
        # the job is bob's, not alice's
        with (
            Client(server.url, token="alice-token") as alice,
            pytest.raises(la.errors.ServerError, match="no job"),
        ):
            alice.json("GET", f"/v1/jobs/{job_id}")


def test_a_call_with_wrong_arguments_or_version_is_refused(server: Server, registry: str) -> None:
    publish_count(registry, "1.0.0-rc.1")
    with Client(server.url, token="alice-token") as client:
        route = f"/v1/workflows/{ID}/versions"
        with pytest.raises(ArgumentError, match="missing threshold; unexpected y"):
            client.json("POST", f"{route}/1.0.0-rc.1/call", json={"arguments": {"x": [1], "y": 2}})
        with pytest.raises(VersionNotFound, match="no released version"):
            client.json("POST", f"{route}/latest/call", json={"arguments": {}})
        with pytest.raises(VersionNotFound):
            client.json("POST", f"{route}/2.0.0/call", json={"arguments": {}})
        with pytest.raises(WorkflowNotFound):
            client.json("POST", "/v1/workflows/alice:nope/versions/latest/call", json={})
        buffer = io.BytesIO()  # an .npy blob short of the data its header declares
        np.save(buffer, np.arange(1000.0), allow_pickle=False)
        short = FolderBlobs(server.store / "blobs").put(buffer.getvalue()[:-4000])
        with pytest.raises(ArgumentError, match=r"argument 'x': blob .* holds 4000 bytes"):
            client.json(
                "POST",
                f"{route}/1.0.0-rc.1/call",
                json={"arguments": {"x": {"blob": short}, "threshold": 1}},
            )
    with Client(server.url, token="") as anonymous, pytest.raises(Unauthorized):
        anonymous.json("POST", f"{route}/1.0.0-rc.1/call", json={"arguments": {}})


# --- large literals ----------------------------------------------------------------------------


def test_large_literals_go_up_once_and_come_back_through_their_version(
    server: Server, registry: str
) -> None:
    weights = np.random.default_rng(1).normal(size=300_000)  # 2.4 MB: a blob
    (X * la.Array(weights)).sum().publish("alice:dot", "1.0.0", registry=registry)
    files = sorted((server.store / "blobs").rglob("*"))
    (X * la.Array(weights)).publish("alice:scale", "1.0.0", registry=registry)
    big = [p for p in (server.store / "blobs").rglob("*") if p.is_file()]
    assert sorted((server.store / "blobs").rglob("*")) == files  # the blob was there already
    assert sum(p.stat().st_size > weights.nbytes for p in big) == 1
    scale = la.use("alice:scale", registry=registry)
    kit.assert_exact(scale(x=np.ones(300_000)).compute(), weights * 1.0)
    opened = la.workflows.open_registry(registry)
    document = opened.read_document(opened.get_version("alice:scale", "1.0.0"))
    digest = serialize.blob_references(document)[0]
    with Client(server.url, token="bob-token") as bob:
        route = "/v1/workflows/alice:scale/versions/1.0.0/blobs"
        assert len(bob.request("GET", f"{route}/{digest}").content) > weights.nbytes
        with pytest.raises(la.errors.ServerError) as found:  # only the blobs it names
            bob.request("GET", f"{route}/sha256:{'0' * 64}")
        assert found.value.status == 404


def test_a_call_is_answered_in_the_format_that_holds_its_result(
    server: Server, registry: str
) -> None:
    m = la.parameter("m", la.MaskedArray, dtype="float64")
    m.sum().publish("alice:msum", "1.0.0", registry=registry)
    value = np.ma.MaskedArray([1.0, 2.0, 4.0], mask=[False, True, False])
    blobs = FolderBlobs(server.store / "blobs")  # as PUT /v1/blobs would store them
    uploaded: dict[str, Any] = {}
    for name, array in (("blob", value.data), ("mask", value.mask)):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        uploaded[name] = blobs.put(buffer.getvalue())
    uploaded["fill_value"] = {"scalar": ["<f8", np.float64(1e20).tobytes().hex()]}
    route = "/v1/workflows/alice:msum/versions/1.0.0/call"
    with Client(server.url, token="alice-token") as client:
        job_id = client.json("POST", route, json={"arguments": {"m": uploaded}})["job_id"]
        assert _wait(client, job_id)["status"] == "Completed"
        result = client.request("GET", f"/v1/jobs/{job_id}/result")
        assert result.headers["content-type"] == "application/x-npz"
        with np.load(io.BytesIO(result.content)) as found:
            assert found["data"] == value.sum() and not found["mask"]
        # a bad argument is refused as one, whatever the format
        with pytest.raises(ArgumentError):
            client.json("POST", route, json={"arguments": {"m": [[1.0], 2.0]}, "format": "npy"})
