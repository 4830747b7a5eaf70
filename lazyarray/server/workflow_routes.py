"""The ``/v1/workflows`` routes: the server's registry over HTTP, one route per method of
the ``Registry`` protocol (records as their ``to_dict`` JSON), and calls of a published
version as jobs.

Anyone with a token reads and calls; only the owner named in ``owner:name`` publishes,
changes or deletes (403 otherwise). Ids and versions from URLs go through the one
validator (``lazyarray.stores.names``, ``workflows.versions``) before they reach the
registry. A published document is checked as a job's is (no Python code unless the server
is ``--trusted``; its literals' blobs already uploaded; its graph the digest it claims),
so a version that was accepted can be called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from lazyarray import serialize
from lazyarray.errors import (
    ArgumentError,
    DocumentTooLarge,
    GraphFormatError,
    LazyArrayError,
    RegistryError,
    ResourceExhausted,
    Unauthorized,
    VersionConflict,
    VersionNotFound,
    WorkflowNotFound,
)
from lazyarray.serialize.limits import Limits
from lazyarray.server.models import (
    FORMAT_DESCRIPTION,
    INLINE_QUERY,
    WAIT_QUERY,
    JobCreated,
    JobState,
)
from lazyarray.server.responses import ApiError
from lazyarray.server.responses import answered as refusals
from lazyarray.stores.blobs import BlobStore, check_digest
from lazyarray.stores.names import check_name, check_workflow_id, split_workflow_id
from lazyarray.workflows import metadata, versions
from lazyarray.workflows.registry import Publication, Registry, VersionRecord

LATEST = "latest"  # a version in a URL: the highest release
# the status of each error a registry raises; any other LazyArrayError is the client's: 422
STATUSES: tuple[tuple[type[LazyArrayError], int], ...] = (
    (WorkflowNotFound, 404),
    (VersionNotFound, 404),
    (VersionConflict, 409),
    (Unauthorized, 403),
    (DocumentTooLarge, 413),
    (ResourceExhausted, 413),
    (RegistryError, 500),
)


class CallRequest(BaseModel, extra="forbid"):
    arguments: dict[str, Any] = Field(
        default_factory=dict,
        description='numbers, nested lists, or {"blob": "sha256:<hex>", "format": "npy"}',
    )
    format: str | None = Field(default=None, description=FORMAT_DESCRIPTION)
    submission_id: str | None = Field(default=None, max_length=200)
    timeout: float | None = Field(default=None, gt=0, description="seconds, then Cancelled")


class ArgumentBody(BaseModel, strict=True, extra="forbid"):
    name: str
    dtype: str = Field(description="numpy's dtype.str, such as '<f8'")
    shape: list[int | None] = Field(description="null: any size")
    masked: bool
    positional: bool


class PublicationBody(BaseModel, strict=True, extra="forbid"):
    """``Publication.to_dict()``: a version to publish, and its workflow's metadata."""

    id: str
    version: str
    document: dict[str, Any] = Field(description="a graph document (docs/graph-format.md)")
    graph_digest: str
    arguments: list[ArgumentBody]
    result: dict[str, Any] = Field(description='{"dtype", "shape", "masked"}')
    docstring: str
    version_labels: dict[str, Any]
    title: str | None
    description: str | None
    labels: dict[str, Any] | None
    tags: list[str] | None


