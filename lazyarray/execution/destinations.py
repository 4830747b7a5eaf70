"""Where ``compute`` sends a result instead of returning it: a destination is any object
with ``write(value, result)``, whose return value ``compute`` returns (an artifact
repository's destination returns the version it wrote). Execution knows only this
protocol: sinks live above it (``lazyarray.artifacts``) and reach it as objects, or as a
URL whose scheme a layer above maps to one (``DESTINATION_SCHEMES``).

A destination that also has ``chunk_target`` (``jobs.ChunkSink``) is offered to a
backend that streams (``Backend.streams``): a lone array result is then written block
by block and ``write`` receives ``jobs.Streamed`` in place of the value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from lazyarray.errors import FormatError
from lazyarray.graph import Node, content_digest
from lazyarray.types import ArrayType
from lazyarray.version import __version__


@dataclasses.dataclass(frozen=True)
class ResultInfo:
    """What a destination is told about the value it writes: its type, the graph that
    computed it, and provenance enough to compute it again (``provenance``)."""

    type: ArrayType
    node: Node
    provenance: Mapping[str, Any]


@runtime_checkable
class Destination(Protocol):
    def write(self, value: Any, result: ResultInfo) -> Any:
        """Keeps ``value`` (or, streamed, commits what the backend wrote); its return
        value is what ``compute`` returns."""


# a destination named by URL, by scheme: lazyarray's root module maps "artifact" to
# the repository of the ``artifacts`` option (a layer above this one)
DESTINATION_SCHEMES: dict[str, Callable[[str], Destination]] = {}


def resolve(destination: object) -> Destination | None:
    """The destination object for ``compute(destination=...)``; None for "download"
    (the result is returned). Unknown names and schemes are refused before anything
    runs."""
    if isinstance(destination, str):
        if destination == "download":
            return None
        scheme, separator, _ = destination.partition("://")
        if separator and scheme in DESTINATION_SCHEMES:
            return DESTINATION_SCHEMES[scheme](destination)
        known = ", ".join(["'download'", *(f"'{s}://...'" for s in sorted(DESTINATION_SCHEMES))])
        raise FormatError(f"unknown destination {destination!r}; choose one of {known}")
    if isinstance(destination, Destination):
        return destination
    raise FormatError(
        "destination= takes 'download', a URL such as 'artifact://name', or an object "
        f"with a write(value, result) method, not {type(destination).__name__}"
    )


def provenance(
    node: Node, arguments: Mapping[str, Any], versions: Mapping[str, str]
) -> dict[str, Any]:
    """How a result was made: the digest of its graph as written (``la.serialize``'s
    digest), the content digest of each argument, and the versions that decide its bits
    (lazyarray's, the backend's)."""
    return {
        "graph": node.digest,
        "arguments": {name: content_digest(arguments[name]) for name in sorted(arguments)},
        "lazyarray": __version__,
        "backend": dict(versions),
    }
