"""Assets on the numpy and dask backends: runner assets live across computations,
process assets one computation, node assets one step; all deinitialize in reverse order
when a computation fails or is cancelled."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.assets import Asset, AssetBackend, Scope, get, register_asset_type, with_assets
from lazyarray.errors import AssetScopeError, ComputeError, JobCancelled
from lazyarray.proxy import parameter

BACKENDS = ["numpy", "dask"]
LOG: list[tuple[str, str]] = []


class Recorded(Asset):
    def init(self) -> None:
        LOG.append(("init", self.id))
        self.obj = self.id

    def deinit(self) -> None:
        LOG.append(("deinit", self.id))


@pytest.fixture(autouse=True)
def _fresh_log() -> None:
    LOG.clear()


def _chain() -> list[Asset]:
    return [
        Recorded("r", scope="runner"),
        Recorded("p", scope="process", depends=["r"]),
        Recorded("q", scope="process", depends=["p"]),
    ]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[AssetBackend]:
    with AssetBackend(request.param, _chain()) as wrapped:
        yield wrapped


def _x() -> Any:
    return parameter("x", shape=(1000,), dtype="float64")


def test_runner_assets_outlive_computations_process_assets_do_not(backend: AssetBackend) -> None:
    x = _x()
    data = np.arange(1000.0)
    for _ in range(2):
        assert (x * 2).sum().compute(backend=backend, cache=False, x=data) == data.sum() * 2
    once = [("init", "p"), ("init", "q"), ("deinit", "q"), ("deinit", "p")]
    assert LOG == [("init", "r"), *once, *once]
    backend.close()
    assert LOG[-1] == ("deinit", "r")


def test_a_failing_op_closes_the_scope_in_reverse(backend: AssetBackend) -> None:
    a = parameter("a", shape=(3, 3), dtype="float64")
    with pytest.raises(ComputeError, match="Singular matrix"):
        la.linalg.inv(a).compute(backend=backend, cache=False, a=np.zeros((3, 3)))
    assert LOG == [("init", "r"), ("init", "p"), ("init", "q"), ("deinit", "q"), ("deinit", "p")]


@pytest.mark.parametrize("name", BACKENDS)
def test_a_job_cancelled_mid_run_closes_its_scope(name: str) -> None:
    noise = la.random.default_rng(7).normal(size=(8_000, 25_000))  # seconds of work
    expression = (la.sin(noise) * 2.0 + 1.0).sum()
    with AssetBackend(name, _chain()) as wrapped, la.config.set(dask_chunk_bytes="8MiB"):
        job = expression.compute(backend=wrapped, block=False, cache=False)
        deadline = time.monotonic() + 20
        while job.status()["completed_steps"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ("init", "q") in LOG
        assert job.cancel()
        with pytest.raises(JobCancelled):
            job.result(timeout=30)
        assert job.status()["status"] == "Cancelled"
        assert LOG[-2:] == [("deinit", "q"), ("deinit", "p")]
    assert LOG[-1] == ("deinit", "r")


@pytest.mark.parametrize("name", BACKENDS)
def test_scratch_dir_is_removed_after_the_computation(name: str) -> None:
    seen: list[Path] = []

    class Peek(Asset):
        def init(self) -> None:
            seen.append(self.dependencies["tmp"])
            (seen[-1] / "partial.npy").write_bytes(b"x")

    assets = [
        {"id": "tmp", "type": "scratch_dir", "scope": "process"},
        Peek("peek", scope="process", depends=["tmp"]),
    ]
    x = _x()
    with AssetBackend(name, assets) as wrapped:
        assert (x + 1).sum().compute(backend=wrapped, cache=False, x=np.ones(1000)) == 2000
        assert seen and not seen[0].exists()


def test_node_assets_open_around_each_step_on_numpy() -> None:
    seen: list[Any] = []
    x = _x()
    data = np.linspace(0, 1, 1000)
    expression = la.sort(x)[::-1] + la.cumsum(x)  # steps the planner cannot fuse away
    with AssetBackend("numpy", [*_chain(), Recorded("n", scope="node", depends=["q"])]) as wrapped:
        value = expression.compute(backend=wrapped, cache=False, x=data)
    np.testing.assert_array_equal(value, np.sort(data)[::-1] + np.cumsum(data))
    inits = [event for event in LOG if event == ("init", "n")]
    assert len(inits) >= 2
    # every step's node asset ends before the next begins, and all before the process's
    events = [event for event in LOG if event[1] == "n"]
    assert events == [("init", "n"), ("deinit", "n")] * len(inits)
    assert LOG.index(("deinit", "q")) > max(i for i, e in enumerate(LOG) if e[1] == "n")
    assert not seen


def test_node_assets_are_refused_where_the_backend_cannot_open_them() -> None:
    with pytest.raises(AssetScopeError, match="backend 'dask' does not open node-scope"):
        AssetBackend("dask", [Recorded("n", scope="node")])


def test_code_running_a_step_reads_assets_by_id() -> None:
    found: list[Any] = []

    class Probe(Asset):
        def init(self) -> None:
            found.append(get("r"))  # an enclosing scope's asset, by id

    x = _x()
    with AssetBackend("numpy", [*_chain(), Probe("probe", scope="node")]) as wrapped:
        (la.sort(x) * 2).compute(backend=wrapped, cache=False, x=np.ones(1000))
    assert found and set(found) == {"r"}


def test_a_thread_pool_asset_runs_the_numpy_kernels() -> None:
    import threading

    spec = {"id": "pool", "type": "thread_pool", "scope": "runner",
            "params": {"threads": 2, "name": "custom-kernels"}}  # fmt: skip
    big = la.random.default_rng(3).normal(size=(600_000,))
    expression = (la.sin(big) * 2 + 1).sum()
    with la.config.set(block_bytes="64KiB"), AssetBackend("numpy", [spec]) as wrapped:
        expected = expression.compute(cache=False)
        assert expression.compute(backend=wrapped, cache=False) == expected
        names = {t.name for t in threading.enumerate()}
        assert any(name.startswith("custom-kernels") for name in names)
    assert not any(t.name.startswith("custom-kernels") for t in threading.enumerate())


def test_with_assets_reuses_the_wrapper_so_runner_assets_persist() -> None:
    spec = {"id": "tmp", "type": "scratch_dir", "scope": "runner"}
    first = with_assets("numpy", [spec])
    assert with_assets("numpy", [dict(spec)]) is first
    assert with_assets("numpy", []) is la.get_backend("numpy")
    x = _x()
    (x + 1).compute(backend=first, cache=False, x=np.ones(1000))
    folder = first.runner.scope()["tmp"]
    assert folder.is_dir()
    first.close()
    assert not folder.exists()


def test_with_assets_reads_yaml_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "assets.yaml"
    path.write_text("assets:\n  tmp: {type: scratch_dir, scope: runner}\n")
    first = with_assets("numpy", path)
    assert with_assets("numpy", str(path)) is first
    path.write_text("assets:\n  tmp: {type: scratch_dir, scope: runner, params: {prefix: a}}\n")
    os.utime(path, ns=(0, 10**18))
    second = with_assets("numpy", path)
    assert second is not first
    assert [a.params for a in second.assets] == [{"prefix": "a"}]  # type: ignore[attr-defined]


def test_a_dask_client_asset_is_the_client_computations_use() -> None:
    pytest.importorskip("distributed")
    spec = {"id": "client", "type": "dask_client", "scope": "runner",
            "params": {"n_workers": 1, "threads_per_worker": 1}}  # fmt: skip
    x = _x()
    with AssetBackend("dask", [spec, Recorded("p", depends=["client"])]) as wrapped:
        value = (x * 3).sum().compute(backend=wrapped, cache=False, x=np.ones(1000))
        assert value == 3000
        client = wrapped.runner.scope()["client"]
        assert client.status == "running"
        assert LOG == [("init", "p"), ("deinit", "p")]
    assert client.status == "closed"


@pytest.mark.parametrize("name", BACKENDS)
def test_compute_takes_assets_as_a_keyword_or_an_option(name: str, tmp_path: Path) -> None:
    """``compute(assets=...)`` and the ``assets`` option (a YAML file): the same assets
    kept across computes (runner assets opened once), closed with the process."""
    x, data = _x(), np.arange(1000.0)
    value = (x * 3).sum().compute(backend=name, cache=False, assets=_chain(), x=data)
    assert value == data.sum() * 3
    assert LOG[:3] == [("init", "r"), ("init", "p"), ("init", "q")]
    assert LOG[3:] == [("deinit", "q"), ("deinit", "p")]
    LOG.clear()
    register_asset_type("recorded_for_option", Recorded)
    spec = tmp_path / "assets.yaml"
    spec.write_text("assets:\n  - {id: o, type: recorded_for_option, scope: process}\n")
    with la.config.set(assets=str(spec)):
        assert (x + 1).sum().compute(backend=name, cache=False, x=data) == (data + 1).sum()
    assert LOG == [("init", "o"), ("deinit", "o")]
    with pytest.raises(la.errors.AssetSpecError), la.config.set(assets=str(tmp_path)):
        (x + 1).sum().compute(backend=name, cache=False, x=data)  # a folder is no YAML


def test_kernel_threads_run_blocks_in_the_callers_context() -> None:
    """Code in a kernel's block (a function in the graph, a reader) sees the caller's open
    assets and config layers on every kernel thread, not only on the calling one."""
    import threading

    from lazyarray_numpy.kernels import block_mapper

    seen: list[tuple[Any, Any, str]] = []

    def block(item: int) -> int:
        seen.append((get("r"), la.config.options.block_bytes, threading.current_thread().name))
        time.sleep(0.002)  # the blocks spread over the threads
        return item * 2

    with Scope([Recorded("r", scope="process")]), la.config.set(block_bytes=4096):
        mapped = block_mapper(la.config.snapshot().replace(threads=3))(block, range(12))
    assert mapped == [i * 2 for i in range(12)]
    assert {(asset, size) for asset, size, _ in seen} == {("r", 4096)}
    assert len({name for _, _, name in seen}) > 1


def test_kernel_threads_raise_the_first_failing_block_and_start_no_more() -> None:
    from lazyarray_numpy.kernels import block_mapper

    started: list[int] = []

    def block(item: int) -> int:
        started.append(item)
        if item in (3, 5):
            raise ValueError(f"block {item}")
        time.sleep(0.002)
        return item

    with pytest.raises(ValueError, match="block 3"):
        block_mapper(la.config.snapshot().replace(threads=2))(block, range(200))
    assert len(started) < 200


@pytest.mark.parametrize("name", BACKENDS)
def test_a_cache_hit_opens_no_asset(name: str) -> None:
    """A result served from the result cache runs nothing: no process asset opens. A
    graph reading a writeable numpy array by reference is never served from the cache
    (the array may change), so it runs, and opens its assets, every time."""
    from lazyarray.execution.cache import results

    results.clear()
    spec = [Recorded("p", scope="process")]
    cached = (la.arange(300_000.0) * 3).sum()
    first = cached.compute(backend=name, assets=spec)
    assert LOG == [("init", "p"), ("deinit", "p")]
    assert cached.compute(backend=name, assets=spec) == first
    assert cached.compute(backend=name, assets=spec, block=False).result() == first
    assert LOG == [("init", "p"), ("deinit", "p")]
    LOG.clear()
    by_reference = (la.asarray(np.ones(1000)) * 3).sum()
    for _ in range(2):
        assert by_reference.compute(backend=name, assets=spec) == 3000
    assert LOG == [("init", "p"), ("deinit", "p")] * 2
