"""The HTTP application: routes under ``/v1`` over a store folder (``docs/server.md``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from lazyarray.errors import LazyArrayError
from lazyarray.jobs import JobStatus
from lazyarray.server.auth import COOKIE, owner_of_token, request_owner, token_table
from lazyarray.server.layout import Layout
from lazyarray.server.page import page_router
from lazyarray.server.responses import ApiError, from_error, install
from lazyarray.server.runner import read_document
from lazyarray.server.store import LEASE_SECONDS, SubmissionConflict
from lazyarray.server.workers import WorkerPool
from lazyarray.version import __version__

MEDIA = {
    "npy": "application/x-npy",
    "npz": "application/x-npz",
    "json": "application/json",
    "arrow": "application/vnd.apache.arrow.stream",
}
# documents the scheme in the OpenAPI document; the owner dependency reads the header
BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")

# submit_job(owner, graph, arguments, format, submission_id, timeout) -> job_id
SubmitJob = Callable[..., str]


class JobRequest(BaseModel):
    graph: dict[str, Any] = Field(description="a graph document (docs/graph-format.md)")
    arguments: dict[str, Any] = Field(default_factory=dict)
    format: str = "npy"
    submission_id: str | None = Field(default=None, max_length=200)
    timeout: float | None = Field(default=None, gt=0, description="seconds, then Cancelled")


class JobCreated(BaseModel):
    job_id: str


class JobState(BaseModel):
    job_id: str
    status: JobStatus
    message: str
    completed_steps: int
    total_steps: int
    attempts: int
    created: float
    started: float | None
    finished: float | None


class JobList(BaseModel):
    jobs: list[JobState]


class JobError(BaseModel):
    type: str = Field(description="a lazyarray.errors class name where it is one")
    message: str
    op: str | None = None
    node: int | None = Field(
        default=None, description="the failing node's position in the document's nodes"
    )


class JobErrors(BaseModel):
    job_id: str
    errors: list[JobError]


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
) -> FastAPI:
    """The application over the store folder ``store``; ``token`` is the default owner's
    token or a ``{token: owner}`` table. ``workers`` processes run the jobs (0: none,
    for tests of the routes alone)."""
    import lazyarray
    from lazyarray import serialize

    layout = Layout.create(store)
    tokens = token_table(token)
    jobs = layout.jobs(lease_seconds=lease_seconds)
    blobs = layout.blobs()
    pool = WorkerPool(layout, workers, trusted=trusted, lease_seconds=lease_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if workers:
            pool.start()
        try:
            yield
        finally:
            if workers:
                pool.stop()

    app = FastAPI(
        title="lazyarray",
        version=lazyarray.__version__,
        lifespan=lifespan,
        docs_url=None,  # pages that would load scripts from elsewhere; the API is the JSON
        redoc_url=None,
    )
    install(app)
    app.include_router(page_router(tokens, jobs.cancel))

    def owner(request: Request, _: Annotated[Any, Depends(BEARER)]) -> str:
        """The owner a request speaks for: a bearer token, or on GET the page's cookie."""
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
        found = jobs.get(job_id, who)
        if found is None:
            raise ApiError(404, f"no job {job_id}")
        return found

    def submit_job(
        who: str,
        graph: dict[str, Any],
        arguments: Mapping[str, Any] | None = None,
        format: str = "npy",  # noqa: A002 - the request's field
        submission_id: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Checks and durably records a job; returns its id. Raises ``ApiError`` (422 a
        bad document or format, 409 a reused submission id)."""
        from lazyarray.execution.formats import check_format

        try:  # checked before it is recorded: a bad document never becomes a job
            document = read_document(graph, blobs, trusted=trusted)
            check_format(format, [node.type for node in document.outputs])
        except LazyArrayError as error:
            raise from_error(422, error) from error
        if not document.single and format != "npz":
            raise ApiError(422, "a tuple of results is kept as npz; format='npz'", "FormatError")
        request = {
            "graph": graph,
            "arguments": dict(arguments or {}),
            "format": format,
            "timeout": timeout,
        }
        try:
            job_id, _ = jobs.submit(who, request, _digest(request), submission_id)
        except SubmissionConflict as error:
            raise ApiError(409, str(error), "SubmissionConflict") from error
        return job_id

    app.state.layout = layout
    app.state.pool = pool
    app.state.owner_dependency = owner
    app.state.submit_job = submit_job
    app.state.owner_of_token = lambda token: owner_of_token(token, tokens)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/version")
    def version() -> dict[str, Any]:
        return {
            "version": __version__,
            "format_versions": list(range(1, serialize.FORMAT_VERSION + 1)),
            "opset": serialize.opset(),
        }

    @app.post("/v1/jobs", status_code=202, response_model=JobCreated)
    def submit(request: JobRequest, who: str = Depends(owner)) -> JobCreated:
        if request.format not in MEDIA:
            raise ApiError(
                422,
                f"unknown result format {request.format!r}; choose one of {', '.join(MEDIA)}",
                "FormatError",
            )
        job_id = submit_job(
            who,
            request.graph,
            request.arguments,
            request.format,
            request.submission_id,
            request.timeout,
        )
        return JobCreated(job_id=job_id)

    @app.get("/v1/jobs", response_model=JobList)
    def listing(
        status: JobStatus | None = None,
        limit: int = Query(100, ge=1, le=10000),
        who: str = Depends(owner),
    ) -> JobList:
        found = jobs.list_jobs(who, status, limit)
        return JobList(jobs=[JobState.model_validate(row) for row in found])

    @app.get("/v1/jobs/{job_id}", response_model=JobState)
    def status(job_id: str, who: str = Depends(owner)) -> JobState:
        return JobState.model_validate(record(job_id, who))

    @app.get("/v1/jobs/{job_id}/errors", response_model=JobErrors)
    def errors(job_id: str, who: str = Depends(owner)) -> JobErrors:
        return JobErrors(job_id=job_id, errors=record(job_id, who)["errors"])

    @app.post("/v1/jobs/{job_id}/cancel", response_model=JobState)
    def cancel(job_id: str, who: str = Depends(owner)) -> JobState:
        found = jobs.cancel(job_id, who)
        if found is None:
            raise ApiError(404, f"no job {job_id}")
        return JobState.model_validate(found)

    @app.get("/v1/jobs/{job_id}/result", response_model=None)
    def result(
        job_id: str,
        format: str | None = Query(None),  # noqa: A002 - the query parameter's name
        who: str = Depends(owner),
    ) -> FileResponse:
        found = record(job_id, who)
        if found["status"] != JobStatus.COMPLETED:
            raise ApiError(409, f"job {job_id} is {found['status']}, not Completed")
        name = found["result"]
        stored = Path(name).suffix[1:]
        if format is not None and format != stored:
            raise ApiError(
                422,
                f"the job's result was made as {stored} (the format it was submitted with);"
                f" format={stored}",
                "FormatError",
            )
        return FileResponse(layout.results / name, media_type=MEDIA[stored])

    return app
