"""A versioned repository of artifacts on a local folder or an fsspec store.

``log_artifact`` records a value as the next version of its name, dirty (in memory);
``save`` writes every dirty version, each made visible at once by its manifest
(``storage.py``); a committed version is never written again. ``load_artifact`` reads
the latest committed version, or the one asked for; an expired version is refused, and
removed by ``prune``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import threading
from typing import Any

from lazyarray.artifacts.handlers import Artifact, get_handler, infer_handler, utcnow
from lazyarray.artifacts.storage import Manifest, Staging, Storage, open_storage
from lazyarray.errors import (
    ArgumentError,
    ArtifactError,
    ArtifactExpired,
    ArtifactNotFound,
    UntrustedArtifact,
)
from lazyarray.stores.names import check_name

FORMAT = 1  # the manifest's format version
GRAPH = "graph.json"  # beside a computed version: the graph document that made it


def _expiry(value: dt.datetime | dt.timedelta | None) -> dt.datetime | None:
    """An expiry as an aware UTC time: a ``timedelta`` counts from now, a naive
    ``datetime`` is taken as UTC."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return utcnow() + value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    raise ArtifactError(f"expiry is a datetime or a timedelta, not {type(value).__name__}")


def _time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _jsonable(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Writer keywords as the manifest records them (repr for what JSON cannot hold)."""
    return {k: v if _is_json(v) else repr(v) for k, v in kwargs.items()}


def _check_fname(fname: object) -> None:
    """A manifest's file name stays inside its version's folder (a manifest is data: a
    repository written by someone else may hold anything)."""
    if (
        not isinstance(fname, str)
        or not fname
        or fname.startswith(".")
        or any(char in fname for char in "/\\\x00:")
    ):
        raise ArtifactError(f"a manifest names the file {fname!r}, outside its version")


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _check_version(version: object) -> None:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ArgumentError(
            f"version is a version number (an int) or None, not {type(version).__name__}"
        )


def _check_stored(artifact: Artifact, expected: list[str], staging: Staging) -> None:
    """Every file of a complete multi-file version is in its staging: chunks stored
    where this process cannot see them (workers in other processes writing into a
    ``memory://`` store of their own) would otherwise commit an empty array."""
    prefix = f"{artifact.fname}/"
    found = {p[len(prefix) :] for p in staging.files() if p.startswith(prefix)}
    missing = [key for key in expected if key not in found]
    if missing:
        raise ArtifactError(
            f"artifact {artifact.name!r}: {len(missing)} of the {len(expected)} files of "
            f"{artifact.fname} are not in the repository ({missing[0]}, ...); they were "
            "written where this process cannot see them (workers in other processes and a "
            "memory:// repository?): use a folder or an object store the workers share"
        )


class Repository:
    """Versioned artifacts under ``root``: a folder, or an fsspec URL (``s3://...``,
    ``memory://...``). ``trusted=False`` refuses to read artifacts whose handler runs
    code (pickle): open a repository you did not write that way."""

    def __init__(self, root: str | os.PathLike[str], *, trusted: bool = True) -> None:
        self.storage: Storage = open_storage(root)
        self.root = self.storage.url
        self.trusted = trusted
        self._pending: list[Artifact] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Repository({self.root!r})"

    # --- writing ------------------------------------------------------------------------

    def log_artifact(
        self,
        name: str,
        value: Any,
        handler: str | None = None,
        expiry: dt.datetime | dt.timedelta | None = None,
        **writer_kwargs: Any,
    ) -> Artifact:
        """Records ``value`` as the next version of ``name`` (dirty until ``save()``),
        written by the handler ``handler`` or the one inferred from the value. The value
        is written when ``save()`` runs: do not change it in between."""
        check_name(name, "artifact name")
        from lazyarray.proxy.base import BaseArray

        if isinstance(value, BaseArray):
            raise ArtifactError(
                f"a lazy array is saved by computing it there: "
                f"x.compute(destination=repo.destination({name!r})) (streamed on the dask "
                "backend); or log its computed value, x.compute()"
            )
        kind = infer_handler(value) if handler is None else get_handler(handler)
        with self._lock:
            artifact = kind.construct(
                name,
                value,
                expiry=_expiry(expiry),
                writer_kwargs=writer_kwargs,
                version=self._next_version(name),
            )
            kind.check_writer(value, writer_kwargs)  # a dry run on an empty value: cheap
            self._pending.append(artifact)
        return artifact

    def _next_version(self, name: str) -> int:
        """Above every committed, removed (``prune``) or logged version of ``name``."""
        committed = self.storage.manifests(name)
        pending = [a.version for a in self._pending if a.name == name]
        return max([0, *committed, self.storage.removed(name), *pending]) + 1

    def save(self) -> list[Artifact]:
        """Writes every dirty version (its files, then its manifest); returns them with
        the version numbers they were committed under (the next free one, if another
        writer took theirs). A version that fails to write stays dirty, with the later
        versions of its name; the others are written, then ``ArtifactError`` lists the
        failures (``discard`` drops a dirty version)."""
        with self._lock:
            pending, self._pending = self._pending, []
        saved: list[Artifact] = []
        failed: list[tuple[Artifact, Exception]] = []
        try:
            for artifact in pending:
                if any(a.name == artifact.name for a, _ in failed):
                    continue  # a name's versions are committed in order
                try:
                    self._write(artifact)
                except Exception as exc:
                    failed.append((artifact, exc))
                else:
                    saved.append(artifact)
        finally:
            with self._lock:
                self._pending[:0] = [a for a in pending if a.dirty]
        if failed:
            shown = "; ".join(f"{a.name!r} version {a.version}: {exc}" for a, exc in failed)
            written = f" ({len(saved)} others were saved)" if saved else ""
            raise ArtifactError(
                f"save could not write {shown}{written}; they stay dirty: save() again, "
                "or discard(name, version)"
            ) from failed[0][1]
        return saved

    def discard(self, name: str, version: int | None = None) -> list[Artifact]:
        """Drops dirty (logged, not saved) versions of ``name``: ``version``, or all of
        them; returns those dropped."""
        _check_version(version)
        with self._lock:
            dropped = [
                a
                for a in self._pending
                if a.name == name and (version is None or a.version == version)
            ]
            self._pending = [a for a in self._pending if a not in dropped]
        return dropped

    def _write(
        self,
        artifact: Artifact,
        staging: Staging | None = None,
        provenance: dict[str, Any] | None = None,
        graph: Any = None,
    ) -> None:
        """Writes one version; ``staging`` already holding its data when a backend
        streamed it there."""
        kind = type(artifact)
        if staging is None:
            staging = self.storage.begin(artifact.name, artifact.version)
            try:
                self._write_value(kind, artifact, staging)
            except BaseException:
                staging.abort()
                raise
        try:
            expected = getattr(kind, "stored_files", None)
            if kind.multi_file and expected is not None:
                _check_stored(artifact, expected(staging.zarr_store(artifact.fname)), staging)
            if graph is not None:
                with staging.open(GRAPH) as handle:
                    handle.write(json.dumps(graph, sort_keys=True).encode())

            def manifest(version: int, files: dict[str, int]) -> Manifest:
                return {
                    "format": FORMAT,
                    "name": artifact.name,
                    "version": version,
                    "handler": kind.alias,
                    "fname": artifact.fname,
                    "created_at": artifact.created_at.isoformat(),
                    "expiry": None if artifact.expiry is None else artifact.expiry.isoformat(),
                    "writer_kwargs": _jsonable(artifact.writer_kwargs),
                    "info": artifact.info(),
                    "files": files,
                    "provenance": provenance,
                }

            artifact.version = staging.commit(manifest, artifact.version)
        except BaseException:
            staging.abort()
            raise
        artifact.dirty = False
        artifact.value = None  # written: load_artifact reads it back

    def _write_value(self, kind: type[Artifact], artifact: Artifact, staging: Staging) -> None:
        try:
            self._write_with(kind, artifact, staging)
        except TypeError as exc:  # a writer keyword the format does not take, mostly
            raise ArtifactError(
                f"handler {kind.alias!r} cannot write artifact {artifact.name!r}: {exc}"
            ) from exc

    def _write_with(self, kind: type[Artifact], artifact: Artifact, staging: Staging) -> None:
        kwargs = dict(artifact.writer_kwargs)
        if kind.multi_file:
            kind.write(artifact.value, staging.zarr_store(artifact.fname), **kwargs)
            return
        with staging.open(artifact.fname) as handle:
            if kind.binary:
                kind.write(artifact.value, handle, **kwargs)
            else:
                text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
                kind.write(artifact.value, text, **kwargs)
                text.flush()
                text.detach()

    # --- reading ------------------------------------------------------------------------

    def _manifest(self, name: str, version: int | None) -> Manifest:
        check_name(name, "artifact name")
        _check_version(version)
        manifests = self.storage.manifests(name)
        if not manifests:
            raise ArtifactNotFound(f"no artifact {name!r} in {self.root!r}")
        if version is None:
            version = max(manifests)
        elif version not in manifests:
            raise ArtifactNotFound(
                f"artifact {name!r} has no version {version!r}; versions: "
                f"{', '.join(map(str, sorted(manifests)))}"
            )
        found = manifests[version]
        _check_fname(found.get("fname"))
        expiry = _time(found.get("expiry"))
        if expiry is not None and expiry <= utcnow():
            raise ArtifactExpired(
                f"artifact {name!r} version {version} expired at {expiry.isoformat()}; "
                "prune() removes it"
            )
        return found

    def load_artifact(self, name: str, version: int | None = None, **reader_kwargs: Any) -> Any:
        """The value of ``name`` at ``version`` (the latest committed one by default).
        A dirty version asked for by number is returned as logged."""
        _check_version(version)
        if version is not None:
            for artifact in self._pending:
                if artifact.name == name and artifact.version == version:
                    return artifact.value
        manifest = self._manifest(name, version)
        kind = get_handler(manifest["handler"])
        number, fname = manifest["version"], manifest["fname"]
        if kind.unsafe and not self.trusted:
            raise UntrustedArtifact(
                f"artifact {name!r} version {number} is a {kind.alias!r} artifact, which "
                "runs code when read; this repository was opened with trusted=False"
            )
        if kind.output_only:
            raise ArtifactError(f"artifact {name!r} is written for output only ({kind.alias})")
        self._check_files(manifest)
        if kind.multi_file:
            return kind.read(self.storage.zarr_store(name, number, fname), **reader_kwargs)
        with self.storage.open(name, number, fname) as handle:
            if kind.binary:
                return kind.read(handle, **reader_kwargs)
            text = io.TextIOWrapper(handle, encoding="utf-8")
            try:
                return kind.read(text, **reader_kwargs)
            finally:
                text.detach()

    def _check_files(self, manifest: Manifest) -> None:
        """Every file the manifest lists is there with its size: a zarr array missing a
        chunk would read it as fill values, silently."""
        name, number = manifest["name"], manifest["version"]
        listed = manifest.get("files")
        if not isinstance(listed, dict):
            return
        expected = {p: s for p, s in listed.items() if isinstance(p, str)}
        found: dict[str, int] = {}
        for top in {p.partition("/")[0] for p in expected}:
            _check_fname(top)
            found.update(self.storage.sizes(name, number, top))
        missing = sorted(p for p, size in expected.items() if found.get(p) != size)
        if missing:
            shown = ", ".join(missing[:3]) + (
                f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            )
            raise ArtifactError(
                f"artifact {name!r} version {number} is damaged: {shown} missing or changed"
            )

    def get_artifact(self, name: str, version: int | None = None) -> Artifact:
        """The record of a committed version (its value not read)."""
        manifest = self._manifest(name, version)
        kind = get_handler(manifest["handler"])
        return kind.construct(
            name,
            fname=manifest["fname"],
            created_at=_time(manifest["created_at"]),
            expiry=_time(manifest.get("expiry")),
            writer_kwargs=manifest.get("writer_kwargs", {}),
            version=manifest["version"],
            dirty=False,
            **manifest.get("info", {}),
        )

    def provenance(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        """How a version computed with ``compute(destination=...)`` was made: graph and
        argument digests, versions, and the graph document (``graph``) when it was small
        enough to keep; None for a version logged by value."""
        manifest = self._manifest(name, version)
        found = manifest.get("provenance")
        if found is None:
            return None
        found = dict(found)
        if found.get("graph_document"):
            with self.storage.open(name, manifest["version"], GRAPH) as handle:
                found["document"] = json.loads(handle.read())
        return found

    def artifacts(self) -> list[dict[str, Any]]:
        """One row per version, committed and dirty: name, version, handler,
        created_at, expiry, dirty, and the provenance's graph digest where computed."""
        rows = []
        for name in self.storage.names():
            for number, manifest in sorted(self.storage.manifests(name).items()):
                provenance = manifest.get("provenance") or {}
                rows.append(
                    {
                        "name": name,
                        "version": number,
                        "handler": manifest["handler"],
                        "created_at": _time(manifest["created_at"]),
                        "expiry": _time(manifest.get("expiry")),
                        "dirty": False,
                        "graph": provenance.get("graph"),
                    }
                )
        for artifact in self._pending:
            rows.append(
                {
                    "name": artifact.name,
                    "version": artifact.version,
                    "handler": artifact.alias,
                    "created_at": artifact.created_at,
                    "expiry": artifact.expiry,
                    "dirty": True,
                    "graph": None,
                }
            )
        return sorted(rows, key=lambda row: (row["name"], row["version"]))

    # --- housekeeping -------------------------------------------------------------------

    def prune(self) -> list[tuple[str, int]]:
        """Removes expired versions, and what killed writers left; returns the
        ``(name, version)`` pairs removed."""
        removed = []
        now = utcnow()
        for name in self.storage.names():
            self.storage.clean(name)
            for number, manifest in sorted(self.storage.manifests(name).items()):
                expiry = _time(manifest.get("expiry"))
                if expiry is not None and expiry <= now:
                    self.storage.remove(name, number)
                    removed.append((name, number))
        return removed

    # --- compute's destination ----------------------------------------------------------

    def destination(
        self,
        name: str,
        handler: str | None = None,
        expiry: dt.datetime | dt.timedelta | None = None,
        **writer_kwargs: Any,
    ) -> Any:
        """Where ``x.compute(destination=...)`` saves its result as the next version of
        ``name`` (committed at once, with its provenance); compute then returns that
        version's record. On the dask backend an array result is written to zarr chunk
        by chunk (never gathered) unless another ``handler`` is named."""
        from lazyarray.artifacts.destination import ArtifactDestination

        check_name(name, "artifact name")
        if handler is not None:
            get_handler(handler)
        elif writer_kwargs:
            raise ArtifactError(
                f"writer keywords ({', '.join(sorted(writer_kwargs))}) belong to one format: "
                "name its handler= (the result's handler otherwise depends on the backend)"
            )
        return ArtifactDestination(self, name, handler, _expiry(expiry), writer_kwargs)


__all__ = ["Repository"]
