"""Assets checked together (``AssetSet``) and opened a scope at a time (``Scope``).

An ``AssetSet`` refuses, when it is made, an unknown type, a duplicate id, a missing
dependency, a cycle, and an asset depending on one of a narrower scope. A ``Scope``
initializes its assets in dependency order and deinitializes them in reverse, whatever
ends it (a result, a failure, a cancellation); inside it, ``get(id)`` returns a live
asset's object, this scope's or an enclosing one's.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from lazyarray.assets.core import Asset, AssetScope, as_spec
from lazyarray.errors import (
    AssetCycleError,
    AssetDependencyError,
    AssetInitError,
    AssetNotFound,
    AssetScopeError,
    AssetSpecError,
)

AssetsLike = Any  # an AssetSet, or assets, specs or dicts, or YAML text or a .yaml path


class AssetSet:
    """Assets configured together, in the order they initialize (dependencies first).

    >>> assets = AssetSet([{"id": "tmp", "type": "scratch_dir", "scope": "process"}])
    >>> [a.id for a in assets.of_scope("process")]
    ['tmp']
    """

    def __init__(self, assets: Iterable[Asset | Any] = ()) -> None:
        given: dict[str, Asset] = {}
        for item in assets:
            asset = item if isinstance(item, Asset) else Asset.from_specification(as_spec(item))
            if asset.id in given:
                raise AssetDependencyError(f"two assets have the id {asset.id!r}")
            given[asset.id] = asset
        self.assets: tuple[Asset, ...] = tuple(_ordered(given))
        self._scopes = {
            scope: tuple(a for a in self.assets if a.scope is scope) for scope in AssetScope
        }

    @classmethod
    def of(cls, value: AssetsLike) -> AssetSet:
        """An ``AssetSet`` from one, from a sequence of assets, specs or dicts, from a
        single one, from a dict of ids to specs, or from YAML (text, or a ``.yaml`` or
        ``.yml`` path); dicts and YAML are read by pydantic and pyyaml."""
        if isinstance(value, AssetSet):
            return value
        if value is None:
            return cls()
        if isinstance(value, str | Path) or (isinstance(value, Mapping) and "id" not in value):
            from lazyarray.assets.specification import load  # YAML; {"assets": ...}; {id: spec}

            return cls(load(value))
        if isinstance(value, Asset | Mapping) or hasattr(value, "to_spec"):
            value = [value]
        if not isinstance(value, Iterable):
            raise AssetSpecError(
                f"assets are a list of assets, specs or dicts, or YAML, not {type(value).__name__}"
            )
        return cls(value)

    def of_scope(self, scope: AssetScope | str) -> tuple[Asset, ...]:
        return self._scopes[AssetScope(scope)]

    def __bool__(self) -> bool:
        return bool(self.assets)

    def __iter__(self) -> Iterator[Asset]:
        return iter(self.assets)

    def __len__(self) -> int:
        return len(self.assets)

    def __repr__(self) -> str:
        return f"AssetSet({list(self.assets)!r})"


def _ordered(assets: Mapping[str, Asset]) -> list[Asset]:
    """Dependencies before their dependents, otherwise in the order given; refuses a
    missing dependency, a dependency of a narrower scope, and a cycle."""
    for asset in assets.values():
        for name in asset.depends:
            if name not in assets:
                raise AssetDependencyError(
                    f"asset {asset.id!r} depends on {name!r}, which is not among the assets "
                    f"({', '.join(assets) or 'none'})"
                )
            needed = assets[name]
            if needed.scope.depth > asset.scope.depth:
                raise AssetScopeError(
                    f"asset {asset.id!r} ({asset.scope.value} scope) depends on {name!r} "
                    f"({needed.scope.value} scope), which ends first; an asset may depend "
                    "only on assets of its own scope or a wider one (runner > process > node)"
                )
    order: list[Asset] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done

    def visit(asset: Asset, path: list[str]) -> None:
        if state.get(asset.id) == 2:
            return
        if state.get(asset.id) == 1:
            cycle = path[path.index(asset.id) :] + [asset.id]
            raise AssetCycleError(f"assets depend on each other in a cycle: {' -> '.join(cycle)}")
        state[asset.id] = 1
        for name in asset.depends:
            visit(assets[name], [*path, asset.id])
        state[asset.id] = 2
        order.append(asset)

    for asset in assets.values():
        visit(asset, [])
    return order


_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "lazyarray_assets", default=None
)


class Scope:
    """The live assets of one scope, over an enclosing one (``outer``); a mapping from id
    to object. ``open`` initializes them in order; ``close`` deinitializes those opened,
    in reverse, and raises the first error of a ``deinit`` (after running them all).
    As a ``with`` block it also makes itself the scope ``get`` reads in this context."""

    def __init__(
        self, assets: Iterable[Asset], outer: Scope | None = None, kind: AssetScope | None = None
    ) -> None:
        self._configured = tuple(assets)
        self.outer = outer
        self.kind = kind
        # the node assets a backend opens around each step of the computation it runs
        self.nodes: tuple[Asset, ...] = ()
        self.live: dict[str, Asset] = {}
        self._token: contextvars.Token[Scope | None] | None = None
        self._lock = threading.Lock()

    def open(self) -> Scope:
        with self._lock:
            for configured in self._configured:
                if configured.id in self.live:
                    continue
                asset = configured.fresh()
                asset.dependencies = {name: self[name] for name in asset.depends}
                try:
                    asset.init()
                except BaseException as exc:
                    self._close_live()  # those opened before it, in reverse
                    if isinstance(exc, Exception):
                        raise AssetInitError(
                            f"asset {asset.id!r} (type {asset.spec.type!r}) failed to "
                            f"initialize: {type(exc).__name__}: {exc}"
                        ) from exc
                    raise
                self.live[asset.id] = asset
        return self

    def close(self) -> None:
        with self._lock:
            self._close_live()

    def _close_live(self) -> None:
        failures: list[tuple[Asset, BaseException]] = []
        for asset in reversed(list(self.live.values())):
            try:
                asset.deinit()
            except BaseException as exc:  # the others still get their deinit
                failures.append((asset, exc))
        self.live.clear()
        if failures:
            failed, error = failures[0]
            raise AssetInitError(
                f"asset {failed.id!r} (type {failed.spec.type!r}) failed to deinitialize: "
                f"{type(error).__name__}: {error}"
            ) from error

    def __enter__(self) -> Scope:
        self.open()
        self._token = _current.set(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        try:
            self.close()
        except AssetInitError as exc:
            if error is None:
                raise
            error.add_note(str(exc))  # the run's own error is the one to see

    def asset(self, id: str) -> Asset:  # noqa: A002 - an asset's id
        """The live asset ``id`` of this scope or an enclosing one."""
        scope: Scope | None = self
        while scope is not None:
            found = scope.live.get(id)
            if found is not None:
                return found
            scope = scope.outer
        raise AssetNotFound(f"no live asset {id!r}; live here: {', '.join(self.ids()) or 'none'}")

    def __getitem__(self, id: str) -> Any:  # noqa: A002 - an asset's id
        return self.asset(id).obj

    def __contains__(self, id: object) -> bool:  # noqa: A002 - an asset's id
        return any(id in scope.live for scope in self.chain())

    def chain(self) -> Iterator[Scope]:
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.outer

    def ids(self) -> list[str]:
        return [name for scope in self.chain() for name in scope.live]

    def provided(self, role: str) -> Any:
        """The object of the innermost live asset that ``provides`` ``role``, or None."""
        for scope in self.chain():
            for asset in reversed(list(scope.live.values())):
                if asset.provides == role:
                    return asset.obj
        return None

    def __repr__(self) -> str:
        return f"<Scope {self.kind.value if self.kind else ''} {self.ids()}>"


def current() -> Scope | None:
    """The innermost scope opened in this context, or None."""
    return _current.get()


def get(id: str) -> Any:  # noqa: A002 - an asset's id
    """The object of the live asset ``id``: what code running inside a computation (a
    step, a reader) asks for.

    >>> from lazyarray.assets import AssetSpec
    >>> with Scope([Asset.from_specification(AssetSpec("tmp", "scratch_dir"))]):
    ...     get("tmp").is_dir()
    True
    """
    scope = _current.get()
    if scope is None:
        raise AssetNotFound(f"no live asset {id!r}: no assets are open here")
    return scope[id]


def provided(role: str) -> Any:
    """The object a live asset provides for ``role`` here, or None (cheap when none)."""
    scope = _current.get()
    return None if scope is None else scope.provided(role)


def activate(scope: Scope | None) -> contextvars.Token[Scope | None]:
    """Makes ``scope`` the one ``get`` reads in this context (a runner's, for the
    threads it serves); ``_current.reset(token)`` undoes it."""
    return _current.set(scope)
