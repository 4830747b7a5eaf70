"""The registry interface: where published workflows live, whatever the home.

A registry keeps two kinds of things: records (a workflow's metadata, a version's
metadata, as plain values) and bytes (graph documents and their large literals, in a
content-addressed ``BlobStore``). ``Workflow``, ``use`` and ``publish`` talk only to this
interface; ``LocalRegistry`` (a folder: SQLite and blob files) is one implementation,
and a lazyarray server's HTTP API is another (its routes map one to one onto these
methods). ``open_registry`` picks the implementation from what the user passes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lazyarray.config import options
from lazyarray.errors import ConfigError, RegistryNotFound
from lazyarray.stores.blobs import BlobStore

Labels = Mapping[str, "str | int | float | bool"]


@dataclasses.dataclass(frozen=True)
class Argument:
    """A parameter of a published function, as declared (``shape`` holds ``None`` for
    sizes any argument may have), and whether it may be given by position."""

    name: str
    dtype: str
    shape: tuple[int | None, ...]
    masked: bool
    positional: bool

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Argument:
        return cls(
            name=data["name"],
            dtype=data["dtype"],
            shape=tuple(data["shape"]),
            masked=bool(data["masked"]),
            positional=bool(data["positional"]),
        )


class _Record:
    """Records travel as JSON (a server sends and receives them): ``to_dict`` holds
    lists, dicts, strings and numbers only, and ``from_dict`` reads it back."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if field.name == "arguments":
                value = [argument.to_dict() for argument in value]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            data[field.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        values = dict(data)
        if "arguments" in values:
            values["arguments"] = tuple(Argument.from_dict(a) for a in values["arguments"])
        if values.get("tags") is not None:
            values["tags"] = tuple(values["tags"])
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class WorkflowRecord(_Record):
    """A workflow's metadata. Times are seconds since the epoch (UTC)."""

    id: str
    title: str
    description: str
    labels: Labels
    tags: tuple[str, ...]
    created: float
    updated: float


@dataclasses.dataclass(frozen=True)
class VersionRecord(_Record):
    """A published version: its graph's identity (``graph_digest``, the digest of the
    graph part of the document, equal to the output node's digest), the blob holding its
    document, its arguments in positional order (empty: not a function) and the type of
    its result."""

    id: str
    version: str
    graph_digest: str
    document: str
    arguments: tuple[Argument, ...]
    result: Mapping[str, Any]
    docstring: str
    labels: Labels
    created: float


@dataclasses.dataclass(frozen=True)
class Publication(_Record):
    """What ``publish`` sends: the version's record fields, its document, and the
    workflow's metadata (applied when given: ``None`` keeps what is there)."""

    id: str
    version: str
    document: Mapping[str, Any]
    graph_digest: str
    arguments: tuple[Argument, ...]
    result: Mapping[str, Any]
    docstring: str
    version_labels: Labels
    title: str | None
    description: str | None
    labels: Labels | None
    tags: tuple[str, ...] | None


@runtime_checkable
class Registry(Protocol):
    """Published workflows and their versions. Ids and versions reaching a registry
    are validated already; a registry validates them again where they meet storage.
    Missing things raise ``WorkflowNotFound`` / ``VersionNotFound``."""

    @property
    def location(self) -> str:
        """Where it is: a folder, or a server's URL."""
        ...

    @property
    def blobs(self) -> BlobStore:
        """Where a document's large literals are written before it is published."""
        ...

    def publish(self, publication: Publication) -> tuple[VersionRecord, bool]:
        """Stores a new version atomically, creating the workflow if it is new; returns
        the version and whether it was created. The same version with the same graph
        digest and arguments is a no-op returning the version stored; anything else
        under a version number stored or deleted raises ``VersionConflict``."""
        ...

    def get_workflow(self, id: str) -> WorkflowRecord: ...

    def list_workflows(
        self, owner: str | None = None, tag: str | None = None
    ) -> list[WorkflowRecord]:
        """Workflows sorted by id, those of ``owner`` / with ``tag`` when given."""
        ...

    def update_workflow(self, id: str, changes: Mapping[str, Any]) -> WorkflowRecord:
        """Sets ``title``, ``description``, ``labels`` or ``tags``."""
        ...

    def list_versions(self, id: str) -> list[VersionRecord]:
        """The versions not deleted, in any order."""
        ...

    def get_version(self, id: str, version: str) -> VersionRecord: ...

    def update_version(self, id: str, version: str, changes: Mapping[str, Any]) -> VersionRecord:
        """Sets ``docstring`` or ``labels``; the graph never changes."""
        ...

    def delete_version(self, id: str, version: str) -> None:
        """Deletes a version for good: its number can never be published again."""
        ...

    def read_document(self, record: VersionRecord) -> dict[str, Any]:
        """The graph document of a version, verified against its digest."""
        ...


def conflict(
    stored_digest: str, stored_arguments: tuple[Argument, ...], publication: Publication
) -> str | None:
    """Why ``publication`` cannot stand for the version stored (its graph digest and
    arguments given), or None when publishing it again is a no-op."""
    where = f"version {publication.version} of {publication.id}"
    if stored_digest != publication.graph_digest:
        return (
            f"{where} is published with another graph (digest {stored_digest}, this one "
            f"{publication.graph_digest}); a published version never changes: publish a "
            "new version"
        )
    if stored_arguments != publication.arguments:

        def signature(arguments: tuple[Argument, ...]) -> str:
            star = "" if not arguments or arguments[0].positional else "*, "
            return f"({star}{', '.join(argument.name for argument in arguments)})"

        return (
            f"{where} is published with the arguments {signature(stored_arguments)}; this "
            f"one takes {signature(publication.arguments)}: publish a new version"
        )
    return None


def deleted(id: str, version: str) -> str:
    return (
        f"version {version} of {id} was deleted; a deleted version's number is never "
        "published again: choose a new version"
    )


def default_location() -> Path:
    """The per-user registry folder (``platformdirs``), when the ``registry`` option
    and ``LAZYARRAY_REGISTRY`` are unset."""
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise ImportError(
            "the default registry folder needs platformdirs: pip install "
            "'lazyarray[workflows]', or give registry= a folder"
        ) from None
    return Path(platformdirs.user_data_path("lazyarray", appauthor=False)) / "registry"


def _open_folder(location: str, create: bool) -> Registry:
    from lazyarray.workflows.local import LocalRegistry

    return LocalRegistry(location, create=create)


def _open_server(location: str, create: bool) -> Registry:
    from lazyarray.workflows.http import open_http

    return open_http(location, create)


# opens a registry of each URL scheme; a folder is anything without one
OPENERS: dict[str, Callable[[str, bool], Registry]] = {
    "http": _open_server,
    "https": _open_server,
}


def open_registry(registry: Any = None, *, create: bool = False) -> Registry:
    """The registry ``registry`` names: a ``Registry``, a folder (str or path), a URL;
    ``None`` means the ``registry`` option, then the per-user default folder.
    ``create`` makes a missing folder a new registry (publishing does); the default
    folder is always created when first used."""
    if isinstance(registry, Registry):
        return registry
    if registry is None:
        registry = options.registry
        if registry is None:
            registry, create = default_location(), True
    if isinstance(registry, os.PathLike):
        registry = os.fspath(registry)
    if not isinstance(registry, str):
        raise ConfigError(
            f"registry= is a folder, a URL or a Registry, not {type(registry).__name__}"
        )
    if not registry or "\x00" in registry:
        raise RegistryNotFound(f"not a registry's folder or URL: {registry!r}")
    scheme, colon, _ = registry.partition("://")
    if not colon or scheme.lower() == "file":
        folder = Path(registry.removeprefix("file://")).expanduser()
        return _open_folder(str(folder.resolve()), create)
    opener = OPENERS.get(scheme.lower())
    if opener is None:
        raise RegistryNotFound(
            f"no registry for URLs {scheme}://...; give a folder or a URL of "
            f"{', '.join(sorted(OPENERS))}"
        )
    return opener(registry, create)
