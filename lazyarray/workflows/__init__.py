"""Published, versioned, reusable workflows (``docs/workflows.md``).

An expression is published once under an id ``owner:name`` and a semantic version to a
registry (a folder by default); anyone with the registry calls it with their own
arguments: ``la.use(id)`` returns the expression, or a ``Function`` of its parameters.
Published versions never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lazyarray.proxy import BaseArray, Function
from lazyarray.workflows.api import (
    Workflow,
    WorkflowVersion,
    list_workflows,
    publish,
    use,
)
from lazyarray.workflows.registry import (
    Argument,
    Publication,
    Registry,
    VersionRecord,
    WorkflowRecord,
    default_location,
    open_registry,
)


def _publish(
    self: Any,
    id: str,
    version: str,
    title: str = "",
    description: str = "",
    labels: Any = None,
    tags: Any = None,
    docstring: str = "",
    version_labels: Any = None,
    registry: Any = None,
    parameters: Sequence[str] | None = None,
) -> Workflow:
    return publish(
        self,
        id,
        version,
        title=title,
        description=description,
        labels=labels,
        tags=tags,
        docstring=docstring,
        version_labels=version_labels,
        registry=registry,
        parameters=parameters,
    )


_publish.__doc__ = publish.__doc__


def attach() -> None:
    """``x.publish(...)`` on lazy arrays and functions."""
    BaseArray.publish = _publish  # type: ignore[attr-defined]
    Function.publish = _publish  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name == "LocalRegistry":  # imports sqlite3: only when asked for
        from lazyarray.workflows.local import LocalRegistry

        return LocalRegistry
    raise AttributeError(f"module 'lazyarray.workflows' has no attribute {name!r}")


attach()
list = list_workflows  # noqa: A001 - la.workflows.list(), as the reference API names it

__all__ = [
    "Argument",
    "LocalRegistry",
    "Publication",
    "Registry",
    "VersionRecord",
    "Workflow",
    "WorkflowRecord",
    "WorkflowVersion",
    "default_location",
    "list",
    "list_workflows",
    "open_registry",
    "publish",
    "use",
]
