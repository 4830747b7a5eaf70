"""The store folder's layout: where the job store, registry, blobs, results and the
dataset catalog live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lazyarray.server.blobs import ServerBlobs
from lazyarray.server.store import LEASE_SECONDS, JobStore

if TYPE_CHECKING:
    from lazyarray.datasets.catalog import Catalog


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def create(cls, root: str | Path) -> Layout:
        """The layout of ``root``, its folders made; the store is its owner's alone
        (mode 0700: every owner's jobs and results are in it, whatever the umask)."""
        layout = cls(Path(root).expanduser().resolve())
        for folder in (layout.root, layout.results, layout.root / "blobs"):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        found = layout.root.stat()
        if found.st_mode & 0o077 and found.st_uid == getattr(os, "getuid", lambda: -1)():
            layout.root.chmod(0o700)
        return layout

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    @property
    def catalog_folder(self) -> Path:
        return self.root / "catalog"

    def catalog(self) -> Catalog:
        """The server's dataset catalog (a folder catalog: SQLite beside the data)."""
        from lazyarray.datasets.catalog import Catalog

        return Catalog(self.catalog_folder)

    @property
    def jobs_file(self) -> Path:
        return self.root / "jobs.sqlite3"

    def jobs(self, *, lease_seconds: float = LEASE_SECONDS) -> JobStore:
        return JobStore(self.jobs_file, lease_seconds=lease_seconds)

    def blobs(self) -> ServerBlobs:
        """The blob store, written only through its verifying writer (``PUT``)."""
        return ServerBlobs(self.root / "blobs")
