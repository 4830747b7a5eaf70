"""Artifact handlers: one class per file format, found by alias or inferred from a value.

A handler has the class attributes ``alias`` (what ``log_artifact(handler=...)`` names),
``suffix`` (of the file it writes), ``binary`` (bytes or text buffers), ``output_only``
(written for people or other tools, never read back as the value) and two of lazyarray's:
``multi_file`` (a format made of many files, such as zarr: ``read``/``write`` get a zarr
store instead of a buffer) and ``unsafe`` (reading runs code, as unpickling does: refused
by a repository or a server not opened trusted). ``construct`` makes the record of one
version; ``read(buf)`` / ``write(obj, buf)`` do the format.

The built-in handlers are a table here (``BUILTIN``); third-party ones register in the
entry-point group ``lazyarray.artifacts`` under their alias, and are loaded only when
that alias is asked for::

    [project.entry-points."lazyarray.artifacts"]
    geotiff = "my_package.artifacts:GeoTiffArtifact"
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib
import inspect
import warnings
from typing import Any, ClassVar, Self

from lazyarray.errors import ArtifactError, HandlerNotFound
from lazyarray.plugins import named_entry_points

ENTRY_POINT_GROUP = "lazyarray.artifacts"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass
class Artifact:
    """One version of an artifact and the format it is written in. Not made directly:
    ``construct`` derives the file name and records what the environment decides."""

    alias: ClassVar[str]
    suffix: ClassVar[str]
    binary: ClassVar[bool]
    output_only: ClassVar[bool] = False
    multi_file: ClassVar[bool] = False
    unsafe: ClassVar[bool] = False

    name: str
    fname: str
    value: Any
    writer_kwargs: dict[str, Any]
    created_at: dt.datetime
    expiry: dt.datetime | None
    version: int
    dirty: bool

    @classmethod
    def construct(
        cls,
        name: str,
        value: Any = None,
        fname: str | None = None,
        created_at: dt.datetime | None = None,
        expiry: dt.datetime | None = None,
        writer_kwargs: dict[str, Any] | None = None,
        version: int = 0,
        dirty: bool = True,
        **kwargs: Any,
    ) -> Self:
        """The record of one version; ``value`` (when given) is checked here, at the
        caller's line, so a value the format cannot hold fails before ``save()``."""
        if value is not None and dirty:
            cls.check(value)
        return cls(
            name=name,
            fname=fname or f"{name}.{cls.suffix_for(value)}",
            value=value,
            writer_kwargs=dict(writer_kwargs or {}),
            created_at=created_at or utcnow(),
            expiry=expiry,
            version=version,
            dirty=dirty,
            **kwargs,
        )

    @classmethod
    def suffix_for(cls, value: Any) -> str:
        """The suffix of the file written for ``value`` (``npz`` for a masked array)."""
        return cls.suffix

    @classmethod
    def accepts(cls, value: Any) -> bool:
        """Whether a value of this type is written by this handler when none is named."""
        return False

    @classmethod
    def check(cls, value: Any) -> None:
        """Raises ``ArtifactError`` for a value this format cannot hold."""

    @classmethod
    def check_writer(cls, value: Any, writer_kwargs: dict[str, Any]) -> None:
        """Raises ``ArtifactError`` for writer keywords the format does not take, at
        ``log_artifact``'s line rather than at ``save()``. This default knows only the
        keywords ``write`` names (a ``write`` taking ``**kwargs`` accepts any); the
        built-in handlers try them on an empty value."""
        try:
            inspect.signature(cls.write).bind(value, None, **writer_kwargs)
        except TypeError as exc:
            raise ArtifactError(
                f"handler {cls.alias!r} does not take these keywords: {exc}"
            ) from None

    @classmethod
    def read(cls, buf: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def write(cls, obj: Any, buf: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """What the manifest records of this handler beyond the common fields (the
        environment that wrote it); ``construct`` takes them back as keywords."""
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name not in _COMMON
        }


_COMMON = frozenset(f.name for f in dataclasses.fields(Artifact))

# alias -> "module:class" of the built-in handlers; imported when first used
BUILTIN = {
    "json": "lazyarray.artifacts.formats:JSONArtifact",
    "numpy": "lazyarray.artifacts.formats:NumpyArtifact",
    "pickle": "lazyarray.artifacts.formats:PickleArtifact",
    "arrow": "lazyarray.artifacts.formats:ArrowArtifact",
    "parquet": "lazyarray.artifacts.formats:ParquetArtifact",
    "zarr": "lazyarray.artifacts.formats:ZarrArtifact",
}
# the order in which handlers are asked whether they take a value (``accepts``)
INFERRED = ("numpy", "arrow", "zarr", "json")


def _entry_points() -> dict[str, Any]:
    return named_entry_points(ENTRY_POINT_GROUP, "lazyarray artifact handlers")


@functools.cache
def get_handler(alias: str) -> type[Artifact]:
    """The handler class of ``alias``: a built-in, else the entry point of that name."""
    if not isinstance(alias, str):
        raise HandlerNotFound(f"a handler is named by its alias (a str), not {alias!r}")
    if alias in BUILTIN:
        module, _, name = BUILTIN[alias].partition(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    point = _entry_points().get(alias)
    if point is None:
        known = sorted(BUILTIN.keys() | _entry_points().keys())
        raise HandlerNotFound(
            f"no artifact handler {alias!r}; known: {', '.join(known)} (third-party "
            f"handlers register in the entry-point group {ENTRY_POINT_GROUP!r})"
        )
    try:
        handler = point.load()
    except Exception as exc:
        raise HandlerNotFound(f"artifact handler {alias!r} cannot load: {exc}") from exc
    if not (isinstance(handler, type) and issubclass(handler, Artifact)):
        raise HandlerNotFound(f"entry point {alias!r} is not an Artifact subclass: {handler!r}")
    if handler.alias != alias:
        warnings.warn(
            f"artifact handler {point.value} says its alias is {handler.alias!r}, "
            f"registered as {alias!r}",
            RuntimeWarning,
            stacklevel=2,
        )
    return handler


def available_handlers() -> list[str]:
    """Aliases of the built-in and installed handlers."""
    return sorted(BUILTIN.keys() | _entry_points().keys())


def infer_handler(value: Any) -> type[Artifact]:
    """The built-in handler that writes ``value`` when none is named: numpy arrays and
    scalars by ``numpy``, Arrow tables by ``arrow``, zarr arrays by ``zarr``, JSON's
    types by ``json``. Pickle is never inferred: it must be asked for."""
    for alias in INFERRED:
        handler = get_handler(alias)
        if handler.accepts(value):
            return handler
    raise HandlerNotFound(
        f"no artifact handler is inferred for a {type(value).__name__}; name one with "
        f"handler=... ({', '.join(available_handlers())}; 'pickle' reads back only where "
        "trusted)"
    )


def is_unsafe(alias: str) -> bool:
    """Whether reading artifacts of ``alias`` runs code (a server asks before reading)."""
    return get_handler(alias).unsafe
