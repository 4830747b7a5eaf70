"""Assets on lazyarray's runs: ``AssetBackend`` runs any backend with a set of assets.

Its ``runner`` assets open at its first computation and live until ``close()`` (or the
end of the process); its ``process`` assets open around each computation (``execute``,
``execute_direct``, and the job of ``submit``) and close after it, whether it returned,
failed or was cancelled; its ``node`` assets are handed to the backend, which opens them
around each step it runs (a backend that does says ``opens_node_assets = True``, as
the numpy backend does, and reads them with ``node_assets``; on another, node assets
are refused).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lazyarray.assets.core import Asset, AssetScope, as_spec
from lazyarray.assets.scopes import AssetSet, AssetsLike, Scope, current
from lazyarray.backend import Backend, get_backend
from lazyarray.errors import AssetScopeError
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
        nodes = self.assets.of_scope(AssetScope.node)
        if nodes and not getattr(self.inner, "opens_node_assets", False):
            raise AssetScopeError(
                f"backend {self.inner.name!r} does not open node-scope assets around the "
                f"steps it runs ({', '.join(a.id for a in nodes)}); give them process scope"
            )
        if nodes:
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
    runner assets given per computation (``compute(assets=...)``, the ``assets``
    option) live as long as the process, not one call. No assets: ``backend`` itself.

    >>> spec = {"id": "tmp", "type": "scratch_dir", "scope": "runner"}
    >>> with_assets("numpy", [spec]) is with_assets("numpy", [dict(spec)])
    True
    """
    chosen = get_backend(backend)
    if isinstance(assets, AssetSet):
        items: tuple[Any, ...] = assets.assets
    elif isinstance(assets, list | tuple):
        items = tuple(a if isinstance(a, Asset) else as_spec(a) for a in assets)
    else:
        items = _read(assets)
    if not items:
        return chosen
    key = (chosen.name, items)
    with _wrapped_lock:
        wrapper = _wrapped.get(key)
        if wrapper is None or wrapper.inner is not chosen:
            wrapper = _wrapped[key] = AssetBackend(chosen, list(items))
        return wrapper


def _read(source: AssetsLike) -> tuple[Any, ...]:
    """The specs of YAML text or a file (read again only when the file changed)."""
    path = Path(source) if isinstance(source, str | Path) else None
    stamp = path.stat().st_mtime_ns if path is not None and _is_file(path) else None
    key = (str(source), stamp)
    found = _read_cache.get(key)
    if found is None:
        found = _read_cache[key] = tuple(a.spec for a in AssetSet.of(source))
    return found


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # YAML text too long to be a path
        return False


_read_cache: dict[tuple[str, int | None], tuple[Any, ...]] = {}
