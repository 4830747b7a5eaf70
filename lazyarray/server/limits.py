"""What the server accepts, checked before any work: the request body (an ASGI
middleware, before FastAPI parses it), the document (the reader's ``Limits``: nodes,
nesting, chain depth, literal bytes), and the plan's projected result and peak memory,
planned over stand-ins of the arguments (their shapes and dtypes, no data)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import numpy as np

from lazyarray.errors import ArgumentError, DocumentTooLarge, ResourceExhausted
from lazyarray.graph import Node
from lazyarray.serialize.limits import Limits
from lazyarray.server.blobs import npy_head
from lazyarray.server.responses import error_body
from lazyarray.stores.blobs import BlobStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNAUTHORIZED = ((b"www-authenticate", b"Bearer"),)
ENVELOPE = 4  # the request's own nesting around its graph document and arguments


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """The server's bounds (``lazyarray serve`` takes the defaults)."""

    body_bytes: int = 256 << 20  # a JSON request body
    blob_bytes: int = 16 << 30  # one uploaded blob
    document: Limits = dataclasses.field(
        default_factory=lambda: Limits(document_bytes=256 << 20, nodes=100_000, depth=100_000)
    )
    result_bytes: int = 16 << 30  # a job's projected result
    peak_bytes: int | None = None  # a job's projected peak memory (None: unchecked)
    inspect_bytes: int = 16 << 20  # an inspect's projected result
    inspect_seconds: float = 10.0
    outstanding_jobs: int = 1000  # Pending and Running jobs of one owner
    retry_after: int = 2  # seconds, in a 429's Retry-After
    job_seconds: float | None = None  # the longest deadline a job may ask for (None: any)


