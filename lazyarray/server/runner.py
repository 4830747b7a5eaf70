"""One attempt of one job, in a worker process: read the request, compute it, keep the
lease by heartbeats, write the result in the requested format, record the end state."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lazyarray.errors import GraphFormatError, JobTimeoutError, UntrustedContent
from lazyarray.execution.files import write_atomically
from lazyarray.graph import Node, fill_value_of
from lazyarray.jobs import JobStatus
from lazyarray.serialize.limits import Limits
from lazyarray.server import warned
from lazyarray.server.blobs import ServerBlobs, read_literals, read_npy
from lazyarray.server.limits import masked_argument
from lazyarray.server.store import Claim, JobStore, job_error
from lazyarray.stores.blobs import BlobStore
from lazyarray.types import ArrayType

if TYPE_CHECKING:
    from lazyarray.datasets.catalog import Catalog

# a document carries no creation sites: while a job runs, each of its nodes' site names
# its position in the document, so an error raised by any backend (which names the site
# of the failing node, kept through the planner's rewrites) tells which node failed
NODE_SITE = "graph document node"
_LABEL = re.compile(re.escape(NODE_SITE) + r":(\d+)")
_NODE_PATH = re.compile(r"^/graph/nodes/(\d+)(?:/|$)")
_SET_SITE = Node.__dict__["site"].__set__  # Node refuses __setattr__; its slot does not
POLL_SECONDS = 0.05  # how often a running attempt looks for a cancel, a deadline, a release
BEAT_SECONDS = 1.0  # how often it renews its lease and records its progress, at most
SETTLE_SECONDS = 5.0
INLINE_BYTES = 1 << 20  # results this small are kept in the job's row, not in a file
KEPT_DOCUMENTS = 32  # a worker's documents read last (``Documents``)
TIMED_OUT = job_error("JobTimeoutError", "timed out: the job passed its deadline")


@dataclass(frozen=True)
class Document:
    """A graph document read to nodes: every node in the document's order, the outputs,
    and whether the document holds one output (not a tuple)."""

    nodes: list[Node]
    outputs: list[Node]
    single: bool


def read_document(
    doc: Any,
    blobs: BlobStore | None,
    *,
    trusted: bool,
    limits: Limits | None = None,
    catalog: Catalog | None = None,
) -> Document:
    """``serialize.nodes_from_dict``, keeping every node (the reader's three passes),
    and its storage sources checked (``check_sources``) against ``catalog``, by default
    the catalog beside a server's blob store."""
    from lazyarray.serialize import reader
    from lazyarray.serialize.limits import DEFAULT

    limits = limits or DEFAULT
    checked, _ = reader.check(doc, limits=limits, trusted=trusted)
    if isinstance(blobs, ServerBlobs):  # its own store: checked literals are mapped
        literals = read_literals(checked, blobs, limits, trusted)
    else:
        literals = reader.read_literals(checked, blobs, limits, trusted)
    built = reader.build(checked, literals)
    check_sources(built, lambda: catalog or _catalog_beside(blobs), trusted=trusted)
    outputs = checked.outputs
    if isinstance(outputs, int):
        return Document(built, [built[outputs]], True)
    return Document(built, [built[ref] for ref in outputs], False)


def check_sources(
    nodes: Sequence[Node], catalog: Callable[[], Catalog | None], *, trusted: bool
) -> None:
    """The source nodes that read storage: one naming a dataset (``identity``
    ``dataset:<uid>/<split>/<field>``) must name a version of the server's catalog, with
    the shape and dtype it declares; it is opened there, so this process's reads find
    its data. One naming a URL reads whatever the server can reach: refused unless the
    server is trusted. ``catalog`` is asked only when a dataset is named."""
    from lazyarray.ops import OPS, Kind

    for index, node in enumerate(nodes):
        if OPS[node.op].kind is not Kind.SOURCE:
            continue
        identity, url = node.attr("identity"), node.attr("url")
        where = f"/graph/nodes/{index}"
        if identity is not None:
            from lazyarray.errors import CatalogError, DatasetNotFound

            found = catalog()
            if found is None:
                raise GraphFormatError(f"source {str(identity)[:200]!r}: no dataset catalog here",
                                       where)  # fmt: skip
            try:
                array = found.open_identity(identity)
            except (DatasetNotFound, CatalogError) as error:
                raise type(error)(
                    f"source node {index} names {str(identity)[:200]!r}: "
                    + str(error).replace(found.location, "the server's catalog")
                ) from None
            declared = (tuple(node.attr("shape") or ()), node.attr("dtype"))
            if declared != (tuple(array.shape), array.dtype):
                raise GraphFormatError(
                    f"source {identity!r} declares shape {declared[0]} and dtype "
                    f"{declared[1]}; the catalog holds {tuple(array.shape)} {array.dtype}",
                    where,
                )
        elif url is not None and not trusted:
            raise UntrustedContent(
                f"a source read by URL ({str(url)[:200]!r}) is read only by a server started "
                "with --trusted; send a dataset of the server's catalog "
                "(dataset:<uid>/<split>/<field>) instead",
                where,
            )


def _catalog_beside(blobs: BlobStore | None) -> Catalog | None:
    """A server's catalog: in its store folder, beside its blobs."""
    if not isinstance(blobs, ServerBlobs):
        return None
    from lazyarray.server.layout import Layout

    return Layout(blobs.root.parent).catalog()


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
    if node is None:
        made = _made_at(error)
        if made is not None:
            op, node = made
            message = f"{message} (node {node} of the graph document)"
    return job_error(type(error).__name__, message, op if isinstance(op, str) else None, node)


def _made_at(error: BaseException) -> tuple[str, int] | None:
    """The op and document node of the node being made when ``error`` was raised: a
    type rule refusing the inputs a planner's rewrite gives a node (a folded constant
    index out of bounds) raises with neither, from ``Node.make(op, ..., site)``, whose
    ``site`` is the replaced node's: its document position while ``labelled``."""
    traceback = error.__traceback__
    found = None
    while traceback is not None:  # outermost to innermost: the last match is the node
        names = traceback.tb_frame.f_locals
        site, op = names.get("site"), names.get("op")
        if (
            isinstance(site, tuple)
            and len(site) == 2
            and site[0] == NODE_SITE
            and isinstance(site[1], int)
            and isinstance(op, str)
        ):
            found = (op, site[1])
        traceback = traceback.tb_next
    return found


def read_arguments(raw: dict[str, Any], blobs: BlobStore) -> dict[str, Any]:
    """Arguments: numbers and nested lists as they are (Python numbers, weak as in a
    local compute: ``5`` fills a uint8 parameter), or ``{"blob": digest}`` naming an
    ``.npy`` file in the blob store (never unpickled; mapped read-only from the server's
    store), with ``"mask"`` (a blob) and ``"fill_value"`` for a masked array."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if not isinstance(value, dict):
            values[name] = value
            continue
        data = read_npy(blobs, value["blob"])
        if "mask" in value:
            mask = read_npy(blobs, value["mask"])
            data = masked_argument(data, mask, value.get("fill_value"))
        values[name] = data
    return values


@contextlib.contextmanager
def running_as(
    errstate: Mapping[str, str] | None,
    options: Mapping[str, Any] | None,
    cluster: bool = False,
) -> Iterator[None]:
    """The caller's numpy error handling and run options (a request's ``errstate`` and
    ``options``) in force while the block runs ("call" and "log" need the caller's
    callable: "warn" here); with ``warnings="error"``, a warning raised in the block is
    raised as an error (``warned.raising``). On a ``cluster`` the tasks warn in the
    workers' processes, which no hook here sees: a kind that warns is raised there
    instead (numpy's ``FloatingPointError``, of the same words)."""
    from lazyarray import config

    state: dict[str, Any] = {
        key: "warn" if value in ("call", "log") else value
        for key, value in (errstate or {}).items()
    }
    changes: dict[str, Any] = {}
    if options:
        changes = {
            "fast_math": bool(options.get("fast_math")),
            "disabled": frozenset(options.get("disabled") or ()),
        }
    raising = options is not None and options.get("warnings") == "error"
    if raising and cluster:
        state = {key: "raise" if value == "warn" else value for key, value in state.items()}
    with np.errstate(**state), config.set(**changes), warned.raising(raising):
        yield


def tuple_members(values: Sequence[Any], types: Sequence[ArrayType]) -> dict[str, np.ndarray]:
    """The ``.npz`` members of several results: ``arr_0``, ``arr_1``, ... and
    ``arr_<i>_mask`` and ``arr_<i>_fill_value`` for a masked one."""
    members: dict[str, np.ndarray] = {}
    for index, (value, type_) in enumerate(zip(values, types, strict=True)):
        members[f"arr_{index}"] = np.asarray(np.ma.getdata(value), dtype=type_.dtype)
        if type_.masked:
            members[f"arr_{index}_mask"] = np.ma.getmaskarray(value)
            if isinstance(value, np.ma.MaskedArray):  # not a scalar, masked or not
                members[f"arr_{index}_fill_value"] = np.asarray(fill_value_of(value))
    return members


def write_tuple(values: Sequence[Any], types: Sequence[ArrayType], path: Path) -> None:
    """Several results as one ``.npz`` (``tuple_members``), written atomically."""
    members = tuple_members(values, types)
    write_atomically(path, lambda file: np.savez(file, **members))  # type: ignore[arg-type]


def run(
    claim: Claim,
    store: JobStore,
    blobs: BlobStore,
    results: Path,
    *,
    trusted: bool,
    backend: str = "numpy",
    client: Any = None,
    released: Callable[[], bool] | None = None,
    watch: Watch | None = None,
    documents: Documents | None = None,
    warnings: bool = False,
) -> JobStatus | None:
    """Runs the claimed attempt to its end; returns the state recorded, or None when the
    attempt lost its lease (another attempt owns the job now) or was released (the
    server is stopping: ``released()`` became true). ``watch``: the worker's own (kept
    between attempts), else one for this attempt alone; ``documents``: the worker's
    documents read last. ``warnings``: the attempt has the process to itself, and
    records every warning raised in it (``warned.in_process``) with its end state."""
    documents = documents or Documents(0)
    recording: contextlib.AbstractContextManager[list[tuple[type[Warning], str]]] = (
        warned.in_process() if warnings else contextlib.nullcontext([])
    )
    with recording as seen:
        if watch is not None:
            return _run(
                claim, store, blobs, results, trusted, backend, client, watch, documents, seen
            )
        watch = Watch(store, released)
        try:
            return _run(
                claim, store, blobs, results, trusted, backend, client, watch, documents, seen
            )
        finally:
            watch.close()


class Documents:
    """The documents a worker read last, by the digest of their text: a job sending a
    graph an earlier one sent (a loop of jobs, a workflow called again with other
    arguments) runs the nodes read then, without reading and checking the document
    again (the server checked it before recording the job; this process, when it first
    read it). Their literals stay mapped, as ``ServerBlobs`` keeps them."""

    def __init__(self, size: int = KEPT_DOCUMENTS) -> None:
        self._size = size
        self._kept: collections.OrderedDict[str, Document] = collections.OrderedDict()

    def read(self, graph: Any, blobs: BlobStore, trusted: bool) -> Document:
        if self._size <= 0:
            return read_document(graph, blobs, trusted=trusted)
        try:
            text = json.dumps(graph, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):  # refused by the reader, with its reason
            return read_document(graph, blobs, trusted=trusted)
        key = hashlib.sha256(text.encode()).hexdigest()
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        document = self._kept[key] = read_document(graph, blobs, trusted=trusted)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return document


def _run(
    claim: Claim,
    store: JobStore,
    blobs: BlobStore,
    results: Path,
    trusted: bool,
    backend: str,
    client: Any,
    watcher: Watch,
    documents: Documents,
    seen: list[tuple[type[Warning], str]],
) -> JobStatus | None:
    from lazyarray.execution.compute import compute

    request = claim.request
    fmt = request.get("format") or "npy"
    path = results / f"{claim.job_id}.{claim.attempt}.{fmt}"
    with watcher.watching(claim) as watch:
        try:
            document = documents.read(request["graph"], blobs, trusted)
            arguments = read_arguments(request.get("arguments") or {}, blobs)
        except Exception as error:
            return _failed(claim, store, error, seen)
        with (
            labelled(document.nodes),
            running_as(request.get("errstate"), request.get("options"), client is not None),
        ):
            try:  # planning (and a dask backend's lowering) happen here: the watch beats
                job = compute(
                    document.outputs,
                    block=False,
                    backend=backend,
                    client=client,
                    arguments=arguments,
                    cache=False,
                )
            except Exception as error:
                return _failed(claim, store, error, seen)
            next_progress = time.monotonic()
            while True:
                if watch.stop.is_set():
                    job.cancel()
                try:
                    values = job.result(timeout=POLL_SECONDS)
                    break
                except JobTimeoutError:
                    if watch.released or watch.lost:
                        job.cancel()
                        _settle(job, path)
                        if watch.released:  # shutting down: back to Pending, uncounted
                            store.release(claim)
                        return None
                    if time.monotonic() >= next_progress:
                        next_progress = time.monotonic() + BEAT_SECONDS
                        watch.progress = job.status()
                except Exception as error:
                    path.unlink(missing_ok=True)
                    if job.status()["status"] != JobStatus.CANCELLED:
                        return _failed(claim, store, error, seen)
                    if watch.released:
                        store.release(claim)
                        return None
                    ok = store.finish(
                        claim,
                        JobStatus.CANCELLED,
                        errors=[TIMED_OUT] if watch.timed_out else [],
                        message=TIMED_OUT["message"] if watch.timed_out else "cancelled",
                        warnings=warned.entries(seen),
                    )
                    return JobStatus.CANCELLED if ok else None
        try:
            data = encode(list(values), [node.type for node in document.outputs], fmt, path)
        except Exception as error:
            return _failed(claim, store, error, seen)
    steps = job.status()["total_steps"] or None
    if store.finish(
        claim,
        JobStatus.COMPLETED,
        result=path.name,
        data=data,
        total_steps=steps,
        warnings=warned.entries(seen),
    ):
        return JobStatus.COMPLETED
    path.unlink(missing_ok=True)  # a stale attempt's file is never served
    return None


def encode(values: list[Any], types: list[ArrayType], fmt: str, path: Path) -> bytes | None:
    """The result in its format: bytes to keep in the job's row when it is small (no
    file, no fsyncs besides the row's), else written to ``path`` (atomically, streamed)
    and None. One output as compute writes it; several as one npz (``tuple_members``)."""
    from lazyarray.execution import formats

    size = sum(np.asarray(np.ma.getdata(value)).nbytes for value in values)
    if len(values) == 1:
        if size <= INLINE_BYTES:
            return bytes(formats.serialize(values[0], types[0], fmt))
        formats.write(values[0], types[0], fmt, str(path))
        return None
    if size <= INLINE_BYTES:
        buffer = io.BytesIO()
        np.savez(buffer, **tuple_members(values, types))  # type: ignore[arg-type]
        return buffer.getvalue()
    write_tuple(values, types, path)
    return None


class Attempt:
    """What the watch learned about one running attempt: whether it must stop (a cancel
    asked for, its deadline passed, the server releasing it, its lease lost to another
    attempt); ``progress`` is what the attempt reports at its next heartbeat."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.stop = threading.Event()  # set: the attempt must stop
        self.progress: dict[str, Any] = {}
        self.timed_out = self.released = self.lost = False


class Watch(threading.Thread):
    """Beside a worker's attempts, one at a time: renews the lease of the running one,
    records its progress, and learns whether it must stop, whatever the attempt is busy
    with. One thread, started with the first attempt and kept for the next ones (an
    attempt neither starts nor joins a thread)."""

    def __init__(self, store: JobStore, released: Callable[[], bool] | None) -> None:
        super().__init__(daemon=True, name="lazyarray-watch")
        self.store = store
        self._released = released
        self._changed = threading.Condition()
        self._current: Attempt | None = None
        self._closed = False

    @contextlib.contextmanager
    def watching(self, claim: Claim) -> Iterator[Attempt]:
        attempt = Attempt(claim)
        with self._changed:
            self._current = attempt
            self._changed.notify()
        if self.ident is None:
            self.start()
        try:
            yield attempt
        finally:
            with self._changed:  # the thread lets it go at its next look
                self._current = None

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        if self.ident is not None:
            self.join()

    def run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._current is not None or self._closed)
                if self._closed:
                    return
                attempt = self._current
            assert attempt is not None
            self._watch(attempt)

    def _watch(self, attempt: Attempt) -> None:
        """Looks every ``POLL_SECONDS`` while ``attempt`` runs (what it sets on an
        attempt that has just ended is never read)."""
        claim = attempt.claim
        beat = min(self.store.lease_seconds / 3, BEAT_SECONDS)
        next_beat = time.monotonic() + beat
        while True:
            with self._changed:
                self._changed.wait_for(
                    lambda: self._current is not attempt or self._closed, POLL_SECONDS
                )
                if self._current is not attempt or self._closed:
                    return
            if self._released is not None and not attempt.released and self._released():
                attempt.released = True
            if claim.deadline is not None and time.time() >= claim.deadline:
                attempt.timed_out = True
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + beat
                progress = attempt.progress
                asked = self.store.heartbeat(
                    claim,
                    progress.get("completed_steps", 0),
                    progress.get("total_steps", 0),
                    progress.get("message", ""),
                )
            else:
                asked = self.store.asked(claim)
            attempt.lost = asked is None
            if asked or attempt.lost or attempt.timed_out or attempt.released:
                attempt.stop.set()


def _settle(job: Any, path: Path) -> None:
    """Waits for a cancelled job to stop, so that the file it may be writing is removed
    after it is written."""
    with contextlib.suppress(Exception):
        job.result(timeout=SETTLE_SECONDS)
    path.unlink(missing_ok=True)


def _failed(
    claim: Claim,
    store: JobStore,
    error: BaseException,
    seen: Sequence[tuple[type[Warning], str]] = (),
) -> JobStatus | None:
    entry = describe(error)
    ok = store.finish(
        claim,
        JobStatus.ERRORED,
        errors=[entry],
        message=entry["message"],
        warnings=warned.entries(seen),
    )
    return JobStatus.ERRORED if ok else None
