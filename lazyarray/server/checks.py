"""What a request must pass before it is recorded: its document read, its format and
arguments checked, the plan's projected result and peak within the limits. Passed checks
are remembered: the same graph submitted again with the same arguments (a workflow called
again, a job retried, a loop of tiny jobs) is not read and planned again."""

from __future__ import annotations

import collections
import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lazyarray.errors import ArgumentError, DocumentTooLarge, LazyArrayError, ResourceExhausted
from lazyarray.graph import Node
from lazyarray.server.blobs import short_npy
from lazyarray.server.limits import ServerLimits, check_projection, standin
from lazyarray.server.responses import ApiError
from lazyarray.server.runner import Document, describe, labelled, read_document
from lazyarray.stores.blobs import BlobStore

MEDIA = {
    "npy": "application/x-npy",
    "npz": "application/x-npz",
    "json": "application/json",
    "arrow": "application/vnd.apache.arrow.stream",
}
REMEMBERED = 4096  # passed checks kept (a key each)


def described(status: int, error: BaseException, graph: Any = None) -> ApiError:
    """The refusal of a typed error carrying a job error's fields: the failing op and
    node (its position in the submitted document's nodes), where one node raised it;
    an op the error does not name is read from the document ``graph``, where given."""
    entry = describe(error)
    if entry["node"] is not None and entry["op"] is None:
        entry["op"] = _op_of(graph, entry["node"])
    return ApiError(status, entry["message"], entry["type"], extra=entry)


def _op_of(graph: Any, index: int) -> str | None:
    """The op name of node ``index`` of a document, as sent (it may be unknown)."""
    try:
        op = graph["graph"]["nodes"][index][0]
    except (KeyError, IndexError, TypeError):
        return None
    return op[:200] if isinstance(op, str) else None


def default_format(outputs: Sequence[Node]) -> str:
    """The format that holds the result: npy for one unmasked result, npz for a masked
    one or several."""
    if len(outputs) == 1 and not outputs[0].type.masked:
        return "npy"
    return "npz"


def result_format(name: str) -> str:
    """``name`` when it is a result format the server writes, else a 422."""
    if name not in MEDIA:
        raise ApiError(
            422, f"unknown result format {name!r}; choose one of {', '.join(MEDIA)}", "FormatError"
        )
    return name


