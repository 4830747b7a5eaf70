"""The built-in asset types: a scratch folder, a thread pool, a dask.distributed client.

Standard library only at import; ``distributed`` is imported when a client is made.
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lazyarray.assets.core import Asset


class ScratchDir(Asset):
    """A temporary folder (``obj``: its ``Path``), removed with its contents at
    ``deinit``. Params: ``prefix`` (default ``lazyarray-``), ``dir`` (where to make it;
    default the system's temporary folder)."""

    type_name = "scratch_dir"
    param_names = frozenset({"prefix", "dir"})

    def init(self) -> None:
        prefix = str(self.params.get("prefix", "lazyarray-"))
        where = self.params.get("dir")
        self.obj = Path(tempfile.mkdtemp(prefix=prefix, dir=None if where is None else str(where)))

    def deinit(self) -> None:
        path, self.obj = self.obj, None
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


class ThreadPool(Asset):
    """A pool of threads (``obj``: a ``concurrent.futures.ThreadPoolExecutor``), shut
    down at ``deinit``. Params: ``threads`` (default: one per core). Under it the numpy
    backend runs its fused kernels' blocks on these threads."""

    type_name = "thread_pool"
    provides = "kernel_pool"
    param_names = frozenset({"threads", "name"})

    @property
    def threads(self) -> int:
        import os

        threads = self.params.get("threads")
        return int(threads) if threads else os.cpu_count() or 1

    def init(self) -> None:
        prefix = str(self.params.get("name", f"lazyarray-{self.id}"))
        self.obj = ThreadPoolExecutor(self.threads, thread_name_prefix=prefix)

    def deinit(self) -> None:
        pool, self.obj = self.obj, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskClient(Asset):
    """A ``distributed.Client`` (``obj``), closed at ``deinit``; a computation run under
    it uses it (``provides = "client"``). Params: ``address`` (a scheduler's; without
    one a local cluster is started in this process, e.g. with ``n_workers`` and
    ``threads_per_worker``), ``timeout`` (seconds to connect), ``set_as_default``
    (default True, as ``Client``'s: the dask backend's jobs wait through
    ``distributed.wait``, which asks for the default client); any other param goes to
    ``Client``."""

    type_name = "dask_client"
    provides = "client"

    def init(self) -> None:
        from distributed import Client

        params = dict(self.params)
        address = params.pop("address", None)
        if address is None:
            params.setdefault("processes", False)
            params.setdefault("dashboard_address", None)
            params.pop("timeout", None)
            self.obj = Client(**params)  # type: ignore[no-untyped-call]
        else:
            self.obj = Client(address, **params)  # type: ignore[no-untyped-call]

    def deinit(self) -> None:
        client, self.obj = self.obj, None
        if client is not None:
            client.close()  # and the local cluster it started, if it started one


BUILTIN: dict[str, type[Asset]] = {
    kind.type_name: kind for kind in (ScratchDir, ThreadPool, DaskClient)
}
