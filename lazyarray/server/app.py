"""The HTTP application: routes under ``/v1`` over a store folder (``docs/server.md``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from lazyarray.errors import LazyArrayError
from lazyarray.jobs import JobStatus
from lazyarray.server.auth import owner_of, token_table
from lazyarray.server.layout import Layout
from lazyarray.server.page import page_router
from lazyarray.server.store import LEASE_SECONDS, SubmissionConflict
from lazyarray.server.workers import WorkerPool
from lazyarray.version import __version__

MEDIA = {"npy": "application/x-npy", "npz": "application/x-npz"}


class JobRequest(BaseModel):
    graph: dict[str, Any] = Field(description="a graph document (docs/graph-format.md)")
    arguments: dict[str, Any] = Field(default_factory=dict)
    format: str = "npy"
    submission_id: str | None = Field(default=None, max_length=200)


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


class JobErrors(BaseModel):
    job_id: str
    errors: list[str]


def _digest(request: JobRequest) -> str:
    text = json.dumps(request.model_dump(exclude={"submission_id"}), sort_keys=True)
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
    app.state.layout = layout
    app.state.pool = pool
    app.include_router(page_router(tokens, jobs.cancel))

    def owner(authorization: str | None = Header(default=None)) -> str:
        found = owner_of(authorization, tokens)
        if found is None:
            raise HTTPException(
                401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        return found

    def record(job_id: str, who: str) -> dict[str, Any]:
        found = jobs.get(job_id, who)
        if found is None:
            raise HTTPException(404, f"no job {job_id}")
        return found

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
            raise HTTPException(422, f"unknown result format {request.format!r}")
        try:  # checked before it is recorded: a bad document never becomes a job
            serialize.nodes_from_dict(request.graph, blobs=blobs, trusted=trusted)
        except LazyArrayError as error:
            raise HTTPException(422, f"{type(error).__name__}: {error}") from error
        try:
            job_id, _ = jobs.submit(
                who, request.model_dump(), _digest(request), request.submission_id
            )
        except SubmissionConflict as error:
            raise HTTPException(409, str(error)) from error
        return JobCreated(job_id=job_id)

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
            raise HTTPException(404, f"no job {job_id}")
        return JobState.model_validate(found)

    @app.get("/v1/jobs/{job_id}/result", response_model=None)
    def result(
        job_id: str,
        format: str = Query("npy"),  # noqa: A002 - the query parameter's name
        who: str = Depends(owner),
    ) -> FileResponse | JSONResponse:
        found = record(job_id, who)
        if found["status"] != JobStatus.COMPLETED:
            raise HTTPException(409, f"job {job_id} is {found['status']}, not Completed")
        name = found["result"]
        stored = Path(name).suffix[1:]
        if format != stored:
            raise HTTPException(422, f"the result is kept as {stored}; format={stored}")
        return FileResponse(layout.results / name, media_type=MEDIA[stored])

    return app
