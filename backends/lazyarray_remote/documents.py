"""What a job sends: the graph document of a plan's outputs (never a pickle), its large
literals uploaded once by digest, and the arguments of the parameters it still holds.

The document lists each node once, in the writer's order; ``Submission.nodes`` keeps the
node at each position, so an error the server reports by position names the line that
built that node, as a local compute's error does."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from lazyarray import serialize
from lazyarray.graph import Literal, Node, Value, encode_value, fill_value_of, toposort
from lazyarray.jobs import RunContext
from lazyarray.planner import Plan

if TYPE_CHECKING:
    from lazyarray_remote.session import Session

# literals (and array arguments) above this many bytes travel as blobs, once each
INLINE_BYTES = 65536
BLOB_PREFIX = "sha256:"


@dataclasses.dataclass(frozen=True)
class Submission:
    """A plan's outputs as a document: ``nodes[i]`` is the node written at position ``i``
    of the document's ``nodes``; ``single`` whether it holds one output (not a tuple)."""

    document: dict[str, Any]
    nodes: tuple[Node, ...]
    outputs: tuple[Node, ...]
    single: bool

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset(self.document["graph"]["parameters"])

    @property
    def masked(self) -> bool:
        return any(node.type.masked for node in self.outputs)

    @property
    def format(self) -> str:
        """The result's format on the server: npy for one plain array, else npz (a mask,
        or a tuple); either is read back to arrays here, and formatted as asked by the
        same code as a local compute's result."""
        return "npy" if self.single and not self.masked else "npz"

    def site(self, index: Any) -> str | None:
        """The creation site (file:line) of the node at ``index`` of the document."""
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(self.nodes):
            return self.nodes[index].site_text
        return None


def submission(plan: Plan, session: Session, retries: int = 0) -> Submission:
    """The document of ``plan``'s outputs, large literals uploaded through ``session``;
    a graph holding only data that cannot change is written once per session."""
    outputs = tuple(plan.outputs)
    key = tuple(node.digest for node in outputs)
    cached = session.documents.get(key)
    if cached is not None:
        return cached
    single = len(outputs) == 1
    document = serialize.to_dict(
        outputs[0] if single else list(outputs),
        blobs=UploadingBlobs(session, retries),
        inline_bytes=INLINE_BYTES,
    )
    made = Submission(document, document_order(outputs), outputs, single)
    if not _reads_changing(plan):
        session.documents.put(key, made)
    return made


def document_order(outputs: tuple[Node, ...]) -> tuple[Node, ...]:
    """The nodes at each position of the document of ``outputs``: the writer's order
    (``toposort``, one position per distinct record)."""
    seen: set[str] = set()
    order: list[Node] = []
    for node in toposort(outputs):
        digest = node.digest
        if digest not in seen:
            seen.add(digest)
            order.append(node)
    return tuple(order)


def _reads_changing(plan: Plan) -> bool:
    """Whether a literal anywhere in the plan (a step, or inside a kernel's attributes)
    can change: its document is then written again for every job."""
    for node in plan.steps:
        stack: list[Any] = [value for _, value in node.attrs]
        while stack:
            item = stack.pop()
            if isinstance(item, Literal):
                if item.mutable:
                    return True
            elif isinstance(item, tuple):
                stack.extend(item)
            elif isinstance(item, Value):
                stack.extend(item.values())
    return False


def caller_state(context: RunContext) -> dict[str, Any]:
    """What a request carries of where the compute was asked for: numpy's error
    handling, the options that change what is computed (fast_math, disabled), and
    whether a warning of the run is an error here."""
    options = context.options
    sent: dict[str, Any] = {"fast_math": options.fast_math, "disabled": sorted(options.disabled)}
    if warnings_are_errors():
        sent["warnings"] = "error"
    return {"errstate": dict(context.errstate), "options": sent}


def warnings_are_errors() -> bool:
    """Whether this thread's warning filters make a ``RuntimeWarning`` (numpy's
    floating-point warnings, mostly) an error, whatever its message and wherever it is
    warned. A filter that asks about the message or the place, met first, leaves it to
    the warnings warned again here (``jobs.rewarn``), which the filters judge one by one."""
    for action, message, category, module, lineno in warnings.filters:
        if not issubclass(RuntimeWarning, category):
            continue
        if (message is not None and message.pattern) or module is not None or lineno:
            return False
        return action == "error"
    return False


def encode_arguments(
    arguments: Mapping[str, Any], wanted: frozenset[str], session: Session, retries: int = 0
) -> dict[str, Any]:
    """The JSON of the arguments of the parameters in ``wanted``: a finite real scalar
    as a number, anything else as an uploaded ``.npy`` blob (exact dtype, never a
    pickle); a masked array as its data's blob, its mask's blob and its fill value."""

    def uploaded(array: Any) -> str:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(array), allow_pickle=False)  # 0-d stays 0-d
        return session.upload([buffer.getvalue()], retries=retries)

    encoded: dict[str, Any] = {}
    for name in sorted(wanted & arguments.keys()):
        value = arguments[name]
        if isinstance(value, np.ma.MaskedArray):  # np.ma.masked too
            encoded[name] = {
                "blob": uploaded(np.ma.getdata(value)),
                "format": "npy",
                "mask": uploaded(np.ma.getmaskarray(value)),
                "fill_value": encode_value(fill_value_of(value)),
            }
            continue
        number = _number(value)
        if number is not None:
            encoded[name] = number
            continue
        encoded[name] = {"blob": uploaded(value), "format": "npy"}
    return encoded


def _number(value: Any) -> bool | int | float | None:
    """A 0-d bool, int or finite float as a JSON number (``numpy.asarray`` of it on the
    server casts back to the same value); None for anything else."""
    array = np.asarray(value)
    if array.ndim or array.dtype.kind not in "biuf":
        return None
    item = array.item()
    if isinstance(item, float) and not math.isfinite(item):
        return None
    if array.dtype.kind == "f" and array.dtype.itemsize > 8:
        return None  # long double: not a JSON number without loss
    return item  # type: ignore[no-any-return]


class UploadingBlobs:
    """The blob store ``serialize.to_dict`` writes large literals to: each blob is hashed
    as written and uploaded unless the session already did (``Session.upload``)."""

    def __init__(self, session: Session, retries: int = 0) -> None:
        self._session = session
        self._retries = retries

    def put(self, data: bytes | memoryview) -> str:
        return self._session.upload([data], retries=self._retries)

    @contextlib.contextmanager
    def writer(self) -> Iterator[Any]:
        sink = _Pieces()
        yield sink
        sink.digest = BLOB_PREFIX + sink.hasher.hexdigest()
        self._session.upload(sink.parts, sink.digest, self._retries)

    def get(self, digest: str) -> bytes:
        raise KeyError(digest)  # written only: the server reads them

    def open(self, digest: str) -> Any:
        raise KeyError(digest)

    def path(self, digest: str) -> None:
        return None

    def __contains__(self, digest: object) -> bool:
        return False


class _Pieces:
    """What the writer writes, hashed and kept as given: the npy header, then views of
    the literal's own memory (or the blocks of a strided one), never joined into one
    copy; the literal outlives the upload (the plan holds it)."""

    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = []
        self.hasher = hashlib.sha256()
        self.digest = ""

    def write(self, data: bytes | memoryview) -> int:
        self.hasher.update(data)
        self.parts.append(data)
        return memoryview(data).nbytes
