"""The store folder's layout: where the job store, registry, blobs and results live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lazyarray.server.blobs import ServerBlobs
from lazyarray.server.store import LEASE_SECONDS, JobStore


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def create(cls, root: str | Path) -> Layout:
        layout = cls(Path(root).expanduser().resolve())
        for folder in (layout.root, layout.results, layout.root / "blobs"):
            folder.mkdir(parents=True, exist_ok=True)
        return layout

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    def jobs(self, *, lease_seconds: float = LEASE_SECONDS) -> JobStore:
        return JobStore(self.root / "jobs.sqlite3", lease_seconds=lease_seconds)

    def blobs(self) -> ServerBlobs:
        """The blob store, written only through its verifying writer (``PUT``)."""
        return ServerBlobs(self.root / "blobs")
