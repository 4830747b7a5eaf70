"""A repository as a compute destination: ``x.compute(destination=repo.destination(n))``.

It implements execution's destination protocol (``write``) and the chunk sink a
streaming backend writes into (``jobs.ChunkSink``: ``chunk_target``, ``discard``), so
execution and the backends never import this package.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from lazyarray.artifacts.handlers import Artifact, get_handler, infer_handler
from lazyarray.artifacts.repository import Repository
from lazyarray.artifacts.storage import Staging
from lazyarray.execution.destinations import ResultInfo
from lazyarray.graph import Node
from lazyarray.jobs import Streamed

INLINE_GRAPH_BYTES = 65536  # a graph with a literal larger than this is kept by digest only


def graph_document(node: Node) -> dict[str, Any] | None:
    """The graph document of ``node`` when every literal is small enough to inline, so
    the version can be computed again from it; None otherwise."""
    from lazyarray.serialize import blob_references, to_dict
    from lazyarray.stores.blobs import MemoryBlobs

    try:
        document = to_dict(node, blobs=MemoryBlobs(), inline_bytes=INLINE_GRAPH_BYTES)
    except Exception:
        return None
    return None if blob_references(document) else document


class ArtifactDestination:
    """Saves a compute result as the next version of ``name``, committed at once."""

    def __init__(
        self,
        repository: Repository,
        name: str,
        handler: str | None,
        expiry: dt.datetime | None,
        writer_kwargs: dict[str, Any],
    ) -> None:
        self.repository = repository
        self.name = name
        self.handler = handler
        self.expiry = expiry
        self.writer_kwargs = writer_kwargs
        self._staging: Staging | None = None

    def __repr__(self) -> str:
        return f"<artifact destination {self.name!r} in {self.repository.root!r}>"

    def chunk_target(
        self, shape: tuple[int, ...], dtype: np.dtype[Any], chunks: tuple[int, ...]
    ) -> Any:
        """A zarr array in the new version's (hidden) folder, for a backend to write
        block by block; None when another handler than zarr was asked for. Its chunks
        are the writer's ``chunks=`` when given (the backend writes by the target's
        chunks), else the backend's ``chunks``."""
        if self.handler not in (None, "zarr"):
            return None
        zarr_handler = get_handler("zarr")
        repository = self.repository
        self._staging = repository.storage.begin(self.name, repository._next_version(self.name))
        store = self._staging.zarr_store(f"{self.name}.{zarr_handler.suffix}")
        kwargs = dict(self.writer_kwargs)
        chosen = kwargs.pop("chunks", chunks)
        try:
            return zarr_handler.create(store, shape, dtype, chosen, **kwargs)  # type: ignore[attr-defined]
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Removes what a failed streaming run wrote: nothing of it becomes visible."""
        if self._staging is not None:
            self._staging.abort()
            self._staging = None

    def write(self, value: Any, result: ResultInfo) -> Artifact:
        """Commits the result (written here, or streamed already) with its provenance;
        returns the version's record (``.version``, ``.fname``; its value not kept)."""
        graph = graph_document(result.node)
        provenance = {**result.provenance, "graph_document": graph is not None}
        repository = self.repository
        staging, self._staging = self._staging, None
        if isinstance(value, Streamed):
            if staging is None:
                raise RuntimeError("a streamed result without a chunk target")
            kind = get_handler("zarr")
            artifact = kind.construct(
                self.name,
                fname=f"{self.name}.{kind.suffix}",
                expiry=self.expiry,
                writer_kwargs=self.writer_kwargs,
                version=repository._next_version(self.name),
            )
        else:
            if staging is not None:  # a target offered but not used
                staging.abort()
                staging = None
            kind = infer_handler(value) if self.handler is None else get_handler(self.handler)
            artifact = kind.construct(
                self.name,
                value,
                expiry=self.expiry,
                writer_kwargs=self.writer_kwargs,
                version=repository._next_version(self.name),
            )
        repository._write(artifact, staging, provenance, graph)
        return artifact


__all__ = ["ArtifactDestination", "graph_document"]
