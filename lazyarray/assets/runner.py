"""Assets on lazyarray's runs: ``AssetBackend`` runs any backend with a set of assets.

Its ``runner`` assets open at its first computation and live until ``close()`` (or the
end of the process); its ``process`` assets open around each computation (``execute``,
``execute_direct``, and the job of ``submit``) and close after it, whether it returned,
failed or was cancelled; its ``node`` assets are handed to the backend, which opens them
around each step it runs (the numpy backend does; see ``node_assets``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lazyarray.assets.core import Asset, AssetScope, as_spec
from lazyarray.assets.scopes import AssetSet, AssetsLike, Scope, current
from lazyarray.backend import Backend, get_backend
from lazyarray.graph import Node
from lazyarray.jobs import AsyncJob, LocalJob, RunContext
from lazyarray.planner import Plan

# what a wrapper shows of the backend it wraps (a result cached under one is the other's)
_MIRRORED = ("name", "capabilities", "install_hint", "runs_direct", "plans")


class Runner:
    """Runner-scope assets: opened once, when first needed, and kept until ``close``
    (at the latest, the end of the process)."""

    def __init__(self, assets: tuple[Asset, ...]) -> None:
        self._scope = Scope(assets, kind=AssetScope.runner)
        self._opened = False
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, self._scope.close)

    def scope(self) -> Scope:
        if not self._opened:
            with self._lock:
                if not self._opened:
                    self._scope.open()
                    self._opened = True
        return self._scope

    def close(self) -> None:
        with self._lock:
            self._opened = False
            self._scope.close()


@contextmanager
def process_scope(assets: AssetSet, runner: Runner | None = None) -> Iterator[Scope]:
    """The scope of one computation: its process assets over the runner's, with the node
    assets the backend opens per step (``node_assets``)."""
    outer = runner.scope() if runner is not None else current()
    scope = Scope(assets.of_scope(AssetScope.process), outer, AssetScope.process)
    scope.nodes = assets.of_scope(AssetScope.node)
    with scope:
        yield scope


def node_assets() -> tuple[Scope, tuple[Asset, ...]] | None:
    """For a backend that runs steps itself: the running computation's scope and the node
    assets to open around each step, or None (the common case, checked once per run)."""
    scope = current()
    if scope is None:
        return None
    return (scope, scope.nodes) if scope.nodes else None


class AssetBackend(Backend):
    """``backend`` run with ``assets``; a ``Backend`` like any other, so ``compute`` takes
    it (``x.compute(backend=AssetBackend("numpy", assets))``) and ``register_backend``
    makes it the one a name means. A ``with`` block closes its runner assets.

    >>> import lazyarray as la
    >>> spec = {"id": "tmp", "type": "scratch_dir", "scope": "process"}
    >>> with AssetBackend("numpy", [spec]) as backend:
    ...     la.arange(3).sum().compute(backend=backend)
    np.int64(3)
    """

    name = "assets"

    def __init__(self, backend: str | Backend, assets: AssetsLike) -> None:
        self.inner = get_backend(backend)
        self.assets = AssetSet.of(assets)
        mirrored = {attribute: getattr(self.inner, attribute) for attribute in _MIRRORED}
        if self.assets.of_scope(AssetScope.node):
            mirrored["runs_direct"] = False  # node assets need the steps run one by one
        for attribute, value in mirrored.items():
            setattr(self, attribute, value)
        self.runner = Runner(self.assets.of_scope(AssetScope.runner))

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        with process_scope(self.assets, self.runner) as scope:
            client = scope.provided("client")
            if client is not None and context.client is None:
                context.client = client
            return self.inner.execute(plan, arguments, context)

    def execute_direct(self, plan: Plan, arguments: Mapping[str, Any]) -> list[Any]:
        with process_scope(self.assets, self.runner):
            return self.inner.execute_direct(plan, arguments)

    def submit(
        self, plan: Plan, arguments: Mapping[str, Any], context: RunContext | None = None
    ) -> AsyncJob:
        """A job on a thread of this process, whose scope is the job's: its process
        assets close when it ends, however it ends."""
        return LocalJob(lambda ctx: self.execute(plan, arguments, ctx), len(plan), context)

    def check(self, plan: Plan) -> None:
        self.inner.check(plan)

    def refusal(self, node: Node) -> str | None:
        return self.inner.refusal(node)

    def close(self) -> None:
        """Deinitializes the runner assets (in reverse order); the next computation
        opens them again."""
        self.runner.close()

    def __enter__(self) -> AssetBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:  # the wrapped backend's own extras
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"<AssetBackend {self.inner.name!r} {[a.id for a in self.assets]}>"


_wrapped: dict[tuple[str, tuple[Any, ...]], AssetBackend] = {}
_wrapped_lock = threading.Lock()


def with_assets(backend: str | Backend, assets: AssetsLike) -> Backend:
    """``backend`` with ``assets``; the same wrapper for the same backend and assets, so
    runner assets given per computation (``compute(assets=...)``) live as long as the
    process, not one call. No assets: ``backend`` itself."""
    chosen = get_backend(backend)
    found = AssetSet.of(assets)
    if not found:
        return chosen
    # an Asset object given is itself (identity); a spec, dict or YAML is its contents
    if isinstance(assets, AssetSet):
        items: tuple[Any, ...] = assets.assets
    elif isinstance(assets, list | tuple):
        items = tuple(a if isinstance(a, Asset) else as_spec(a) for a in assets)
    else:
        items = tuple(a.spec for a in found)
    key = (chosen.name, items)
    with _wrapped_lock:
        wrapper = _wrapped.get(key)
        if wrapper is None or wrapper.inner is not chosen:
            wrapper = _wrapped[key] = AssetBackend(chosen, found)
        return wrapper