class RequestChecks:
    """``check(graph, arguments, format, result_bytes)`` returns the result's format
    (``format``, or where it is None the one that holds the result: ``default_format``)
    or raises the refusal (``ApiError``: 413 over a limit, 422 anything else; an
    argument is checked before the format); ``document(...)`` also returns the document
    read. Call them under the request's errstate and options
    (``runner.running_as``): they decide what folding refuses and what the plan is, so
    they are part of what a passed check is remembered by. A blob is never deleted, so
    a document whose blobs were there is still whole. Only keys are kept, never the
    graph's nodes (which would keep the first builder's creation sites alive)."""

    def __init__(self, blobs: BlobStore, limits: ServerLimits, *, trusted: bool) -> None:
        self._blobs = blobs
        self._limits = limits
        self._trusted = trusted
        # {key: the result's format}
        self._passed: collections.OrderedDict[tuple[Any, ...], str] = collections.OrderedDict()
        self._lock = threading.Lock()

    def check(
        self,
        graph: dict[str, Any],
        arguments: Mapping[str, Any],
        format: str | None,  # noqa: A002 - the request's field
        result_bytes: int,
        *,
        digest: str | None = None,
    ) -> str:
        """``digest``: the caller's digest of a request holding at least ``graph`` and
        ``arguments`` and the errstate and options it runs under (their text is not
        written again to key the check)."""
        found = self.remembers(graph, arguments, format, result_bytes, digest=digest)
        if found is not None:
            return found
        return self.document(graph, arguments, format, result_bytes, digest=digest)[1]

    def remembers(
        self,
        graph: dict[str, Any],
        arguments: Mapping[str, Any],
        format: str | None,  # noqa: A002 - the request's field
        result_bytes: int,
        *,
        digest: str | None = None,
    ) -> str | None:
        """The result's format where the same check passed before, else None: a look-up
        that reads nothing (with a ``digest``, no errstate or options need be in force
        either)."""
        key = _key(graph, arguments, format, result_bytes, digest)
        with self._lock:
            if key is None or key not in self._passed:
                return None
            self._passed.move_to_end(key)
            return self._passed[key]

    def document(
        self,
        graph: dict[str, Any],
        arguments: Mapping[str, Any],
        format: str | None,  # noqa: A002 - the request's field
        result_bytes: int,
        *,
        digest: str | None = None,
    ) -> tuple[Document, str]:
        """The document read and the result's format."""
        document, found = self._check(graph, arguments, format, result_bytes)
        key = _key(graph, arguments, format, result_bytes, digest)
        if key is not None:
            with self._lock:
                self._passed[key] = found
                while len(self._passed) > REMEMBERED:
                    self._passed.popitem(last=False)
        return document, found

    def _check(
        self,
        graph: dict[str, Any],
        arguments: Mapping[str, Any],
        format: str | None,  # noqa: A002 - the request's field
        result_bytes: int,
    ) -> tuple[Document, str]:
        from lazyarray.execution.formats import check_format

        if format is not None:  # a name it does not know: before anything is read
            result_format(format)
        limits = self._limits
        try:
            document = read_document(
                graph, self._blobs, trusted=self._trusted, limits=limits.document
            )
            # an error raised from a node (planning folds constants) names its position
            with labelled(document.nodes):
                stand_ins = {k: _standin(k, value, self._blobs) for k, value in arguments.items()}
                # binds the arguments: an argument's refusal comes before the format's
                # (whether the format can hold the result)
                check_projection(document.outputs, stand_ins, result_bytes, limits.peak_bytes)
                format = result_format(format or default_format(document.outputs))  # noqa: A001
                check_format(format, [node.type for node in document.outputs])
        except (DocumentTooLarge, ResourceExhausted) as error:
            raise described(413, error, graph) from error
        except LazyArrayError as error:
            raise described(422, error, graph) from error
        except (ValueError, TypeError) as error:  # an argument numpy cannot read
            raise ApiError(422, f"bad argument: {error}", "ArgumentError") from error
        if not document.single and format != "npz":
            raise ApiError(422, "a tuple of results is kept as npz; format='npz'", "FormatError")
        return document, format


def _standin(name: str, value: Any, blobs: BlobStore) -> Any:
    """``limits.standin`` of the argument ``name``, its blobs (data and mask) holding
    all the data their headers declare (``short_npy``): a refusal names the argument."""
    try:
        found = standin(value, blobs)
        if isinstance(value, Mapping):
            for digest in (value.get("blob"), value.get("mask")):
                short = None if digest is None else short_npy(blobs, digest)
                if short is not None:
                    raise ArgumentError(short)
    except (ArgumentError, ValueError, TypeError) as error:  # numpy's too: a ragged list
        raise ArgumentError(f"argument {name!r}: {error}") from None
    return found


def _key(
    graph: dict[str, Any],
    arguments: Mapping[str, Any],
    kind: str | None,
    result_bytes: int,
    digest: str | None = None,
) -> tuple[Any, ...] | None:
    """What decides a check: the graph's and the arguments' text (an argument blob by
    its content's digest), the format and limit, and the errstate and options in force;
    or the caller's ``digest`` of all of them, the format and limit."""
    from lazyarray import config

    if digest is not None:
        return (digest, kind, result_bytes)
    try:
        text = json.dumps(
            [graph, arguments], sort_keys=True, separators=(",", ":"), allow_nan=False
        )
    except (TypeError, ValueError):
        return None  # refused by the checks themselves
    digest = hashlib.sha256(text.encode()).hexdigest()
    options = config.snapshot()
    return (
        digest,
        kind,
        result_bytes,
        tuple(sorted(np.geterr().items())),
        options.fast_math,
        options.disabled,
    )
