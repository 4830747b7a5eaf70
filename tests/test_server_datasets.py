"""Datasets on a server: versions created from uploaded ``.npy`` blobs, listed, queried
by tag and by uid, tags moved by their namespace's owner only, shards downloaded; and
graphs naming dataset sources resolved against the server's catalog (an unknown uid
refused naming it, a source by URL refused unless the server is trusted)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("zarr")

from lazyarray.datasets import Catalog  # noqa: E402
from lazyarray.server import create_app  # noqa: E402
from tests.server_kit import ThreadedServer, wait  # noqa: E402

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
X = np.arange(30.0).reshape(10, 3)
Y = np.arange(10, dtype=np.int64)
HAS_SOURCES = importlib.util.find_spec("lazyarray.datasets.sources") is not None
needs_sources = pytest.mark.skipif(
    not HAS_SOURCES, reason="lazyarray.datasets.sources (the lazy source reader) is not here"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def server(store: Path) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(store, TOKENS, workers=1)) as running:
        yield running


def client(server: ThreadedServer, token: str = "alice-token") -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30.0)


def upload(http: httpx.Client, array: np.ndarray) -> dict[str, str]:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype == object)
    data = buffer.getvalue()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.put(f"/v1/blobs/{digest}", content=data).status_code in (200, 201)
    return {"blob": digest}


def create(http: httpx.Client, name: str, **body: Any) -> httpx.Response:
    splits = body.pop("splits", None) or {
        "train": {"x": upload(http, X), "y": upload(http, Y)},
        "test": {"x": upload(http, X[:2]), "y": upload(http, Y[:2])},
    }
    return http.post(f"/v1/datasets/alice/{name}", json={"splits": splits, **body})


def test_a_version_is_created_listed_and_queried(server: ThreadedServer) -> None:
    with client(server) as http:
        made = create(http, "points", tag="v1", description="ten points")
        assert made.status_code == 201, made.text
        version = made.json()
        uid = version["uid"]
        assert version["splits"]["train"]["rows"] == 10
        fields = {f["name"]: f for f in version["splits"]["train"]["fields"]}
        assert fields["x"]["shape"] == [10, 3] and fields["x"]["dtype"] == "<f8"
        assert http.get("/v1/datasets/alice/points/tags/v1").json()["uid"] == uid
        assert http.get("/v1/datasets/alice/points/tags/latest").json()["uid"] == uid
        assert http.get(f"/v1/dataset-versions/{uid}").json()["description"] == "ten points"
        listed = http.get("/v1/datasets").json()["datasets"]
        assert {"namespace": "alice", "name": "points",
                "tags": {"latest": uid, "v1": uid}} in listed  # fmt: skip
        assert http.get("/v1/datasets", params={"namespace": "bob"}).json() == {"datasets": []}
        second = create(http, "points", tag="v2").json()["uid"]
        described = http.get("/v1/datasets/alice/points").json()
        assert [v["uid"] for v in described["versions"]] == [uid, second]
        assert described["tags"] == {"latest": second, "v1": uid, "v2": second}
        moved = http.put("/v1/datasets/alice/points/tags/latest", json={"uid": uid})
        assert moved.status_code == 200 and moved.json()["uid"] == uid
    # what the server wrote is a catalog like any other
    local = Catalog(server.app.state.layout.catalog_folder).query("alice", "points", "v2")
    np.testing.assert_array_equal(local.read("train", "x"), X)


def test_a_shard_downloads_as_npz(server: ThreadedServer) -> None:
    with client(server) as http:
        uid = create(http, "sharded").json()["uid"]
        answer = http.get(f"/v1/dataset-versions/{uid}/splits/train/shard",
                          params={"chunk": 1, "nchunks": 3})  # fmt: skip
        assert answer.status_code == 200
        columns = np.load(io.BytesIO(answer.content))
        np.testing.assert_array_equal(columns["x"], X[3:6])
        np.testing.assert_array_equal(columns["y"], Y[3:6])
        bad = http.get(f"/v1/dataset-versions/{uid}/splits/train/shard",
                       params={"chunk": 3, "nchunks": 3})  # fmt: skip
        assert bad.status_code == 422 and bad.json()["error"]["type"] == "InvalidShard"
        assert "[0, 3)" in bad.json()["detail"]


def test_only_the_namespace_owner_creates_and_tags(server: ThreadedServer) -> None:
    with client(server) as alice, client(server, "bob-token") as bob:
        uid = create(alice, "owned").json()["uid"]
        refused = bob.post("/v1/datasets/alice/theirs",
                           json={"splits": {"s": {"x": upload(bob, Y)}}})  # fmt: skip
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "Unauthorized"
        moved = bob.put("/v1/datasets/alice/owned/tags/latest", json={"uid": uid})
        assert moved.status_code == 403
        assert bob.get("/v1/datasets/alice/owned/tags/latest").json()["uid"] == uid  # reads: ok
    stranger = httpx.get(f"{server.url}/v1/datasets", headers={"Authorization": "Bearer no"})
    assert stranger.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("GET", "/v1/datasets/alice/nothing/tags/latest", 404, "DatasetNotFound"),
        ("GET", "/v1/datasets/alice/nothing", 404, "DatasetNotFound"),
        ("GET", f"/v1/dataset-versions/{'0' * 64}", 404, "DatasetNotFound"),
        ("GET", "/v1/dataset-versions/%2e%2e", 422, "InvalidName"),
        ("GET", "/v1/datasets/Alice/x/tags/latest", 422, "InvalidName"),
        ("GET", "/v1/datasets/alice/x/tags/%2e%2e", 422, "InvalidName"),
        ("GET", "/v1/datasets/alice/x/tags/a%5Cb", 422, "InvalidName"),
        ("GET", "/v1/datasets/alice/%2e%2e/tags/latest", 422, "InvalidName"),
        ("GET", "/v1/datasets?namespace=a%00b", 422, "InvalidName"),
    ],
)
def test_unknown_and_hostile_names_are_refused(
    server: ThreadedServer, method: str, path: str, status: int, error: str
) -> None:
    with client(server) as http:
        answer = http.request(method, path)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["type"] == error
    assert str(server.app.state.layout.root) not in answer.text  # no server paths shown


def test_bad_bodies_are_refused_before_anything_is_written(server: ThreadedServer) -> None:
    with client(server) as http:
        missing = create(http, "bad", splits={"s": {"x": {"blob": "sha256:" + "1" * 64}}})
        assert missing.status_code == 422 and "upload the field's .npy" in missing.text
        pickled = create(http, "bad", splits={"s": {"x": upload(http, np.array([{}, 1]))}})
        assert pickled.status_code == 422 and "not a plain .npy" in pickled.text
        ragged = create(http, "bad", splits={"s": {"x": upload(http, X), "y": upload(http, Y[:3])}})
        assert ragged.status_code == 422 and ragged.json()["error"]["type"] == "ShapeError"
        escaping = create(http, "bad", splits={"../s": {"x": upload(http, Y)}})
        assert escaping.status_code == 422 and escaping.json()["error"]["type"] == "InvalidName"
        assert http.get("/v1/datasets/alice/bad").status_code == 404


# --- graphs that read datasets (needs lazyarray.datasets.sources) ---------------------------


def _document(array: Any) -> dict[str, Any]:
    from lazyarray import serialize

    return json.loads(serialize.to_json(array))  # type: ignore[no-any-return]


@needs_sources
def test_a_graph_reading_a_dataset_runs_against_the_servers_catalog(
    server: ThreadedServer,
) -> None:
    with client(server) as http:
        uid = create(http, "graphs").json()["uid"]
        # the client names the dataset by uid; here it opens it where the server keeps it
        catalog = Catalog(server.app.state.layout.catalog_folder)
        x = catalog.version(uid).array("train", "x")
        job = http.post("/v1/jobs", json={"graph": _document(x[2:5] * 2.0), "format": "npy"})
        assert job.status_code == 202, job.text
        assert wait(http, job.json()["job_id"])["status"] == "Completed"
        result = http.get(f"/v1/jobs/{job.json()['job_id']}/result")
        np.testing.assert_array_equal(np.load(io.BytesIO(result.content)), X[2:5] * 2.0)
        # an unknown uid is refused, named
        unknown = "f" * 64
        text = json.dumps(_document(x * 2.0)).replace(uid, unknown)
        refused = http.post("/v1/jobs", json={"graph": json.loads(text), "format": "npy"})
        assert refused.status_code == 422 and unknown in refused.json()["detail"]


@needs_sources
def test_a_source_by_url_is_refused_by_an_untrusted_server(
    server: ThreadedServer, tmp_path: Path
) -> None:
    import zarr

    from lazyarray.datasets.sources import open_source

    stored = zarr.open_array(str(tmp_path / "a.zarr"), mode="w", shape=(4,), dtype="f8")
    stored[:] = 1.0
    x = open_source("zarr", str(tmp_path / "a.zarr"))
    with client(server) as http:
        refused = http.post("/v1/jobs", json={"graph": _document(x + 1.0), "format": "npy"})
    assert refused.status_code == 422
    assert refused.json()["error"]["type"] == "UntrustedContent"
    assert "--trusted" in refused.json()["detail"]
