"""One lazyarray server as seen by this process: its URL and token, the connections
(one per retry budget), the blobs already uploaded to it and the documents already
written for it. A ``Session`` is a ``JobSource``: ``AsyncJob.from_id(id, client=session)``
reopens a job by id, from any process."""

from __future__ import annotations

import collections
import hashlib
import re
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from lazyarray.client import Client, Retries, server_url
from lazyarray.errors import JobNotFound, ServerError

if TYPE_CHECKING:
    import httpx

    from lazyarray_remote.documents import Submission
    from lazyarray_remote.jobs import RemoteJob

# what a job id can be (a server's are hex): one segment of a URL's path, never a route
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class Session:
    """A server's URL and token (``lazyarray.client`` finds both when not given)."""

    def __init__(
        self,
        server: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = server_url(server)
        self._token = token
        self._transport = transport
        self._timeout = timeout
        self._clients: dict[int, Client] = {}
        self._lock = threading.Lock()
        # digests the server holds: each blob is uploaded once per session
        self.uploaded: set[str] = set()
        self.uploads = 0  # blobs sent (PUT) so far
        self.documents = Documents()

    def client(self, retries: int = 0) -> Client:
        """The connection that retries each request's transient failures ``retries``
        times, then raises ``RetryError`` (which nothing retries again)."""
        with self._lock:
            found = self._clients.get(retries)
            if found is None:
                found = self._clients[retries] = Client(
                    self.url,
                    self._token,
                    retries=Retries(retries),
                    timeout=self._timeout,
                    transport=self._transport,
                    retry_error=True,
                )
            return found

    def upload(
        self,
        parts: Sequence[bytes | memoryview],
        digest: str | None = None,
        retries: int = 0,
    ) -> str:
        """Makes sure the server holds the blob made of ``parts`` (bytes, or views of an
        array's memory: sent from there, never joined into one copy): asked once (HEAD),
        sent only if absent (PUT, checked by the server against the digest); returns
        its name."""
        if digest is None:
            hasher = hashlib.sha256()
            for part in parts:
                hasher.update(part)
            digest = "sha256:" + hasher.hexdigest()
        if digest in self.uploaded:
            return digest
        client = self.client(retries)
        path = f"/v1/blobs/{digest}"
        try:
            client.request("HEAD", path)
        except ServerError as error:
            if error.status != 404:
                raise
            size = sum(memoryview(part).nbytes for part in parts)
            client.request(
                "PUT",
                path,
                content=_Body(parts),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )
            self.uploads += 1
        self.uploaded.add(digest)
        return digest

    def get_job(self, job_id: str) -> RemoteJob:
        """The job ``job_id`` of this token's owner; ``JobNotFound`` if there is none."""
        from lazyarray_remote.jobs import RemoteJob

        if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
            shown = repr(job_id) if len(str(job_id)) <= 64 else f"{str(job_id)[:64]!r}..."
            raise JobNotFound(f"no job {shown}: a job id is 1 to 128 letters, digits, '_' or '-'")
        job = RemoteJob(self, job_id)
        job.status()  # raises JobNotFound for an unknown id (or another owner's job)
        return job

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<lazyarray_remote.Session {self.url}>"


def not_found(error: ServerError, job_id: str) -> Exception:
    return JobNotFound(f"no job {job_id!r} on this server for this token")


class _Body:
    """A request body of parts, iterable again for each retry of the request."""

    def __init__(self, parts: Sequence[bytes | memoryview]) -> None:
        self._parts = parts

    def __iter__(self) -> Iterator[bytes]:
        for part in self._parts:
            yield part if isinstance(part, bytes) else part.tobytes()


class Documents:
    """The last few documents written, by their outputs' digests (graphs whose data
    cannot change only): a graph computed again is sent without writing it again."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._kept: collections.OrderedDict[tuple[str, ...], Submission] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Submission | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: tuple[str, ...], made: Submission) -> None:
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
