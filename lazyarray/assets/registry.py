"""Asset types by name: the built-in table, types registered in this process, and the
entry-point group ``lazyarray.assets`` (read once, when a name is not found earlier).
A package registers its types exactly as lazyarray's backends do::

    [project.entry-points."lazyarray.assets"]
    catalog = "my_package.assets:Catalog"      # an Asset subclass, a class or a function
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from lazyarray.assets.builtin import BUILTIN
from lazyarray.assets.core import Asset, check_type_name
from lazyarray.errors import AssetTypeNotFound
from lazyarray.plugins import named_entry_points

ENTRY_POINT_GROUP = "lazyarray.assets"
_registered: dict[str, type[Asset]] = {}
T = TypeVar("T")


def _entry_points() -> dict[str, Any]:
    return named_entry_points(ENTRY_POINT_GROUP, "lazyarray asset types")


def available_asset_types() -> list[str]:
    """Names of the asset types known here: built in, registered, installed."""
    return sorted({*BUILTIN, *_registered, *_entry_points()})


def asset_type(name: str) -> type[Asset]:
    """The asset type called ``name``; an unknown name lists the known ones."""
    found = _registered.get(name) or BUILTIN.get(name)
    if found is not None:
        return found
    point = _entry_points().get(check_type_name(name))
    if point is None:
        raise AssetTypeNotFound(
            f"no asset type named {name!r}; known: {', '.join(available_asset_types())}. "
            f"A package provides one in the entry-point group {ENTRY_POINT_GROUP!r}; "
            "in this process, la.assets.register_asset_type(name, cls_or_function)"
        )
    try:
        loaded = point.load()
    except ImportError as exc:
        raise AssetTypeNotFound(
            f"asset type {name!r} is installed ({point.value}) but cannot load: {exc}"
        ) from exc
    kind = Asset.wrap(loaded, name)
    _registered[name] = kind
    return kind


@overload
def register_asset_type(name: str) -> Callable[[T], T]: ...
@overload
def register_asset_type(name: str, target: T) -> T: ...
def register_asset_type(name: str, target: Any = None) -> Any:
    """Makes ``target`` (an ``Asset`` subclass, a class or a function) the asset type
    ``name`` in this process (tests, notebooks); a decorator without ``target``.

    >>> @register_asset_type("greeting")
    ... def greeting(name: str = "world") -> str:
    ...     return f"hello {name}"
    >>> Asset.from_specification({"id": "hi", "type": "greeting", "scope": "node"}).spec.type
    'greeting'
    """
    check_type_name(name)

    def register(target: T) -> T:
        _registered[name] = Asset.wrap(target, name)  # type: ignore[arg-type]
        return target

    return register if target is None else register(target)


def unregister_asset_type(name: str) -> None:
    """Forgets a type registered with ``register_asset_type`` (tests)."""
    _registered.pop(name, None)
