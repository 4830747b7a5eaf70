"""One options object: defaults, the environment read once, context-local overrides.

``la.config.set(...)`` changes options for the current thread or task only (a
``contextvars`` layer), and a ``with`` block removes exactly its own layer on exit, in
whatever order overlapping blocks end. ``compute()`` takes a ``snapshot()`` when it is
called and hands it to the planner, the backend and the job, which run on other threads.

>>> import lazyarray as la
>>> with la.config.set(backend="numpy", implicit_compute="error"):
...     la.config.options.implicit_compute
'error'
>>> la.config.options.implicit_compute
'allow'
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from lazyarray.errors import ConfigError

ImplicitCompute = Literal["allow", "warn", "error"]


@dataclasses.dataclass(frozen=True)
class Options:
    """Every tunable in one place; fields are documented in ``docs/configuration.md``.
    Immutable: a snapshot stays what it was while other threads change theirs."""

    backend: str = "numpy"
    implicit_compute: ImplicitCompute = "allow"
    cache_bytes: int = 256 * 2**20
    max_outstanding_jobs: int = 64
    inspect_timeout: float = 60.0
    default_retries: int = 0
    progress_bar: bool | None = None
    # planner: rules and passes switched off by name (for tests, and to bisect)
    disabled: frozenset[str] = frozenset()
    # refuse plans whose estimated peak exceeds this many bytes
    # (None: memory_fraction of the memory available when the plan is checked)
    memory_limit: int | None = None
    memory_fraction: float = 0.8
    small_bytes: int = 2**18  # smaller graphs skip the planner's data stages (latency)
    block_bytes: int = 2**20  # fused kernels run over blocks of about this size (~L2)
    threads: int | None = None  # threads for fused kernels (None: one per core)
    # kernels may use engines that are not bit-identical to numpy (numexpr)
    fast_math: bool = False
    # dask backend
    dask_scheduler: str | None = None  # a dask.distributed scheduler address
    dask_chunk_bytes: int = 64 * 2**20  # target chunk size of arrays it creates
    dask_connect_timeout: float = 10.0  # seconds to reach a dask_scheduler
    # workflows: the registry's folder (None: a per-user data folder)
    registry: str | None = None
    # the lazyarray server of backend="remote" and of http registries (None: loopback)
    server: str | None = None
    # datasets: the catalog's folder or fsspec URL (None: a per-user data folder), and
    # the folder of the local shard cache (None: a per-user cache folder)
    catalog: str | None = None
    dataset_cache: str | None = None
    # artifacts: the repository of destination="artifact://name" (a folder or a URL)
    artifacts: str | None = None
    # assets: a YAML file of the assets every compute runs with (lazyarray.assets)
    assets: str | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = _check(field.name, getattr(self, field.name))
            object.__setattr__(self, field.name, value)

    def replace(self, **changes: Any) -> Options:
        """These options with ``changes``; each value checked by its option's rule."""
        return dataclasses.replace(self, **checked(changes))


