"""One attempt of one job, in a worker process: read the request, compute it, keep the
lease by heartbeats, write the result in the requested format, record the end state."""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lazyarray.errors import GraphFormatError, JobTimeoutError
from lazyarray.graph import Node
from lazyarray.jobs import JobStatus
from lazyarray.serialize.limits import Limits
from lazyarray.server.store import Claim, JobStore, job_error
from lazyarray.stores.blobs import BlobStore

# a document carries no creation sites: while a job runs, each of its nodes' site names
# its position in the document, so an error raised by any backend (which names the site
# of the failing node, kept through the planner's rewrites) tells which node failed
NODE_SITE = "graph document node"
_LABEL = re.compile(re.escape(NODE_SITE) + r":(\d+)")
_NODE_PATH = re.compile(r"^/graph/nodes/(\d+)(?:/|$)")
_SET_SITE = Node.__dict__["site"].__set__  # Node refuses __setattr__; its slot does not


@dataclass(frozen=True)
class Document:
    """A graph document read to nodes: every node in the document's order, the outputs,
    and whether the document holds one output (not a tuple)."""

    nodes: list[Node]
    outputs: list[Node]
    single: bool


def read_document(
    doc: Any, blobs: BlobStore | None, *, trusted: bool, limits: Limits | None = None
) -> Document:
    """``serialize.nodes_from_dict``, keeping every node (the reader's three passes)."""
    from lazyarray.serialize import reader
    from lazyarray.serialize.limits import DEFAULT

    limits = limits or DEFAULT
    checked, _ = reader.check(doc, limits=limits, trusted=trusted)
    literals = reader.read_literals(checked, blobs, limits, trusted)
    built = reader.build(checked, literals)
    outputs = checked.outputs
    if isinstance(outputs, int):
        return Document(built, [built[outputs]], True)
    return Document(built, [built[ref] for ref in outputs], False)


@contextlib.contextmanager
def labelled(nodes: Sequence[Node]) -> Iterator[None]:
    """Each node's site names its position in the document while the block runs (nodes
    are interned: their own sites are put back after)."""
    saved = [node.site for node in nodes]
    for index, node in enumerate(nodes):
        _SET_SITE(node, (NODE_SITE, index))
    try:
        yield
    finally:
        for node, site in zip(nodes, saved, strict=True):
            _SET_SITE(node, site)


def describe(error: BaseException) -> dict[str, Any]:
    """A job error entry: type, message, and the failing op and document node."""
    message = str(error)
    node: int | None = None
    found = _LABEL.search(message)
    if found is not None:
        node = int(found.group(1))
        message = _LABEL.sub(lambda m: f"node {m.group(1)} of the graph document", message)
    elif isinstance(error, GraphFormatError):
        path = _NODE_PATH.match(error.path)
        node = int(path.group(1)) if path is not None else None
    op = getattr(error, "op", None) or None
    return job_error(type(error).__name__, message, op if isinstance(op, str) else None, node)


def read_arguments(raw: dict[str, Any], blobs: BlobStore) -> dict[str, Any]:
    """Arguments as arrays: numbers and nested lists through ``numpy.asarray``, or
    ``{"blob": digest}`` naming an ``.npy`` file in the blob store (never unpickled)."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, dict):
            values[name] = np.load(io.BytesIO(blobs.get(value["blob"])), allow_pickle=False)
        else:
            values[name] = np.asarray(value)
    return values


def write_tuple(values: Sequence[Any], path: Path) -> None:
    """Several results as one ``.npz``, written atomically: ``arr_0``, ``arr_1``, ... and
    ``arr_<i>_mask`` for a masked one."""
    members: dict[str, np.ndarray] = {}
    for index, value in enumerate(values):
        members[f"arr_{index}"] = np.asarray(np.ma.getdata(value))
        if isinstance(value, np.ma.MaskedArray) or value is np.ma.masked:
            members[f"arr_{index}_mask"] = np.ma.getmaskarray(value)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **members)  # type: ignore[arg-type]
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run(
    claim: Claim,
    store: JobStore,
    blobs: BlobStore,
    results: Path,
    *,
    trusted: bool,
    backend: str = "numpy",
    client: Any = None,
) -> JobStatus | None:
    """Runs the claimed attempt to its end; returns the state recorded, or None when the
    attempt lost its lease (another attempt owns the job now)."""
    from lazyarray.execution.compute import compute

    request = claim.request
    fmt = request.get("format") or "npy"
    path = results / f"{claim.job_id}.{claim.attempt}.{fmt}"
    try:
        document = read_document(request["graph"], blobs, trusted=trusted)
        arguments = read_arguments(request.get("arguments") or {}, blobs)
    except Exception as error:
        return _failed(claim, store, error)
    with labelled(document.nodes):
        try:
            job = compute(
                document.outputs,
                block=False,
                backend=backend,
                client=client,
                arguments=arguments,
                cache=False,
                format=fmt if document.single else "pyarrow",
                file=str(path) if document.single else None,
            )
        except Exception as error:
            return _failed(claim, store, error)
        beat = store.lease_seconds / 3
        while True:
            try:
                values = job.result(timeout=beat)
                break
            except JobTimeoutError:
                status = job.status()
                asked = store.heartbeat(
                    claim, status["completed_steps"], status["total_steps"], status["message"]
                )
                if asked is None:  # the lease was lost: another attempt owns the job
                    job.cancel()
                    path.unlink(missing_ok=True)
                    return None
                if asked:
                    job.cancel()
            except Exception as error:
                path.unlink(missing_ok=True)
                if job.status()["status"] == JobStatus.CANCELLED:
                    ok = store.finish(claim, JobStatus.CANCELLED, message="cancelled")
                    return JobStatus.CANCELLED if ok else None
                return _failed(claim, store, error)
    if not document.single:
        write_tuple(list(values), path)
    if store.finish(claim, JobStatus.COMPLETED, result=path.name):
        return JobStatus.COMPLETED
    path.unlink(missing_ok=True)  # a stale attempt's file is never served
    return None


def _failed(claim: Claim, store: JobStore, error: BaseException) -> JobStatus | None:
    entry = describe(error)
    ok = store.finish(claim, JobStatus.ERRORED, errors=[entry], message=entry["message"])
    return JobStatus.ERRORED if ok else None
