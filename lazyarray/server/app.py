"""The HTTP application: routes under ``/v1`` over a store folder (``docs/server.md``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.responses import FileResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from lazyarray.errors import (
    CorruptBlob,
    DocumentTooLarge,
    JobTimeoutError,
    LazyArrayError,
    ResourceExhausted,
)
from lazyarray.jobs import JobStatus
from lazyarray.server import dataset_routes, warned, workflow_routes
from lazyarray.server.auth import COOKIE, owner_of, owner_of_token, request_owner, token_table
from lazyarray.server.checks import MEDIA, RequestChecks, described
from lazyarray.server.ended import Ended
from lazyarray.server.inspection import inspected
from lazyarray.server.layout import Layout
from lazyarray.server.limits import BodyLimit, ServerLimits
from lazyarray.server.lock import StoreLock
from lazyarray.server.models import (
    INLINE_QUERY,
    INLINE_RESULT_BYTES,
    WAIT_QUERY,
    InlineResult,
    InspectRequest,
    JobCreated,
    JobErrors,
    JobList,
    JobRequest,
    JobState,
)
from lazyarray.server.page import page_router
from lazyarray.server.responses import ApiError, from_error, install
from lazyarray.server.runner import (
    labelled,
    read_arguments,
    running_as,
    tuple_members,
)
from lazyarray.server.store import LEASE_SECONDS, SubmissionConflict, TooManyJobs
from lazyarray.server.workers import WorkerPool
from lazyarray.stores.blobs import check_digest
from lazyarray.version import __version__
from lazyarray.workflows.local import LocalRegistry

# documents the scheme in the OpenAPI document; the owner dependency reads the header
BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")

# a long poll reads the job's row again whenever this server ends a job (a worker's
# attempt, a cancel, a deadline, a lost worker's last attempt); besides, as a safety net,
# after 100 ms, then less and less often: a read in between would take a core from the
# job it waits for
WAIT_POLL_SECONDS = (0.1, 0.5)
# an inspect's warnings (``warned.entries``), a JSON list in ASCII
WARNINGS_HEADER = "X-Lazyarray-Warnings"
# submit_job(owner, graph, arguments, format, submission_id, timeout) -> job_id
SubmitJob = Callable[..., str]


class ResultFile(FileResponse):
    """A result file streamed in 1 MiB pieces: each piece is a read in a thread and a
    write through the event loop, so starlette's 64 KiB pieces held a large download
    to a third of the speed (W1's 160 MB result: 340 MB/s at 64 KiB, 900 at 1 MiB;
    larger pieces were no faster)."""

    chunk_size = 1 << 20


def _digest(request: Mapping[str, Any]) -> str:
    text = json.dumps({k: v for k, v in request.items() if k != "submission_id"}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def create_app(
    store: str | Path,
    token: str | Mapping[str, str],
    *,
    trusted: bool = False,
    workers: int = 1,
    lease_seconds: float = LEASE_SECONDS,
    limits: ServerLimits | None = None,
    dask_scheduler: str | None = None,
    grace: float = 30.0,
    assets: Any = None,
    keep_results: float | None = None,
    store_lock: StoreLock | None = None,
) -> FastAPI:
    """The application over the store folder ``store``; ``token`` is the default owner's
    token or a ``{token: owner}`` table. ``workers`` processes run the jobs (0: none,
    for tests of the routes alone), or with ``dask_scheduler`` as many threads of this
    process hand them to that dask.distributed scheduler. On shutdown, running jobs get
    ``grace`` seconds to finish, then go back to Pending without counting an attempt.
    Jobs run with ``assets`` (``lazyarray.assets``: specs, dicts, or a YAML file). An
    ended job is deleted, its result with it, ``keep_results`` seconds after it ended
    (None: kept for ever). While it runs (its lifespan), the app holds the store's lock
    (``store_lock``, else its own): a second server on the store fails to start with
    ``StoreInUse``."""
    import lazyarray
    from lazyarray import serialize

    layout = Layout.create(store)
    tokens = token_table(token)
    limits = limits or ServerLimits()
    jobs = layout.jobs(lease_seconds=lease_seconds)
    # the event loop's own connection, for its quick reads: never behind the lock a
    # thread holds while it commits (WAL: reads never wait on the writer)
    reads = layout.jobs(lease_seconds=lease_seconds)
    blobs = layout.blobs()
    pool = WorkerPool(
        layout,
        workers,
        trusted=trusted,
        lease_seconds=lease_seconds,
        dask_scheduler=dask_scheduler,
        assets=assets,
        keep_results=keep_results,
    )

    ended = Ended()
    lock = store_lock or StoreLock(layout.root)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lock.acquire()  # one server per store (``StoreInUse``), held until it stops
        app.state.stopping = False  # an app served again (its lifespan run anew) serves
        try:
            loop = asyncio.get_running_loop()
            ended.start(loop)
            pool.on_finished(ended.notify)
            if workers:
                pool.start(loop)
            try:
                yield
            finally:
                app.state.stopping = True
                if workers:
                    pool.stop(grace)
        finally:
            lock.release()

    app = FastAPI(
        title="lazyarray",
        version=lazyarray.__version__,
        lifespan=lifespan,
        docs_url=None,  # pages that would load scripts from elsewhere; the API is the JSON
        redoc_url=None,
        openapi_url=None,  # served below, behind the token like every route
    )
    install(app)
    app.add_middleware(
        BodyLimit, limits=limits, authorized=lambda header: owner_of(header, tokens) is not None
    )

    async def owner(request: Request, _: Annotated[Any, Depends(BEARER)]) -> str:
        """The owner a request speaks for: a bearer token, or on GET the page's cookie
        (async: checked in the event loop, not handed to a thread)."""
        found = request_owner(
            request.headers.get("authorization"),
            request.cookies.get(COOKIE),
            request.method,
            tokens,
        )
        if found is None:
            raise ApiError(
                401,
                "a valid bearer token is required",
                "Unauthorized",
                {"WWW-Authenticate": "Bearer"},
            )
        return found

    def record(job_id: str, who: str) -> dict[str, Any]:
        """The job's record (from the event loop only)."""
        found = reads.get(job_id, who)
        if found is None:
            raise ApiError(404, f"no job {job_id}")
        return found

    checked = RequestChecks(blobs, limits, trusted=trusted)

    def job_request(
        graph: dict[str, Any],
        arguments: Mapping[str, Any] | None,
        format: str | None,  # noqa: A002 - the request's field (None: the default)
        timeout: float | None,
        errstate: Mapping[str, str] | None,
        options: Mapping[str, Any] | None,
    ) -> tuple[dict[str, Any], str]:
        """The request as it is recorded, and its digest (which keys both its check and
        its submission). Raises ``ApiError``: 503 shutting down, 422 a timeout over the
        limit."""
        if app.state.stopping:
            raise ApiError(503, "the server is shutting down", headers={"Retry-After": "5"})
        if limits.job_seconds is not None:
            if timeout is not None and timeout > limits.job_seconds:
                raise ApiError(
                    422,
                    f"timeout {timeout} is over the server's limit of {limits.job_seconds} s",
                    "ComputeArgumentError",
                )
            timeout = timeout or limits.job_seconds
        request = {
            "graph": graph,
            "arguments": dict(arguments or {}),
            "format": format,
            "timeout": timeout,
        }
        if errstate:
            request["errstate"] = dict(errstate)
        if options:
            request["options"] = dict(options)
        return request, _digest(request)

    def check_request(request: Mapping[str, Any], digest: str) -> str:
        """The result's format (the request's, else the one that holds the result).
        Raises ``ApiError``: 422 a bad document, argument or format, 413 over a limit."""
        with running_as(request.get("errstate"), request.get("options")):
            return checked.check(
                request["graph"],
                request["arguments"],
                request["format"],
                limits.result_bytes,
                digest=digest,
            )

    def record_job(
        who: str,
        request: dict[str, Any],
        digest: str,
        submission_id: str | None,
        durable: bool = True,
        presentation: dict[str, Any] | None = None,
    ) -> str:
        """Records a checked request (durably, unless told: ``JobStore.submit``);
        returns its job's id. Raises ``ApiError``: 409 a reused submission id, 429 too
        many outstanding jobs."""
        try:
            job_id, new = jobs.submit(
                who,
                request,
                digest,
                submission_id,
                timeout=request["timeout"],
                outstanding=limits.outstanding_jobs,
                durable=durable,
                presentation=presentation,
            )
        except SubmissionConflict as error:
            raise ApiError(409, str(error), "SubmissionConflict") from error
        except TooManyJobs as error:
            raise ApiError(
                429, str(error), "TooManyJobs", {"Retry-After": str(limits.retry_after)}
            ) from error
        if new:
            pool.wake()
        return job_id

    def submit_job(
        who: str,
        graph: dict[str, Any],
        arguments: Mapping[str, Any] | None = None,
        format: str | None = None,  # noqa: A002 - the request's field
        submission_id: str | None = None,
        timeout: float | None = None,
        *,
        errstate: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> str:
        """Checks and durably records a job; returns its id (``ApiError``s: see
        ``job_request``, ``check_request``, ``record_job``). ``errstate`` and ``options``
        (``ErrState``, ``RunOptions`` as dicts) are the caller's, applied where it runs."""
        request, digest = job_request(graph, arguments, format, timeout, errstate, options)
        request["format"] = check_request(request, digest)
        return record_job(who, request, digest, submission_id)

    async def awaited(job_id: str, who: str, wait: float, inline: bool) -> JobState:
        """The job's state once it has finished or ``wait`` seconds have passed (a long
        poll: one request instead of many); with ``inline``, a small result in it."""
        end = time.monotonic() + wait
        delay = WAIT_POLL_SECONDS[0]
        while True:
            event = ended.current(job_id)  # taken before the read: an end after it sets it
            found = record(job_id, who)
            left = end - time.monotonic()
            if JobStatus(found["status"]).finished or left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(delay, left))
            delay = min(delay * 1.5, WAIT_POLL_SECONDS[1])
        state = JobState.model_validate(found)
        if inline and found["status"] == JobStatus.COMPLETED:
            data = reads.result_data(job_id)
            if data is not None and len(data) <= INLINE_RESULT_BYTES:
                media = MEDIA[Path(found["result"]).suffix[1:]]
                state.inline_result = InlineResult(
                    media_type=media, base64=base64.b64encode(data).decode("ascii")
                )
        return state

    app.state.layout = layout
    app.state.pool = pool
    app.state.limits = limits
    app.state.stopping = False
    app.state.owner_dependency = owner
    app.state.submit_job = submit_job
    app.state.owner_of_token = lambda given: owner_of_token(given, tokens)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(who: str = Depends(owner)) -> dict[str, Any]:
        return app.openapi()

    @app.get("/health")
    def health() -> dict[str, str]:
        """``ok`` while the server answers; with ``--dask-scheduler``, whether the cluster
        does too (while it does not, jobs wait in Pending)."""
        cluster = pool.cluster
        if cluster is None:
            return {"status": "ok"}
        reached = "reachable" if cluster.reachable else "unreachable"
        return {"status": "ok", "dask_scheduler": reached}

    @app.get("/version")
    def version() -> dict[str, Any]:
        return {
            "version": __version__,
            "format_versions": list(range(1, serialize.FORMAT_VERSION + 1)),
            "opset": serialize.opset(),
        }

    @app.post("/v1/jobs", status_code=202, response_model=JobCreated)
    async def submit(
        request: JobRequest,
        wait: float = WAIT_QUERY,
        inline: bool = INLINE_QUERY,
        who: str = Depends(owner),
    ) -> JobCreated:
        """Records the job (202 once durable); with ``wait``, answers at its end or the
        wait's, with its state (a tiny job in one request)."""
        recorded, digest = job_request(
            request.graph,
            request.arguments,
            request.format,
            request.timeout,
            _given(request.errstate),
            _given(request.options),
        )
        arguments, result_bytes = recorded["arguments"], limits.result_bytes
        found = checked.remembers(
            request.graph, arguments, request.format, result_bytes, digest=digest
        )
        if found is None:
            found = await run_in_threadpool(check_request, recorded, digest)  # may read blobs
        recorded["format"] = found  # the digest keeps the format as sent
        # a remembered check is a look-up and the record one commit: no thread hop
        job_id = record_job(
            who,
            recorded,
            digest,
            request.submission_id,
            durable=wait <= 0,
            presentation=_given(request.presentation),
        )
        if wait <= 0:
            return JobCreated(job_id=job_id)
        # waiting, the record's sync is left to the job's end (its commit syncs the log,
        # this record with it), or made before a job still running is answered
        state = await awaited(job_id, who, wait, inline)
        if not state.status.finished:
            jobs.make_durable(job_id)
        return JobCreated(job_id=job_id, state=state)

    @app.get("/v1/jobs", response_model=JobList)
    def listing(
        status: JobStatus | None = None,
        limit: int = Query(100, ge=1, le=10000),
        who: str = Depends(owner),
    ) -> JobList:
        found = jobs.list_jobs(who, status, limit)
        return JobList(jobs=[JobState.model_validate(row) for row in found])

    @app.get("/v1/jobs/{job_id}", response_model=JobState)
    async def status(
        job_id: str,
        wait: float = WAIT_QUERY,
        inline: bool = INLINE_QUERY,
        who: str = Depends(owner),
    ) -> JobState:
        """The job's state; with ``wait``, once it has finished or ``wait`` seconds have
        passed (a long poll: one request instead of many)."""
        return await awaited(job_id, who, wait, inline)

    # quick reads of the store (WAL: never waiting on a writer) run in the event loop
    @app.get("/v1/jobs/{job_id}/errors", response_model=JobErrors)
    async def errors(job_id: str, who: str = Depends(owner)) -> JobErrors:
        return JobErrors(job_id=job_id, errors=record(job_id, who)["errors"])

    def cancel_job(job_id: str, who: str) -> JobState:
        """Cancels the job (``JobStore.cancel``) and wakes its long polls; its state
        after. The API's cancel and the page's answer this. Raises 404 ``ApiError``
        for a job the owner does not have."""
        found = jobs.cancel(job_id, who)
        if found is None:
            raise ApiError(404, f"no job {job_id}")
        ended.notify()
        return JobState.model_validate(found)

    @app.post("/v1/jobs/{job_id}/cancel", response_model=JobState)
    def cancel(job_id: str, who: str = Depends(owner)) -> JobState:
        return cancel_job(job_id, who)

    @app.get("/v1/jobs/{job_id}/result", response_model=None)
    async def result(
        job_id: str,
        format: str | None = Query(None),  # noqa: A002 - the query parameter's name
        who: str = Depends(owner),
    ) -> Response:
        found = record(job_id, who)
        if found["status"] != JobStatus.COMPLETED:
            raise ApiError(409, f"job {job_id} is {found['status']}, not Completed")
        name = found["result"]
        stored = Path(name).suffix[1:]
        if format is not None and format != stored:
            known = f'; for {format}, submit the job with "format": "{format}"'
            raise ApiError(
                422,
                f"job {job_id}'s result is {stored}, the format it was submitted with: "
                f"only format={stored} can be fetched{known if format in MEDIA else ''}",
                "FormatError",
            )
        data = reads.result_data(job_id)
        if data is not None:  # a small result, kept in the job's row
            return Response(data, media_type=MEDIA[stored])
        return ResultFile(layout.results / name, media_type=MEDIA[stored])

    @app.post("/v1/inspect", response_class=Response)
    def inspect(
        request: InspectRequest, connection: Request, who: str = Depends(owner)
    ) -> Response:
        """Computes a small result at once, in this process, within a short timeout (the
        request's, at most the server's); the warnings it raised are in the header
        ``X-Lazyarray-Warnings``. At the timeout, or when the client has gone, the
        computation is cancelled: its kernel blocks running then end, no other starts."""
        from lazyarray.execution.compute import compute

        if app.state.stopping:
            raise ApiError(503, "the server is shutting down", headers={"Retry-After": "5"})
        document, fmt = checked.document(
            request.graph, request.arguments, request.format, limits.inspect_bytes
        )
        try:
            arguments = read_arguments(request.arguments, blobs)
        except (ValueError, TypeError, KeyError) as error:
            raise ApiError(422, f"bad argument: {error}", "ArgumentError") from error
        single = document.single
        seconds = min(request.timeout or limits.inspect_seconds, limits.inspect_seconds)
        with (
            labelled(document.nodes),
            running_as(_given(request.errstate), _given(request.options)),
            warned.in_context() as seen,
        ):
            try:
                job = compute(
                    document.outputs,
                    arguments=arguments,
                    format=fmt if single else "pyarrow",
                    block=False,
                    backend="numpy",
                    cache=False,  # the client's cache is the cache: this run warns as it runs
                )
                values = inspected(job, seconds, connection)
            except JobTimeoutError as error:
                raise described(408, error) from error
            except ResourceExhausted as error:
                raise described(413, error) from error
            except LazyArrayError as error:
                raise described(422, error) from error
        headers = {WARNINGS_HEADER: json.dumps(warned.entries(seen), ensure_ascii=True)}
        if single:
            return Response(values[0], media_type=MEDIA[fmt], headers=headers)
        buffer = io.BytesIO()
        members = tuple_members(values, [node.type for node in document.outputs])
        np.savez(buffer, **members)  # type: ignore[arg-type]
        return Response(buffer.getvalue(), media_type=MEDIA["npz"], headers=headers)

    @app.put("/v1/blobs/{digest}", status_code=201)
    async def put_blob(
        digest: str, request: Request, response: Response, who: str = Depends(owner)
    ) -> dict[str, str]:
        """Stores the body under ``digest`` if its bytes hash to it (201). A blob
        already stored is answered 200 once the bytes sent are hashed too, and never
        written again: a client whose upload was damaged is told so (422) either way."""
        name = _blob_name(digest)
        hasher = hashlib.sha256()
        try:
            if name in blobs:
                async for chunk in request.stream():
                    hasher.update(chunk)
                _sent(hasher, name)
                response.status_code = 200
                return {"digest": name}
            with blobs.writer() as writer:
                async for chunk in request.stream():
                    hasher.update(chunk)
                    writer.write(chunk)
                _sent(hasher, name)  # raised inside the block: nothing is stored
        except DocumentTooLarge as error:
            raise from_error(413, error) from error
        except CorruptBlob as error:
            raise from_error(422, error) from error
        return {"digest": name}

    @app.head("/v1/blobs/{digest}")
    def head_blob(digest: str, who: str = Depends(owner)) -> Response:
        if _blob_name(digest) not in blobs:
            raise ApiError(404, f"no blob {digest}")
        return Response(status_code=200)

    # after the job routes, which a request is matched against first (the hot path)
    app.include_router(
        workflow_routes.router(
            LocalRegistry(layout.registry, create=True),
            owner,
            submit_job,
            blobs,
            awaited=awaited,
            trusted=trusted,
            limits=limits.document,
        )
    )

    app.include_router(
        dataset_routes.router(layout.catalog(), owner, blobs, shard_bytes=limits.result_bytes)
    )
    app.include_router(page_router(tokens, cancel_job))
    return app


def _given(model: BaseModel | None) -> dict[str, Any] | None:
    """A request's optional section as a dict, None where it was not sent."""
    return None if model is None else model.model_dump()


def _sent(hasher: Any, name: str) -> None:
    """Raises ``CorruptBlob`` unless the bytes ``hasher`` took hash to ``name``."""
    sent = "sha256:" + hasher.hexdigest()
    if sent != name:
        raise CorruptBlob(f"the bytes sent hash to {sent}, not {name}")


def _blob_name(digest: str) -> str:
    try:
        return check_digest(digest)
    except ValueError as error:
        raise ApiError(422, str(error), "CorruptBlob") from error