def router(
    registry: Registry,
    owner_dependency: Callable[..., Any],
    submit_job: Callable[..., str],
    blobs: BlobStore,
    *,
    awaited: Callable[[str, str, float, bool], Awaitable[JobState]],
    trusted: bool = False,
    limits: Limits | None = None,
) -> APIRouter:
    """The workflow routes over ``registry``; ``owner_dependency`` names the request's
    owner (401 without a valid token), ``submit_job(owner, graph, arguments, format,
    submission_id, timeout)`` records a job, ``awaited(job_id, owner, wait, inline)``
    waits for its end, ``blobs`` is the store uploads go to, ``limits`` bound a
    published document as a job's."""
    api = APIRouter(prefix="/v1/workflows", tags=["workflows"])
    who_is = Depends(owner_dependency)
    hidden = registry.location  # a server's folders are not its clients' business

    def answered() -> contextlib.AbstractContextManager[None]:
        return refusals(STATUSES, {f"registry {hidden}": "server's registry", hidden: "<registry>"})

    def version_of(workflow_id: str, version: str) -> VersionRecord:
        check_workflow_id(workflow_id)
        if version != LATEST:
            return registry.get_version(workflow_id, versions.check(version))
        found = {record.version: record for record in registry.list_versions(workflow_id)}
        chosen = versions.latest(found)
        if chosen is None:
            raise VersionNotFound(f"{workflow_id} has no released version")
        return found[chosen]

    def owned(who: str, workflow_id: str) -> str:
        owner, _ = split_workflow_id(workflow_id)
        if owner != who:
            raise Unauthorized(
                f"{workflow_id} belongs to {owner!r}; this token speaks for {who!r}, who "
                f"may publish and change only {who}:<name>"
            )
        return workflow_id

    @api.get("")
    def list_workflows(owner: str | None = None, tag: str | None = None, who: str = who_is) -> Any:
        with answered():
            if owner is not None:
                check_name(owner, "owner")
            if tag is not None:
                metadata.tags([tag])
            found = registry.list_workflows(owner=owner, tag=tag)
            return {"workflows": [record.to_dict() for record in found]}

    @api.get("/{workflow_id}")
    def get_workflow(workflow_id: str, who: str = who_is) -> Any:
        with answered():
            return registry.get_workflow(check_workflow_id(workflow_id)).to_dict()

    @api.patch("/{workflow_id}")
    def update_workflow(
        workflow_id: str, changes: Annotated[dict[str, Any], Body()], who: str = who_is
    ) -> Any:
        with answered():
            owned(who, check_workflow_id(workflow_id))
            return registry.update_workflow(workflow_id, changes).to_dict()

    @api.get("/{workflow_id}/versions")
    def list_versions(workflow_id: str, who: str = who_is) -> Any:
        with answered():
            found = registry.list_versions(check_workflow_id(workflow_id))
            found.sort(key=lambda record: versions.parse(record.version))
            return {"versions": [record.to_dict() for record in found]}

    @api.put("/{workflow_id}/versions/{version}", status_code=201)
    def publish(
        workflow_id: str,
        version: str,
        body: PublicationBody,
        response: Response,
        who: str = who_is,
    ) -> Any:
        with answered():
            owned(who, check_workflow_id(workflow_id))
            versions.check(version)
            publication: Publication = Publication.from_dict(body.model_dump())
            if (publication.id, publication.version) != (workflow_id, version):
                raise ArgumentError(
                    f"the body publishes {publication.id} {publication.version}, the URL "
                    f"names {workflow_id} {version}"
                )
            _check_document(publication, blobs, trusted, limits)
            record, created = registry.publish(publication)
            response.status_code = 201 if created else 200
            return record.to_dict()

    @api.get("/{workflow_id}/versions/{version}")
    def get_version(workflow_id: str, version: str, who: str = who_is) -> Any:
        with answered():
            return version_of(workflow_id, version).to_dict()

    @api.patch("/{workflow_id}/versions/{version}")
    def update_version(
        workflow_id: str,
        version: str,
        changes: Annotated[dict[str, Any], Body()],
        who: str = who_is,
    ) -> Any:
        with answered():
            owned(who, check_workflow_id(workflow_id))
            return registry.update_version(workflow_id, versions.check(version), changes).to_dict()

    @api.delete("/{workflow_id}/versions/{version}", status_code=204)
    def delete_version(workflow_id: str, version: str, who: str = who_is) -> Response:
        with answered():
            owned(who, check_workflow_id(workflow_id))
            registry.delete_version(workflow_id, versions.check(version))
        return Response(status_code=204)

    def document_text(workflow_id: str, version: str) -> bytes:
        """A version's document as stored (canonical JSON, verified against its digest)."""
        record = version_of(workflow_id, version)
        try:
            return registry.blobs.get(record.document)
        except KeyError:
            raise RegistryError(f"the document of {workflow_id} {version} is missing") from None

    @api.get("/{workflow_id}/versions/{version}/document", response_class=Response)
    def read_document(workflow_id: str, version: str, who: str = who_is) -> Response:
        """The graph document (``docs/graph-format.md``)."""
        with answered():
            return Response(document_text(workflow_id, version), media_type="application/json")

    @api.get("/{workflow_id}/versions/{version}/blobs/{digest}", response_model=None)
    def read_blob(workflow_id: str, version: str, digest: str, who: str = who_is) -> Response:
        """A blob the version's document names (no other blob is handed out)."""
        with answered():
            document = serialize.loads(document_text(workflow_id, version))
            if digest not in serialize.blob_references(document):
                raise ApiError(404, f"{workflow_id} {version} names no blob {digest[:80]!r}")
            local = blobs.path(check_digest(digest))
            if local is not None:
                return FileResponse(local, media_type="application/octet-stream")
            try:
                return Response(blobs.get(digest), media_type="application/octet-stream")
            except KeyError:
                raise ApiError(404, f"blob {digest} is missing from the server") from None

    @api.post("/{workflow_id}/versions/{version}/call", status_code=202)
    async def call(
        workflow_id: str,
        version: str,
        request: CallRequest,
        wait: float = WAIT_QUERY,
        inline: bool = INLINE_QUERY,
        who: str = who_is,
    ) -> JobCreated:
        """Runs the version with ``arguments`` as a job, like ``POST /v1/jobs`` (``wait``
        and ``inline`` too)."""

        def submitted() -> str:
            with answered():
                record = version_of(workflow_id, version)
                _check_arguments(record, request.arguments)
                document = registry.read_document(record)
            return submit_job(
                who,
                document,
                request.arguments,
                request.format,
                request.submission_id,
                request.timeout,
            )

        job_id = await run_in_threadpool(submitted)
        if wait <= 0:
            return JobCreated(job_id=job_id)
        return JobCreated(job_id=job_id, state=await awaited(job_id, who, wait, inline))

    return api


