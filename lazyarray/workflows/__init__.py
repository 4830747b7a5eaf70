"""Published, versioned, reusable workflows (``docs/workflows.md``).

An expression is published once under an id ``owner:name`` and a semantic version to a
registry (a folder by default); anyone with the registry calls it with their own
arguments: ``la.use(id)`` returns the expression, or a ``Function`` of its parameters.
Published versions never change.

The modules load when first used (``import lazyarray`` stays light); ``publish`` is
attached to lazy arrays and functions at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lazyarray.proxy import BaseArray, Function

if TYPE_CHECKING:
    from lazyarray.workflows.api import (
        Workflow,
        WorkflowVersion,
        list_workflows,
        publish,
        use,
    )
    from lazyarray.workflows.local import LocalRegistry
    from lazyarray.workflows.registry import (
        Argument,
        Publication,
        Registry,
        VersionRecord,
        WorkflowRecord,
        default_location,
        open_registry,
    )

# name -> (module, attribute): what this package exports, loaded on first use
_EXPORTS = {
    "Workflow": ("api", "Workflow"),
    "WorkflowVersion": ("api", "WorkflowVersion"),
    "list_workflows": ("api", "list_workflows"),
    "list": ("api", "list_workflows"),  # la.workflows.list(), as the reference API names it
    "publish": ("api", "publish"),
    "use": ("api", "use"),
    "Argument": ("registry", "Argument"),
    "Publication": ("registry", "Publication"),
    "Registry": ("registry", "Registry"),
    "VersionRecord": ("registry", "VersionRecord"),
    "WorkflowRecord": ("registry", "WorkflowRecord"),
    "default_location": ("registry", "default_location"),
    "open_registry": ("registry", "open_registry"),
    "LocalRegistry": ("local", "LocalRegistry"),
}


def __getattr__(name: str) -> Any:
    found = _EXPORTS.get(name)
    if found is None:
        raise AttributeError(f"module 'lazyarray.workflows' has no attribute {name!r}")
    module, attribute = found
    value = getattr(importlib.import_module(f"lazyarray.workflows.{module}"), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


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
    """Publishes this expression as version ``version`` of the workflow ``id``
    (``owner:name``); see ``la.workflows.publish``."""
    from lazyarray.workflows.api import publish

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


def attach() -> None:
    """``x.publish(...)`` on lazy arrays and functions."""
    BaseArray.publish = _publish  # type: ignore[attr-defined]
    Function.publish = _publish  # type: ignore[attr-defined]


attach()

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
