"""The backend protocol and the entry-point registry (group ``lazyarray.backends``).

A backend is a class with a ``name``, declared ``capabilities`` and ``execute``; the
bundled ones register exactly as a third-party backend would, in its ``pyproject.toml``::

    [project.entry-points."lazyarray.backends"]
    mybackend = "my_package:MyBackend"
"""

from __future__ import annotations

import abc
import contextvars
import enum
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lazyarray.config import Options
from lazyarray.errors import BackendNotFound, ResourceExhausted, UnsupportedOperation
from lazyarray.graph import Node
from lazyarray.jobs import AsyncJob, LocalJob, RunContext
from lazyarray.ops import OPS, Trait
from lazyarray.planner import Plan
from lazyarray.plugins import named_entry_points

ENTRY_POINT_GROUP = "lazyarray.backends"


class Capability(enum.Enum):
    MASKED = "masked arrays"
    UNKNOWN_SHAPES = "unknown sizes (boolean indexing, compressed)"
    CUSTOM_FUNCTIONS = "custom Python functions"
    DISTRIBUTED = "distributed execution"


# what an op can require of a backend (distribution is a property, never a requirement)
_REQUIRABLE = frozenset({Capability.MASKED, Capability.UNKNOWN_SHAPES, Capability.CUSTOM_FUNCTIONS})


class Backend(abc.ABC):
    """Runs plans. Subclasses set ``name`` and ``capabilities`` and implement ``execute``;
    ``submit`` runs ``execute`` as a ``LocalJob`` unless overridden; ``execute_direct``
    is optional (``runs_direct``)."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    install_hint: ClassVar[str] = ""

    @abc.abstractmethod
    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        """The values of ``plan.outputs``, in order."""

    def submit(
        self, plan: Plan, arguments: Mapping[str, Any], context: RunContext | None = None
    ) -> AsyncJob:
        return LocalJob(lambda context: self.execute(plan, arguments, context), len(plan), context)

    # whether ``execute_direct`` runs small graphs without planning them
    runs_direct: ClassVar[bool] = False
    # False for a backend that plans where it runs (a server): ``compute`` hands it the
    # graph as written (``make_plan(optimize=False)``), its parameters unbound
    plans: ClassVar[bool] = True

    # whether ``execute`` writes a lone array result into ``context.sink`` block by block
    # (returning ``jobs.Streamed``) when a compute destination offers one
    streams: ClassVar[bool] = False

    # whether its plans run on a lazyarray server: ``client`` may be the server's URL
    # (``compute(server=...)``), and its jobs outlive this process, so ``block=False``
    # always submits one (its id reopens it anywhere; a cached result's would not)
    remote: ClassVar[bool] = False

    def place(self, client: Any) -> str:
        """Where ``client`` runs plans, when it changes what they give (a server's
        URL: its data, its version): part of a cached result's key."""
        return ""

    def versions(self) -> dict[str, str]:
        """What decides this backend's last bits, for a result's provenance: its own
        package's version and the libraries it runs on."""
        import numpy as np

        return {"backend": self.name, "numpy": np.__version__, **_package_version(self)}

    def execute_direct(self, plan: Plan, arguments: Mapping[str, Any]) -> list[Any]:
        """The values of ``plan.outputs`` for an unoptimized plan of a small graph
        (``planner.direct_plan``), run in the caller's thread under its ``errstate``:
        no job, progress or memory check, whose costs would dominate. Called by
        ``compute`` only where ``runs_direct``; a failure names the op and the user's line
        as ``execute``'s do."""
        raise NotImplementedError

    def submit_direct(self, plan: Plan, arguments: Mapping[str, Any]) -> AsyncJob:
        """``execute_direct`` as a job on a thread (``compute(block=False)`` of a small
        graph, which may still be long to run): in a copy of the submitting context, under
        the submitter's errstate; a cancel asked while it runs wins at its end."""
        import numpy as np

        submitted = contextvars.copy_context()

        def run(context: RunContext) -> list[Any]:
            with np.errstate(**context.errstate):
                values: list[Any] = submitted.run(self.execute_direct, plan, arguments)
            context.advance(len(plan))
            return values

        return LocalJob(run, len(plan))

    def check(self, plan: Plan) -> None:
        """Refuses, before anything runs, a plan with a step this backend cannot run,
        naming the backend, the op, the user's line and why (``refusal``)."""
        refusal = self.refusal
        for node in plan.steps:
            reason = refusal(node)
            if reason is not None:
                raise UnsupportedOperation(
                    f"backend {self.name!r} cannot run op {node.op!r} (built at "
                    f"{node.site_text}): {reason}"
                )

    def refusal(self, node: Node) -> str | None:
        """Why this backend cannot run ``node``, or None. This one refuses what needs a
        capability the backend lacks; a backend extends it with the ops it has no
        lowering or implementation for."""
        if self.capabilities >= _REQUIRABLE:
            return None
        missing = _needs(node) - self.capabilities
        if missing:
            return f"it does not support {', '.join(sorted(c.value for c in missing))}"
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