def _check_document(
    publication: Publication, blobs: BlobStore, trusted: bool, limits: Limits | None
) -> None:
    """The document reads as a job's would (its blobs here, no code unless trusted,
    within the limits) and holds the graph its publication names."""
    nodes, single = serialize.nodes_from_dict(
        dict(publication.document), blobs=blobs, trusted=trusted, limits=limits
    )
    if not single or nodes[0].digest != publication.graph_digest:
        raise GraphFormatError(
            f"the document holds the graph {nodes[0].digest if single else 'of a tuple'}, "
            f"not the one named by graph_digest ({publication.graph_digest})"
        )
    declared = {
        argument.name: {"dtype": argument.dtype, "shape": list(argument.shape),
                        "masked": argument.masked}
        for argument in publication.arguments
    }  # fmt: skip
    found = serialize.parameters(dict(publication.document))
    if declared != found or len({a.positional for a in publication.arguments}) > 1:
        raise ArgumentError(
            f"the publication declares the arguments {declared}; its graph's parameters "
            f"are {found}"[:2000]
        )
    output = nodes[0].type
    result = {"dtype": output.dtype.str, "shape": list(output.shape), "masked": output.masked}
    if dict(publication.result) != result:
        raise GraphFormatError(f"the graph's result is {result}, not {publication.result}")


def _check_arguments(record: VersionRecord, given: dict[str, Any]) -> None:
    declared = [argument.name for argument in record.arguments]
    missing = [name for name in declared if name not in given]
    unexpected = [name for name in given if name not in declared]
    if missing or unexpected:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unexpected {', '.join(unexpected)}"] if unexpected else []
        raise ArgumentError(
            f"{record.id} {record.version} takes ({', '.join(declared)}): {'; '.join(parts)}"
        )