class BodyLimit:
    """Before the app reads a body: refuses a request without a valid bearer token with
    401 (no body is read for a stranger; every route that takes one needs a token), a
    body over its limit with 413 (by its declared length, or as it streams in), and a
    JSON body nested deeper than a document may be (Python's parser recurses) with 413."""

    def __init__(
        self, app: ASGIApp, limits: ServerLimits, authorized: Callable[[str | None], bool]
    ) -> None:
        self.app = app
        self.limits = limits
        self.authorized = authorized  # of an Authorization header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        bodiless = scope.get("method") in ("GET", "HEAD", "DELETE", "OPTIONS")
        if scope["type"] != "http" or bodiless or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = {key.lower(): value for key, value in scope.get("headers", ())}
        header = headers.get(b"authorization")
        if not self.authorized(None if header is None else header.decode("latin-1")):
            await _answer(
                send, 401, "Unauthorized", "a valid bearer token is required", UNAUTHORIZED
            )
            return
        blob = scope["path"].startswith("/v1/blobs/")
        limit = self.limits.blob_bytes if blob else self.limits.body_bytes
        declared = headers.get(b"content-length")
        too_large = f"a request body over {limit} bytes"
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, "DocumentTooLarge", too_large)
            return
        if blob:  # streamed to the blob store: counted as it comes
            await self.app(scope, _counting(receive, limit), send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if len(body) > limit:
                await _answer(send, 413, "DocumentTooLarge", too_large)
                return
            if not message.get("more_body", False):
                break
        from lazyarray.serialize.text import nesting

        allowed = self.limits.document.nesting + ENVELOPE
        # a body with no more brackets than the limit cannot nest deeper (the scan of
        # most requests: two counts in C, not the scan's dozen array passes)
        opened = body.count(b"[") + body.count(b"{")
        deepest = nesting(bytes(body)) if opened > allowed else opened
        if deepest > allowed:
            await _answer(send, 413, "DocumentTooLarge", f"JSON nested {deepest} deep (too deep)")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise DocumentTooLarge(f"a blob over {limit} bytes", "")
        return message

    return counted


async def _answer(
    send: Send,
    status: int,
    error_type: str,
    message: str,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    body = json.dumps(error_body(message, error_type)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def standin(value: Any, blobs: BlobStore) -> Any:
    """What an argument is for planning: a number or nested list as it is (the body's
    limit bounds it; Python numbers, weak as in a local compute), a blob as an array of
    its header's shape and dtype holding no data (its bytes are not read); a masked one
    (``"mask"``, ``"fill_value"``) checked as ``masked_argument`` checks it."""
    if not isinstance(value, Mapping):
        np.asarray(value)  # refuses a ragged list here, naming the argument
        return value  # Python numbers stay weak, as in a local compute
    unknown = sorted(set(value) - {"blob", "format", "mask", "fill_value"})
    if "blob" not in value or unknown:
        raise ArgumentError(
            'an argument object is {"blob": digest} (with "mask" and "fill_value" for a '
            f"masked array), not one with the keys {sorted(value)}"
        )
    if value.get("format", "npy") != "npy":
        raise ArgumentError(f"an argument blob is an .npy file, not {value.get('format')!r}")
    data = _header_standin(value.get("blob"), blobs)
    if "mask" not in value:
        return data
    return masked_argument(data, _header_standin(value["mask"], blobs), value.get("fill_value"))


def masked_argument(data: Any, mask: Any, fill_value: Any) -> np.ma.MaskedArray[Any, Any]:
    """A masked argument from its data, its mask (booleans of the data's shape) and its
    fill value (a scalar as a graph document writes one; None, left out: numpy.ma's
    default for the data's dtype, as a local masked array made without one has)."""
    from lazyarray.errors import LazyArrayError
    from lazyarray.serialize.literals import masked_with_fill
    from lazyarray.serialize.values import Decoder

    if mask.dtype != np.bool_ or mask.shape != data.shape:
        raise ArgumentError(
            f"a mask is booleans of its data's shape {data.shape}, not {mask.dtype} "
            f"of shape {mask.shape}"
        )
    if fill_value is None:
        return np.ma.MaskedArray(data, mask=mask, copy=False)
    try:
        fill = Decoder(_no_literal, False, 4).value(fill_value, "/fill_value")
    except LazyArrayError as error:
        raise ArgumentError(f"a bad fill value: {error}") from None
    if not isinstance(fill, np.generic):
        raise ArgumentError(
            f'a fill value is a scalar as a graph document writes one, {{"scalar": [dtype, '
            f"hex of its bytes]}}, not {_shown(fill_value)}; leave it out for numpy's default"
        )
    return masked_with_fill(data, mask, fill)


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _no_literal(digest: str, path: str) -> Any:
    raise ArgumentError("a fill value is a scalar, not a literal")


def _header_standin(digest: Any, blobs: BlobStore) -> Any:
    if not isinstance(digest, str) or digest not in blobs:
        raise ArgumentError(f"no blob {digest!r}: upload it first (PUT /v1/blobs/{{digest}})")
    try:
        shape, dtype, _ = npy_head(blobs, digest)
        if dtype.hasobject:
            raise ValueError("it holds Python objects, which are never read")
        return np.broadcast_to(np.zeros((), dtype), shape)
    except ValueError as error:
        raise ArgumentError(f"blob {digest} is not an .npy file numpy can read: {error}") from None


def projected(outputs: list[Node], arguments: Mapping[str, Any]) -> tuple[int | None, int]:
    """The plan's result bytes (None when unknown) and estimated peak bytes, for
    arguments (or stand-ins) ``arguments``."""
    from lazyarray.config import snapshot
    from lazyarray.planner.bind import bind_arguments
    from lazyarray.planner.plan import make_plan, parameters_of

    options = snapshot()
    parameters = parameters_of(outputs)
    bound = bind_arguments(parameters, arguments) if parameters or arguments else {}
    plan = make_plan(outputs, bound, options.disabled)
    return plan.bytes_written, plan.peak_bytes(options.block_bytes, options.threads or 1)


def check_projection(
    outputs: list[Node],
    arguments: Mapping[str, Any],
    result_limit: int,
    peak_limit: int | None,
) -> None:
    """``ResourceExhausted`` when the projected result or peak is over its limit."""
    result, peak = projected(outputs, arguments)
    if result is not None and result > result_limit:
        raise ResourceExhausted(
            f"the result would take {result} bytes, over the server's limit of {result_limit}"
        )
    if peak_limit is not None and peak > peak_limit:
        raise ResourceExhausted(
            f"the computation would hold about {peak} bytes at its peak, over the server's"
            f" limit of {peak_limit}"
        )
