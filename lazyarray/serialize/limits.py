"""What a reader accepts: every document is measured against these before it is read
further, so a hostile one costs bounded time and memory."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on one document (``from_json(..., limits=Limits(nodes=10_000))``)."""

    document_bytes: int = 1 << 30  # the JSON text: 1 GiB
    nesting: int = 64  # JSON arrays and objects inside each other
    nodes: int = 1_000_000
    depth: int = 1_000_000  # the longest chain of nodes, from a source to an output
    literal_bytes: int = 1 << 34  # all literals' data together (inline and in blobs): 16 GiB
    inline_bytes: int = 256 << 20  # the decoded bytes of one inline literal: 256 MiB


DEFAULT = Limits()
