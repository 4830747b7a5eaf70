"""compute and inspect: formats, files, parameters, the cache, jobs, errors, backends."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray import serialize
from lazyarray.backend import Backend, Capability, get_backend, register_backend
from lazyarray.config import from_environment
from lazyarray.errors import (
    ArgumentError,
    BackendNotFound,
    FormatError,
    ImplicitComputeError,
    ImplicitComputeWarning,
    JobCancelled,
    JobNotFound,
    TransientError,
)
from lazyarray.execution import result_cache
from lazyarray.jobs import RunContext
from tests.conftest import assert_same

DATA = np.arange(12.0).reshape(3, 4)


# --- formats and files ------------------------------------------------------------------


def test_default_format_returns_numpy_objects(backend: str) -> None:
    x = la.Array(DATA)
    assert isinstance(x.compute(backend=backend), np.ndarray)
    total = x.sum().compute(backend=backend)
    assert isinstance(total, np.float64) and total == DATA.sum()
    masked = la.MaskedArray(DATA, mask=DATA > 5).compute(backend=backend)
    assert isinstance(masked, np.ma.MaskedArray)


def test_npy_bytes_and_file(tmp_path: Path, backend: str) -> None:
    x = la.Array(DATA) * 2
    payload = x.compute(format="npy", backend=backend)
    assert_same(np.load(io.BytesIO(payload)), DATA * 2)
    target = tmp_path / "out.npy"
    assert x.compute(format="npy", file=target, backend=backend) is None
    assert_same(np.load(target), DATA * 2)
    assert [p.name for p in tmp_path.iterdir()] == ["out.npy"]  # no temporary left behind
    buffer = io.BytesIO()
    x.compute(format="npy", file=buffer, backend=backend)
    assert buffer.getvalue() == payload


def test_npy_refuses_masks_and_npz_keeps_them(backend: str) -> None:
    masked = la.MaskedArray(DATA, mask=DATA > 5)
    with pytest.raises(FormatError, match="npz"):
        masked.compute(format="npy", backend=backend)
    archive = np.load(io.BytesIO(masked.compute(format="npz", backend=backend)))
    assert_same(
        np.ma.MaskedArray(archive["data"], mask=archive["mask"]),
        np.ma.MaskedArray(DATA, mask=DATA > 5),
    )


def test_json_format(backend: str) -> None:
    values = np.array([1.0, np.nan, np.inf])
    document = json.loads(
        la.MaskedArray(values, mask=[False, False, True]).compute(format="json", backend=backend)
    )
    assert document == {"dtype": "<f8", "shape": [3], "data": [1.0, "NaN", None]}


def test_arrow_format(backend: str) -> None:
    import pyarrow as pa

    payload = la.MaskedArray(DATA, mask=DATA > 5).compute(format="arrow", backend=backend)
    table = pa.ipc.open_stream(payload).read_all()
    assert json.loads(table.schema.metadata[b"shape"]) == [3, 4]
    assert table.column("values").null_count == 6


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    x = la.MaskedArray(DATA, mask=DATA > 5)
    with pytest.raises(FormatError):
        x.compute(format="npy", file=tmp_path / "out.npy")
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_and_destination() -> None:
    x = la.Array(DATA)
    with pytest.raises(FormatError, match="choose one of"):
        x.compute(format="csv")
    with pytest.raises(FormatError, match="destination"):
        x.compute(destination="email")
    with pytest.raises(FormatError, match="byte format"):
        x.compute(file="x.npy")


# --- parameters ---------------------------------------------------------------------------


def test_parameters_are_holes_filled_at_compute(backend: str) -> None:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None, 4))
    k = la.parameter("k", la.Scalar, dtype="int64")
    y = (x * k).sum(axis=1)
    assert y.shape == (None,)
    assert [p.node.attr("name") for p in y.params] == ["k", "x"]
    assert_same(y.compute(x=DATA, k=3, backend=backend), (DATA * 3).sum(axis=1))
    assert_same(
        y.compute(x=np.ones((2, 4), dtype=np.float32), k=1, backend=backend), np.full(2, 4.0)
    )


def test_missing_unexpected_and_ill_typed_arguments_are_named() -> None:
    x = la.parameter("x", la.Array)
    with pytest.raises(ArgumentError, match=r"missing .* x"):
        (x + 1).compute()
    with pytest.raises(ArgumentError, match=r"unexpected .* y"):
        (x + 1).compute(x=[1.0], y=2)
    with pytest.raises(ArgumentError, match="'x' has dtype complex128"):
        (x + 1).compute(x=np.ones(2, complex))
    with pytest.raises(ArgumentError, match=r"'x' has shape \(2, 2\)"):
        (x + 1).compute(x=np.ones((2, 2)))
    with pytest.raises(ArgumentError, match="must be a Python identifier"):
        la.parameter("format", la.Array)


def test_masked_parameter(backend: str) -> None:
    m = la.parameter("m", la.MaskedArray, shape=(3, 4))
    value = np.ma.MaskedArray(DATA, mask=DATA > 5)
    assert_same(m.mean(axis=0).compute(m=value, backend=backend), value.mean(axis=0))


# --- the cache -----------------------------------------------------------------------------


def test_cache_reuses_identical_graphs_and_arguments() -> None:
    x = la.parameter("x", la.Array)
    y = la.sin(x) * 2
    first = y.compute(x=[1.0, 2.0])
    assert result_cache.misses == 1 and result_cache.hits == 0
    second = (la.sin(x) * 2).compute(x=[1.0, 2.0])
    assert result_cache.hits == 1
    assert_same(first, second)
    second[0] = 100.0  # the caller's copy: the cache is unchanged
    assert_same(y.compute(x=[1.0, 2.0]), first)
    y.compute(x=[3.0, 2.0])
    assert result_cache.misses == 2
    y.compute(x=[1.0, 2.0], cache=False)
    assert result_cache.hits == 2 and result_cache.misses == 2


def test_the_cache_keys_on_the_graph_documents_digest() -> None:
    """A result is keyed by its graph's identity, the digest of its graph document
    (the same in every process and release), whatever the planner made of it."""
    x = la.parameter("x", la.Array)
    y = (la.sin(x) * 2).sum()
    pair = (y, la.cos(x))
    y.compute(x=[1.0, 2.0])
    la.compute(*pair, x=[1.0, 2.0])
    keys = [key.split("|")[0] for key in result_cache._entries]
    assert keys == [
        serialize.graph_digest(serialize.to_dict(y)),
        serialize.graph_digest(serialize.to_dict(pair)),
    ]


def test_cache_respects_its_byte_budget() -> None:
    with la.config.set(cache_bytes=1000):
        la.Array(np.arange(1000.0)).sum().compute()
        (la.Array(np.arange(1000.0)) * 2).compute()  # 8000 bytes: not kept
        assert result_cache.nbytes <= 1000


# --- errors ----------------------------------------------------------------------------------


def test_compute_error_names_the_op_and_the_users_line(backend: str) -> None:
    x = la.Array(np.array([-1, 2]))
    y = x ** la.Array(np.array([-1, 1]))  # integers to negative powers fail when run
    with pytest.raises(la.ComputeError) as info:
        y.compute(backend=backend)
    assert info.value.op == "power"
    assert "test_compute.py" in info.value.site
    assert isinstance(info.value.original, ValueError)


def test_unknown_backend_lists_installed() -> None:
    with pytest.raises(BackendNotFound, match=r"installed: .*numpy"):
        la.Array(DATA).compute(backend="nope")


def test_backend_from_environment_then_config() -> None:
    assert from_environment({"LAZYARRAY_BACKEND": "refuse"}).backend == "refuse"
    assert from_environment({}).backend == "numpy"
    assert "numpy" in la.available_backends()
    with la.config.set(backend="refuse"), pytest.raises(AssertionError, match="computed"):
        la.Array(DATA).sum().compute(cache=False)


def test_config_rejects_unknown_options() -> None:
    with pytest.raises(TypeError, match="unknown lazyarray option"), la.config.set(bogus=1):
        pass


def test_implicit_compute_policy() -> None:
    x = la.Array(DATA).sum()
    assert float(x) == DATA.sum() and bool(x) and int(x) == 66
    assert np.asarray(la.Array(DATA)).shape == (3, 4)
    with la.config.set(implicit_compute="error"), pytest.raises(ImplicitComputeError):
        float(x)
    with la.config.set(implicit_compute="warn"), pytest.warns(ImplicitComputeWarning):
        bool(x > 0)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(la.Array(DATA))


# --- jobs -------------------------------------------------------------------------------------


class SlowBackend(Backend):
    """Sleeps between steps, checking for cancellation; fails transiently on demand."""

    name = "slow"
    capabilities = frozenset(Capability)

    def __init__(self) -> None:
        self.delay = 0.05
        self.transient_failures = 0

    def execute(self, plan: Any, arguments: Any, context: RunContext) -> list[Any]:
        if self.transient_failures:
            self.transient_failures -= 1
            raise TransientError("worker lost")
        context.set_total(len(plan.steps))
        for _ in plan.steps:
            context.check_cancelled()
            time.sleep(self.delay)
            context.advance()
        return get_backend("numpy").execute(plan, arguments, RunContext())


@pytest.fixture
def slow() -> SlowBackend:
    backend = SlowBackend()
    register_backend(backend)
    return backend


def test_block_false_returns_a_job(backend: str) -> None:
    job = (la.Array(DATA) * 2).compute(block=False, backend=backend)
    assert_same(job.result(timeout=10), DATA * 2)
    status = job.status()
    assert status["status"] == la.JobStatus.COMPLETED == "Completed"
    assert status["completed_steps"] == status["total_steps"] >= 1
    assert job.errors() == []
    assert la.AsyncJob.from_id(job.job_id) is job
    with pytest.raises(JobNotFound, match="no job 'job_0' in this process"):
        la.AsyncJob.from_id("job_0")


def test_job_reports_progress_and_can_be_cancelled(slow: SlowBackend) -> None:
    slow.delay = 0.2
    with la.config.set(disabled={"fold", "fuse"}):  # five steps, as written
        job = (la.Array(DATA) + 1 + 2 + 3 + 4).compute(block=False, backend="slow")
    time.sleep(0.3)
    assert job.status()["status"] == "Running"
    assert job.cancel()
    with pytest.raises(JobCancelled):
        job.result(timeout=5)
    assert job.status()["status"] == "Cancelled"


def test_errored_job_reports_its_errors() -> None:
    y = la.Array(np.array([1, 2])) ** la.Array(np.array([-1, 1]))
    job = y.compute(block=False)
    with pytest.raises(la.ComputeError):
        job.result(timeout=10)
    assert job.status()["status"] == "Errored"
    assert "power failed" in job.errors()[0]


def test_timeout_raises_and_cancels(slow: SlowBackend) -> None:
    slow.delay = 0.2
    with pytest.raises(la.JobTimeoutError):
        (la.Array(DATA) + 1 + 2 + 3).compute(timeout=0.1, backend="slow")


def test_sleep_until_complete_prints_progress(
    slow: SlowBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    job = (la.Array(DATA) + 1).compute(block=False, backend="slow")
    job.sleep_until_complete()
    assert "Completed" in capsys.readouterr().out
    job.sleep_until_complete(verbose_std_out=False)


def test_transient_failures_are_retried(slow: SlowBackend) -> None:
    slow.transient_failures = 2
    assert_same((la.Array(DATA) + 1).compute(backend="slow", num_retries=2), DATA + 1)
    slow.transient_failures = 3
    with pytest.raises(la.RetryError) as info:
        (la.Array(DATA) + 2).compute(backend="slow", num_retries=2)
    assert len(info.value.exceptions) == 3
    slow.transient_failures = 1
    job = (la.Array(DATA) + 3).compute(backend="slow", num_retries=1, block=False)
    assert_same(job.result(timeout=10), DATA + 3)


def test_too_many_outstanding_jobs(slow: SlowBackend) -> None:
    slow.delay = 0.1
    with la.config.set(max_outstanding_jobs=1):
        job = (la.Array(DATA) + 1).compute(block=False, backend="slow")
        with pytest.raises(la.ResourceExhausted, match="outstanding"):
            (la.Array(DATA) + 2).compute(block=False, backend="slow")
        job.result(timeout=10)


def test_inspect_is_the_quick_path(backend: str) -> None:
    assert_same(la.Array(DATA).sum(axis=0).inspect(backend=backend), DATA.sum(axis=0))
    assert la.Array(DATA).dtype.inspect() == np.float64


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    (la.Array(DATA) + 1).compute(progress_bar=True)
    assert "lazyarray" in capsys.readouterr().err


def test_several_outputs_share_work(backend: str) -> None:
    shared = la.exp(la.Array(DATA))
    total, largest = la.compute(shared.sum(), shared.max(), backend=backend)
    assert_same(total, np.exp(DATA).sum())
    assert_same(largest, np.exp(DATA).max())


@pytest.mark.parametrize("block", [True, False])
def test_several_outputs_are_each_the_callers_own(backend: str, block: bool) -> None:
    """Outputs the planner makes one node (``e`` and ``e.T.T``), or views of one value
    (``e.T``, ``e.reshape(-1)``), come back as arrays of their own, as numpy's: writing
    into one changes no other."""
    x = la.Array(np.random.default_rng(0).normal(size=(300, 200)))  # blocks and chunks
    e = la.sin(x) * 2
    masked = la.MaskedArray(np.ma.MaskedArray(np.ones((300, 200)), mask=False))
    for pair in [(e, e), (e, e.T), (e, e.T.T), (e, e.reshape(-1)), (x * 1, x), (masked, masked.T)]:
        found = la.compute(*pair, backend=backend, cache=False, block=block)
        first, second = found if block else found.result()
        assert not np.shares_memory(np.ma.getdata(first), np.ma.getdata(second))
        if np.ma.isMaskedArray(first):
            assert not np.shares_memory(np.ma.getmaskarray(first), np.ma.getmaskarray(second))
        expected = np.array(second)
        first[...] = 0
        np.testing.assert_array_equal(second, expected)


def test_jobs_run_concurrently() -> None:
    jobs = [(la.Array(DATA) * i).compute(block=False) for i in range(8)]
    for i, job in enumerate(jobs):
        assert_same(job.result(timeout=10), DATA * i)


def test_intermediates_are_freed_after_their_last_use() -> None:
    import tracemalloc

    data = np.ones(1_000_000)  # 8 MB
    y = la.Array(data)
    for i in range(10):
        y = y * 1.5 + float(i)  # 20 intermediates of 8 MB each
    tracemalloc.start()
    try:
        y.compute(cache=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * data.nbytes  # two live intermediates and the result, not twenty


def test_repr_and_notebook_html() -> None:
    x = la.parameter("x", la.Array, shape=(None, 3))
    y = (x * 2).sum(axis=0)
    assert repr(y) == "<lazyarray.Array shape=(3,) dtype=float64 nodes=4 params=[x]>"
    assert repr(x[x > 0]) == ("<lazyarray.Array shape=(?,) dtype=float64 nodes=4 params=[x]>")
    html = la.MaskedArray([1.0], mask=[True])._repr_html_()
    assert "<table>" in html
    assert "masked</th><td style='text-align:left'>yes" in html