def checked(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` with each value as its option's rule converts it; raises
    ``ConfigError`` naming an unknown option or a bad value."""
    unknown = sorted(changes.keys() - _RULES.keys())
    if unknown:
        raise ConfigError(
            f"unknown lazyarray option(s): {', '.join(unknown)}; known: {', '.join(sorted(_RULES))}"
        )
    return {name: _check(name, value) for name, value in changes.items()}


# --- one rule per option: it converts the value or raises naming the option -------------

_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")
_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15,
    "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50,
    "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50,
}  # fmt: skip


def parse_bytes(value: int | str) -> int:
    """A byte count from an int or a string such as ``"1GB"`` (10^9) or ``"512 MiB"``.

    >>> parse_bytes("512 MiB"), parse_bytes("1.5kB"), parse_bytes(2048)
    (536870912, 1500, 2048)
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected a number of bytes (an int or a string like '1GB'), "
                        f"not {type(value).__name__}")  # fmt: skip
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"cannot read {value!r} as a number of bytes (e.g. '1GB', '512 MiB')")
    return int(float(match.group(1)) * _UNITS[unit])


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, not {type(value).__name__}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, not {type(value).__name__}")
    return float(value)


def _at_least(minimum: float, convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        value = convert(value)
        if value < minimum:
            raise ValueError(f"must be at least {minimum}, not {value}")
        return value

    return check


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _one_of(*choices: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
        return value

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return value


def _server_url(value: Any) -> str:
    url = _text(value).strip().rstrip("/")
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"a server is an http:// or https:// URL, not {value!r}")
    return url


def _location(value: Any) -> str | None:
    """A folder (a str or a path) or a URL, kept as text; empty is unset."""
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"expected a folder or a URL, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"not a folder or a URL: {value!r}")
    return value or None


def _names(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(name.strip() for name in value.split(",") if name.strip())
    if not isinstance(value, Iterable) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a set of names (or a comma-separated string)")
    return frozenset(value)


def _fraction(value: Any) -> float:
    number = _number(value)
    if not 0 < number <= 1:
        raise ValueError(f"must be in (0, 1], not {number}")
    return number


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected True or False, not {value!r}")
    return value


_RULES: dict[str, Callable[[Any], Any]] = {
    "backend": _text,
    "implicit_compute": _one_of("allow", "warn", "error"),
    "cache_bytes": _at_least(0, parse_bytes),
    "max_outstanding_jobs": _at_least(1, _integer),
    "inspect_timeout": _at_least(0, _number),
    "default_retries": _at_least(0, _integer),
    "progress_bar": _optional(_flag),
    "disabled": _names,
    "memory_limit": _optional(_at_least(0, parse_bytes)),
    "memory_fraction": _fraction,
    "small_bytes": _at_least(0, parse_bytes),
    "block_bytes": _at_least(1024, parse_bytes),
    "threads": _optional(_at_least(1, _integer)),
    "fast_math": _flag,
    "dask_scheduler": _optional(_text),
    "dask_chunk_bytes": _at_least(1024, parse_bytes),
    "dask_connect_timeout": _at_least(0, _number),
    "registry": _location,
    "server": _optional(_server_url),
    "catalog": _location,
    "dataset_cache": _location,
    "artifacts": _location,
    "assets": _optional(_text),
}


def _check(name: str, value: Any) -> Any:
    try:
        return _RULES[name](value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"lazyarray option {name}: {exc}") from None


# --- the environment, read once ---------------------------------------------------------


def _flag_text(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "max_outstanding_jobs": int,
    "threads": int,
    "inspect_timeout": float,
    "default_retries": int,
    "memory_fraction": float,
    "dask_connect_timeout": float,
    "fast_math": _flag_text,
    "progress_bar": _flag_text,
}


def _variable(name: str) -> str:
    return f"LAZYARRAY_{name.upper()}"


def from_environment(environ: Mapping[str, str] | None = None) -> Options:
    """Defaults overridden by ``LAZYARRAY_<OPTION>`` variables; the only reader of the
    environment. A bad value names its variable."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for name in _RULES:
        variable = _variable(name)
        if variable not in environ:
            continue
        text = environ[variable]
        try:
            found[name] = _RULES[name](_FROM_TEXT.get(name, str)(text))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"environment variable {variable}={text!r}: {exc}") from None
    return Options(**found)


# --- the options in force: process defaults plus this context's layers -------------------

_defaults = from_environment()
Layer = tuple[tuple[str, Any], ...]
_layers: contextvars.ContextVar[tuple[Layer, ...]] = contextvars.ContextVar(
    "lazyarray_options", default=()
)
_resolved: dict[tuple[Options, tuple[Layer, ...]], Options] = {}


def snapshot() -> Options:
    """The options in force in this thread or task, as one immutable value."""
    layers = _layers.get()
    if not layers:
        return _defaults
    key = (_defaults, layers)
    found = _resolved.get(key)
    if found is None:
        merged: dict[str, Any] = {}
        for layer in layers:
            merged.update(layer)
        found = _defaults.replace(**merged)
        if len(_resolved) > 256:
            _resolved.clear()
        _resolved[key] = found
    return found


class set:  # noqa: A001 - mirrors dask.config.set
    """Changes options in the current thread or task, at once; a ``with`` block undoes
    exactly these changes on exit. Values are checked here, at the caller's line."""

    def __init__(self, **changes: Any) -> None:
        self._layer: Layer = tuple(checked(changes).items())  # checked now, at this line
        _layers.set((*_layers.get(), self._layer))

    def __enter__(self) -> Options:
        return snapshot()

    def __exit__(self, *exc: object) -> None:
        _layers.set(tuple(layer for layer in _layers.get() if layer is not self._layer))


def set_defaults(**changes: Any) -> Options:
    """Changes the process-wide defaults every thread starts from (an application's
    start-up, a notebook's first cell); ``set`` overrides them locally."""
    global _defaults
    _defaults = _defaults.replace(**changes)
    _resolved.clear()  # snapshots merged over the old defaults
    return _defaults


class _Current:
    """``config.options``: reads the options in force in the calling thread or task."""

    def __getattr__(self, name: str) -> Any:
        return getattr(snapshot(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise ConfigError(
            f"lazyarray options are changed with la.config.set({name}=...) (this thread, "
            f"or a with block) or la.config.set_defaults({name}=...) (the whole process)"
        )

    def __repr__(self) -> str:
        return repr(snapshot())


options: Any = _Current()
