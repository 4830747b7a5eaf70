"""``HttpRegistry``: the registry of a lazyarray server, over its ``/v1/workflows`` routes.

Each method of the ``Registry`` protocol is one request (records travel as their
``to_dict`` JSON); the server answers errors with the ``lazyarray.errors`` class the
local registry raises (``WorkflowNotFound``, ``VersionConflict``, ``InvalidName``...),
which ``lazyarray.client`` raises here. Ids and versions are checked before they are put
in a URL. A document's large literals go up once by digest (``PUT /v1/blobs/{digest}``)
before the version that names them; they come back down through that version
(``.../versions/{version}/blobs/{digest}``), the only way the server hands out a blob.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from lazyarray import serialize
from lazyarray.errors import CorruptBlob, RegistryError, ServerError
from lazyarray.stores.blobs import VerifyingReader, check_digest, digest_of
from lazyarray.stores.names import check_workflow_id
from lazyarray.workflows import versions
from lazyarray.workflows.registry import Publication, VersionRecord, WorkflowRecord

if TYPE_CHECKING:
    from lazyarray.client import Client


class _Upload:
    """What ``HttpBlobs.writer()`` yields: the bytes written, then their digest."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.digest = ""

    def write(self, data: bytes | memoryview) -> int:
        return self.buffer.write(data)


class HttpBlobs:
    """A server's blob store as a ``BlobStore``. A blob is read only through a version
    whose document names it: ``HttpRegistry.read_document`` tells this store where."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._sources: dict[str, str] = {}  # digest -> the version route that serves it

    def put(self, data: bytes | memoryview) -> str:
        digest = digest_of(data)
        if digest not in self:  # uploaded once: a blob of that digest is that blob
            self._client.request(
                "PUT",
                f"/v1/blobs/{digest}",
                content=bytes(data),
                headers={"Content-Type": "application/octet-stream"},
            )
        return digest

    @contextlib.contextmanager
    def writer(self) -> Iterator[_Upload]:
        upload = _Upload()
        yield upload
        upload.digest = self.put(upload.buffer.getbuffer())

    def note(self, digest: str, route: str) -> None:
        """``digest`` is served at ``route`` (a version's blobs route)."""
        self._sources[check_digest(digest)] = route

    def get(self, digest: str) -> bytes:
        route = self._sources.get(check_digest(digest))
        if route is None:
            raise KeyError(digest)
        try:
            data = self._client.request("GET", route).content
        except ServerError as error:
            if error.status == 404:
                raise KeyError(digest) from None
            raise
        if digest_of(data) != digest:
            raise CorruptBlob(f"blob {digest} from {self._client.url} does not match its contents")
        return data

    def open(self, digest: str) -> BinaryIO:
        return io.BufferedReader(VerifyingReader(io.BytesIO(self.get(digest)), digest))

    def path(self, digest: str) -> Path | None:
        return None

    def __contains__(self, digest: object) -> bool:
        try:
            route = f"/v1/blobs/{check_digest(digest)}"
        except ValueError:
            return False
        try:
            self._client.request("HEAD", route)
        except ServerError as error:
            if error.status == 404:
                return False
            raise
        return True


def _workflow(id: str) -> str:
    return "/v1/workflows/" + quote(check_workflow_id(id), safe=":")


def _version(id: str, version: str) -> str:
    return f"{_workflow(id)}/versions/{quote(versions.check(version), safe='')}"


class HttpRegistry:
    """The registry of the server at ``url`` (the token: ``lazyarray.client.find_token``,
    or ``token``), or of an open ``client``."""

    def __init__(
        self, url: str | None = None, *, token: str | None = None, client: Client | None = None
    ) -> None:
        if client is None:
            from lazyarray.client import Client

            client = Client(url, token=token)
        self._client = client
        self.location = client.url
        self.blobs = HttpBlobs(client)

    def __repr__(self) -> str:
        return f"HttpRegistry({self.location!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, **kwargs: Any) -> Any:
        return self._client.json("GET", path, **kwargs)

    def publish(self, publication: Publication) -> tuple[VersionRecord, bool]:
        route = _version(publication.id, publication.version)
        response = self._client.request("PUT", route, json=publication.to_dict())
        return VersionRecord.from_dict(response.json()), response.status_code == 201

    def get_workflow(self, id: str) -> WorkflowRecord:
        return WorkflowRecord.from_dict(self._get(_workflow(id)))  # type: ignore[no-any-return]

    def list_workflows(
        self, owner: str | None = None, tag: str | None = None
    ) -> list[WorkflowRecord]:
        query = {name: value for name, value in (("owner", owner), ("tag", tag)) if value}
        found = self._get("/v1/workflows", params=query)["workflows"]
        return [WorkflowRecord.from_dict(record) for record in found]

    def update_workflow(self, id: str, changes: Mapping[str, Any]) -> WorkflowRecord:
        data = self._client.json("PATCH", _workflow(id), json=_plain(changes))
        return WorkflowRecord.from_dict(data)  # type: ignore[no-any-return]

    def list_versions(self, id: str) -> list[VersionRecord]:
        found = self._get(f"{_workflow(id)}/versions")["versions"]
        return [VersionRecord.from_dict(record) for record in found]

    def get_version(self, id: str, version: str) -> VersionRecord:
        return VersionRecord.from_dict(self._get(_version(id, version)))  # type: ignore[no-any-return]

    def update_version(self, id: str, version: str, changes: Mapping[str, Any]) -> VersionRecord:
        data = self._client.json("PATCH", _version(id, version), json=_plain(changes))
        return VersionRecord.from_dict(data)  # type: ignore[no-any-return]

    def delete_version(self, id: str, version: str) -> None:
        self._client.request("DELETE", _version(id, version))

    def read_document(self, record: VersionRecord) -> dict[str, Any]:
        route = _version(record.id, record.version)
        document: dict[str, Any] = serialize.loads(
            self._client.request("GET", f"{route}/document").content
        )
        found = serialize.graph_digest(document)
        if found != record.graph_digest:
            raise RegistryError(
                f"the document of {record.id} {record.version} from {self.location} holds "
                f"the graph {found}, not the one published ({record.graph_digest})"
            )
        for digest in serialize.blob_references(document):
            self.blobs.note(digest, f"{route}/blobs/{digest}")
        return document


def _plain(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Changes as JSON values (tags may come as a tuple or a set)."""
    return {
        name: sorted(value) if isinstance(value, (set, frozenset)) else value
        for name, value in changes.items()
    }


_OPEN: dict[tuple[str, str | None], HttpRegistry] = {}  # one connection pool per server
_OPENING = threading.Lock()


def open_http(location: str, create: bool) -> HttpRegistry:
    """The opener of ``http://`` and ``https://`` registries: one per URL and token,
    kept open (a server's registry always exists: ``create`` changes nothing)."""
    from lazyarray.client import find_token, server_url

    url = server_url(location)
    key = (url, find_token(url=url))
    with _OPENING:
        found = _OPEN.get(key)
        if found is None:
            found = _OPEN[key] = HttpRegistry(key[0], token=key[1])
        return found


@atexit.register
def _close_all() -> None:
    with _OPENING:
        while _OPEN:
            _OPEN.popitem()[1].close()