# --- memory: what every backend checks before running -----------------------------

ALWAYS_FITS = 2**26  # bytes: less than this is not checked unless memory_limit is set


def available_memory() -> int | None:
    """Bytes of memory available now (Linux and most Unixes), or None if unknown."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def memory_allowed(options: Options) -> int | None:
    """Bytes one computation may hold: ``memory_limit``, else ``memory_fraction`` of the
    memory available now; None when unknown."""
    if options.memory_limit is not None:
        return options.memory_limit
    available = available_memory()
    return None if available is None else int(available * options.memory_fraction)


def size_text(count: int) -> str:
    """``count`` bytes in the largest unit that keeps a digit before the point."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TiB"


def limit_text(allowed: int, options: Options) -> str:
    if options.memory_limit is not None:
        return f"the {size_text(allowed)} allowed (lazyarray.config memory_limit)"
    return (
        f"the {size_text(allowed)} allowed ({options.memory_fraction:g} of the memory "
        "available: lazyarray.config memory_fraction, or set memory_limit)"
    )


def check_outputs_fit(plan: Plan, options: Options) -> None:
    """Refuses, before anything runs, a plan whose results alone do not fit in memory:
    whatever the backend, they are returned as arrays in this process, so a chunked
    backend would fail the same way. What can work is asking for less."""
    size = plan.bytes_written
    if size is None or (size < ALWAYS_FITS and options.memory_limit is None):
        return
    allowed = memory_allowed(options)
    if allowed is None or size <= allowed:
        return
    what = "results" if len(plan.outputs) > 1 else "result"
    raise ResourceExhausted(
        f"the {what} of this computation would take {size_text(size)}, more than "
        f"{limit_text(allowed, options)}; every backend returns it as arrays in this "
        "process. Compute a slice of it (x[:1000]) or a reduction (x.sum(), "
        "x.mean(axis=0)) instead"
    )


def memory_error(op: str, site: str, error: MemoryError) -> ResourceExhausted:
    """What a ``MemoryError`` raised while running becomes (numpy's own message says
    how much was asked for; a bare one says nothing)."""
    detail = str(error) or "the allocation failed"
    return ResourceExhausted(
        f"{op} (built at {site}) ran out of memory ({detail}); compute a slice of it, or "
        "a reduction, or set lazyarray.config memory_limit to be refused before running"
    )


def _package_version(backend: Backend) -> dict[str, str]:
    """``{package: version}`` of the package that holds ``backend``'s module, where it
    says (a ``__version__``, or a distribution of its name); the bundled backends ship
    with lazyarray, whose version provenance records anyway."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    top = type(backend).__module__.partition(".")[0]
    found = getattr(sys.modules.get(top), "__version__", None)
    if found is None:
        try:
            found = version(top)
        except (PackageNotFoundError, ValueError):
            return {}
    return {top: str(found)}


def _needs(node: Node) -> set[Capability]:
    needed = set()
    if node.type.masked:
        needed.add(Capability.MASKED)
    row = OPS.get(node.op)
    if row is not None and Trait.UNKNOWN_SIZE in row.traits:
        needed.add(Capability.UNKNOWN_SHAPES)
    if row is not None and Trait.NEEDS_PYTHON in row.traits:
        needed.add(Capability.CUSTOM_FUNCTIONS)
    return needed


def _entry_points() -> dict[str, Any]:
    return named_entry_points(ENTRY_POINT_GROUP, "lazyarray backends")


def available_backends() -> list[str]:
    """Names of the installed backends."""
    return sorted(_entry_points())


_instances: dict[str, Backend] = {}


def get_backend(name: str | Backend) -> Backend:
    """The backend called ``name``; an unknown name lists the installed ones."""
    if type(name) is str and name in _instances:  # first: the common case
        return _instances[name]
    if isinstance(name, Backend):
        return name
    if name in _instances:
        return _instances[name]
    point = _entry_points().get(name)
    if point is None:
        raise BackendNotFound(
            f"no lazyarray backend named {name!r}; installed: "
            f"{', '.join(available_backends()) or 'none'}"
        )
    try:
        backend_class = point.load()
    except ImportError as exc:
        hint = f" ({exc}); try: pip install 'lazyarray[{name}]'"
        raise BackendNotFound(f"backend {name!r} is installed but cannot load{hint}") from exc
    backend: Backend = backend_class()
    _instances[name] = backend
    return backend


def register_backend(backend: Backend) -> None:
    """Makes a backend instance available by name without an entry point (tests, notebooks)."""
    _instances[backend.name] = backend


__all__: Sequence[str] = [
    "Backend",
    "Capability",
    "available_backends",
    "available_memory",
    "check_outputs_fit",
    "get_backend",
    "memory_allowed",
    "memory_error",
    "register_backend",
]
