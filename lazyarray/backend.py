"""The backend protocol and the entry-point registry (group ``lazyarray.backends``).

A backend is a class with a ``name``, declared ``capabilities`` and ``execute``; the
bundled ones register exactly as a third-party backend would, in its ``pyproject.toml``::

    [project.entry-points."lazyarray.backends"]
    mybackend = "my_package:MyBackend"
"""

from __future__ import annotations

import abc
import enum
import functools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lazyarray.errors import BackendNotFound, UnsupportedOperation
from lazyarray.jobs import AsyncJob, LocalJob, RunContext
from lazyarray.ops import OPS, Trait
from lazyarray.planner import Plan

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
    ``submit`` runs ``execute`` as a ``LocalJob`` unless overridden."""

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

    def check(self, plan: Plan) -> None:
        """Refuses, before anything runs, a plan needing what this backend lacks."""
        if self.capabilities >= _REQUIRABLE:
            return
        for node in plan.steps:
            needed = _needs(node)
            missing = needed - self.capabilities
            if missing:
                what = ", ".join(sorted(c.value for c in missing))
                raise UnsupportedOperation(
                    f"backend {self.name!r} cannot run op {node.op!r} (built at "
                    f"{node.site_text}): it does not support {what}"
                )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _needs(node: Any) -> set[Capability]:
    needed = set()
    if node.type.masked:
        needed.add(Capability.MASKED)
    row = OPS.get(node.op)
    if row is not None and Trait.UNKNOWN_SIZE in row.traits:
        needed.add(Capability.UNKNOWN_SHAPES)
    if row is not None and Trait.NEEDS_PYTHON in row.traits:
        needed.add(Capability.CUSTOM_FUNCTIONS)
    return needed


@functools.cache
def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points  # costs ~20 ms: only when first needed

    found: dict[str, Any] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in found and found[point.name].value != point.value:
            warnings.warn(
                f"two lazyarray backends are named {point.name!r} "
                f"({found[point.name].value} and {point.value}); using the first",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        found[point.name] = point
    return found


def available_backends() -> list[str]:
    """Names of the installed backends."""
    return sorted(_entry_points())


_instances: dict[str, Backend] = {}


def get_backend(name: str | Backend) -> Backend:
    """The backend called ``name``; an unknown name lists the installed ones."""
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
    "get_backend",
    "register_backend",
]
