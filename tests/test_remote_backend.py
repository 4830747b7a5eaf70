"""The remote backend against a real server (``tests/test_remote_fixtures.py``): values
equal numpy's, and every compute argument means what it means locally: block, timeout,
num_retries, format, file, cache, arguments; Ctrl-C and cancel stop the server's job;
errors are the typed errors of a local compute, naming the user's line."""

from __future__ import annotations

import _thread
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import (
    ComputeArgumentError,
    ComputeError,
    JobCancelled,
    JobNotFound,
    JobTimeoutError,
    RetryError,
    ServerUnreachable,
    TransientError,
    Unauthorized,
    UnsupportedOperation,
    ValueOverflowError,
)
from lazyarray.jobs import AsyncJob, JobStatus
from lazyarray.ops import apply
from lazyarray.proxy import wrap
from tests import kit
from tests.test_remote_fixtures import (  # noqa: F401 - fixtures
    RunningServer,
    remote_fixture,
    remote_server_fixture,
)

httpx = pytest.importorskip("httpx")

from lazyarray_remote import RemoteJob, Session  # noqa: E402 - after the extra's check
from lazyarray_remote.jobs import ANSWER_SECONDS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(11)
SMALL = RNG.random((40, 30))
LARGE = RNG.random((500, 400))  # 200,000 elements: 1.6 MB, a blob in the document


def server_jobs(server: RunningServer, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    answer = httpx.get(
        f"{server.url}/v1/jobs",
        params=params,
        headers={"Authorization": f"Bearer {server.token}"},
    )
    answer.raise_for_status()
    return list(answer.json()["jobs"])


def server_state(server: RunningServer, job_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.url}/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {server.token}"}
    )
    answer.raise_for_status()
    return dict(answer.json())


def until_status(server: RunningServer, job_id: str, wanted: str, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while (status := server_state(server, job_id)["status"]) != wanted:
        assert time.monotonic() < deadline, f"job {job_id} is {status}, not {wanted}"
        time.sleep(0.05)


def slow() -> Any:
    """Seconds of work on the server, in many steps (a cancel lands between two)."""
    y = la.sin(la.arange(2_000_000) * 1.0)
    for _ in range(150):
        y = la.sort(la.sin(y * 7.1))
    return y.sum()


# --- values ---------------------------------------------------------------------------

EXPRESSIONS = {
    "standardized rows (W3)": lambda m, x: ((x - x.mean(axis=0)) / x.std(axis=0)).sum(axis=1),
    "slice of a product (W4)": lambda m, x: (x * 2.5 + x)[3:9].sum(),
    "where": lambda m, x: m.where(x > 0.5, x * 2, -x),
    "matmul": lambda m, x: x @ x.T,
    "sort and cumsum": lambda m, x: m.cumsum(m.sort(x, axis=1), axis=0),
    "transpose and reshape": lambda m, x: (x.T.reshape(-1)[::7] + 1) ** 2,
}


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_expressions_equal_numpy(remote: str, name: str) -> None:
    build = EXPRESSIONS[name]
    expected = build(np, SMALL)
    kit.assert_exact(build(la, la.asarray(SMALL)).compute(backend="remote"), expected)


def test_several_results_and_scalars(remote: str) -> None:
    x = la.asarray(SMALL)
    total, largest, doubled = la.compute(x.sum(), x.max(axis=0), x * 2, backend="remote")
    kit.assert_exact(total, SMALL.sum())
    assert isinstance(total, np.float64)
    kit.assert_exact(largest, SMALL.max(axis=0))
    kit.assert_exact(doubled, SMALL * 2)


def test_masked_results_come_back_masked(remote: str) -> None:
    data = np.ma.MaskedArray(SMALL, mask=SMALL > 0.7)
    x = la.MaskedArray(data)
    value = (x * 2 + 1).compute(backend="remote")
    assert isinstance(value, np.ma.MaskedArray)
    kit.assert_exact(value, data * 2 + 1)
    mean, std = la.compute(x.mean(axis=0), x.std(axis=0), backend="remote")  # W7
    kit.assert_exact(mean, data.mean(axis=0))
    kit.assert_within(std, data.std(axis=0), 1e-12)
    assert la.MaskedArray(np.ma.masked_all(3)).sum().compute(backend="remote") is np.ma.masked


def test_large_literals_are_uploaded_once(remote_server: RunningServer, remote: str) -> None:
    x = la.asarray(LARGE)
    summed = (x * 2 + 1).sum(axis=0)
    with Session(remote, remote_server.token) as session:
        got = summed.compute(backend="remote", client=session)
        kit.assert_exact(got, summed.compute(backend="numpy"))  # the same blocked sums
        assert session.uploads == 1
        sine = la.sin(x).compute(backend="remote", client=session)  # a new graph
        kit.assert_exact(sine, np.sin(LARGE))
        assert session.uploads == 1  # the literal went once
        strided = la.asarray(LARGE.T[::2])  # written block by block, not from its memory
        kit.assert_exact((strided + 1).compute(backend="remote", client=session), LARGE.T[::2] + 1)
        assert session.uploads == 2


def test_arguments_of_parameters(remote_server: RunningServer, remote: str) -> None:
    k = la.parameter("k", la.Scalar, dtype="float32")
    x = la.asarray(SMALL.astype(np.float32))
    kit.assert_exact(
        (x * k).sum().compute(backend="remote", k=1.5), (SMALL.astype("f4") * 1.5).sum()
    )
    v = la.parameter("v", la.Array, dtype="int16")
    got = (v * 3).compute(backend="remote", v=np.arange(5, dtype=np.int16))
    kit.assert_exact(got, np.arange(5, dtype=np.int16) * 3)


def test_python_numbers_fill_parameters_remotely_as_locally(remote: str) -> None:
    """A Python int is weak there as here: it fills an unsigned parameter (sent as a
    JSON number, read as the number it is); one out of range is refused alike."""
    p = la.parameter("p", la.Scalar, dtype="uint8")
    for value in (5, 255):
        kit.assert_exact((p * 1).compute(backend="remote", p=value), (p * 1).compute(p=value))
    with pytest.raises(ValueOverflowError, match="out of bounds for uint8"):
        (p * 1).compute(backend="remote", p=-1)
    u = la.parameter("u", la.Scalar, dtype="uint64")
    kit.assert_exact((u + 1).compute(backend="remote", u=2**40), np.uint64(2**40 + 1))


def test_masked_arguments(remote: str) -> None:
    """A masked argument goes as its data, its mask and its fill value: the result,
    its mask and its fill value are the numpy backend's."""
    m = la.parameter("m", la.MaskedArray, dtype="float64", shape=(None,))
    data = np.ma.MaskedArray(SMALL[0], mask=SMALL[0] > 0.5, fill_value=-7.0)
    for lazy in ((m * 2 + 1), m.sum(), la.MaskedArray.filled(m)):
        got = lazy.compute(backend="remote", m=data, cache=False)
        local = lazy.compute(backend="numpy", m=data, cache=False)
        kit.assert_exact(got, local)
        if isinstance(local, np.ma.MaskedArray):
            assert got.fill_value == local.fill_value
    nothing = np.ma.masked_all(4)
    assert m.sum().compute(backend="remote", m=nothing, cache=False) is np.ma.masked
    # several masked results (one npz) keep their fill values too
    outputs = (m + 1, m[::2], m.mean())
    got = la.compute(*outputs, backend="remote", m=data, cache=False)
    local = la.compute(*outputs, backend="numpy", m=data, cache=False)
    for one, other in zip(got, local, strict=True):
        kit.assert_exact(one, other)
        if isinstance(other, np.ma.MaskedArray):
            assert one.fill_value == other.fill_value, (one.fill_value, other.fill_value)
            assert one.fill_value.dtype == other.fill_value.dtype


def test_formats_and_files_are_local_bytes(remote: str, tmp_path: Path) -> None:
    y = la.asarray(SMALL).sum(axis=1)
    for fmt in ("json", "npy", "npz"):
        assert y.compute(backend="remote", format=fmt) == y.compute(backend="numpy", format=fmt)
    target = tmp_path / "y.npy"
    assert y.compute(backend="remote", format="npy", file=target) is None
    kit.assert_exact(np.load(target), SMALL.sum(axis=1))


def test_a_cached_result_runs_no_job(remote_server: RunningServer, remote: str) -> None:
    y = la.asarray(SMALL.copy()).max()
    frozen = la.asarray(np.array(SMALL)).min()
    readonly = np.array(SMALL)
    readonly.flags.writeable = False
    cached = (la.asarray(readonly) * 3).sum()
    before = len(server_jobs(remote_server))
    cached.compute(backend="remote")
    cached.compute(backend="remote")  # the local result cache answers
    y.compute(backend="remote", cache=False)
    frozen.compute(backend="remote", cache=False)
    assert len(server_jobs(remote_server)) == before + 3


@pytest.mark.parametrize("size", [10, LARGE.size], ids=["inline", "blob"])
def test_an_array_changed_in_place_is_sent_as_it_is_now(remote: str, size: int) -> None:
    """A wrapped writeable array is read by reference, as a local compute reads it: each
    compute sends the data as it is then (before, the document named it by its first
    contents' digest, and the server refused every later compute)."""
    data = np.arange(float(size))
    lazy = (la.asarray(data) * 2).sum()
    for change in range(3):
        if change:
            data[change] = -1e6 * change
        kit.assert_exact(lazy.compute(backend="remote"), lazy.compute(backend="numpy"))
        assert lazy.compute(backend="remote", cache=False) == (data * 2).sum()
        job = lazy.compute(backend="remote", block=False)
        kit.assert_exact(job.result(), (data * 2).sum())


def test_block_false_submits_a_job_even_when_the_result_is_cached(
    remote_server: RunningServer, remote: str
) -> None:
    """A server's job id reopens it from any process: a cached result has none, so
    ``block=False`` always asks the server (docs/remote.md's example)."""
    readonly = np.array(SMALL)
    readonly.flags.writeable = False
    lazy = (la.asarray(readonly) + 7).sum(axis=0)
    lazy.compute(backend="remote")  # cached here
    job = lazy.compute(backend="remote", block=False)
    assert isinstance(job._inner, RemoteJob)
    reopened = AsyncJob.from_id(job.job_id, client=remote)
    kit.assert_exact(reopened.result(), (SMALL + 7).sum(axis=0))
    assert server_state(remote_server, job.job_id)["status"] == "Completed"


def test_scalar_arguments_of_every_kind(remote: str) -> None:
    """Non-finite and complex scalars travel as 0-d blobs (JSON has no number for
    them), keeping their shape."""
    s = la.parameter("s", la.Scalar, dtype="float64")
    c = la.parameter("c", la.Scalar, dtype="complex128")
    ramp = la.asarray(np.arange(4.0))
    for value in (float("nan"), np.array(np.inf), np.float64(-np.inf), 2.5):
        got = (s + ramp).compute(backend="remote", s=value, cache=False)
        kit.assert_exact(got, (s + ramp).compute(backend="numpy", s=value, cache=False))
    got = (c * ramp).compute(backend="remote", c=1 + 2j, cache=False)
    kit.assert_exact(got, (1 + 2j) * np.arange(4.0))


@pytest.mark.parametrize("job_id", ["../../health", "../workflows", "", "?x=1", "a/b", "x" * 129])
def test_a_job_id_that_is_no_id_is_not_found_without_asking(remote: str, job_id: str) -> None:
    with pytest.raises(JobNotFound, match="a job id is 1 to 128 letters"):
        AsyncJob.from_id(job_id, client=remote)


def test_server_takes_only_a_backend_that_runs_on_a_server(remote: str) -> None:
    y = la.asarray(SMALL).sum()
    for other in ("numpy", "dask"):
        with pytest.raises(ComputeArgumentError, match=f"backend '{other}' does not run"):
            y.compute(backend=other, server=remote, cache=False)
        with pytest.raises(ComputeArgumentError, match=f"client= .* backend '{other}'"):
            y.compute(backend=other, client=remote, cache=False)
        with pytest.raises(ComputeArgumentError, match=f"client= .* backend '{other}'"):
            y.inspect(backend=other, client=remote, cache=False)
    kit.assert_exact(y.compute(backend="remote", server=remote, cache=False), SMALL.sum())


def test_a_result_cached_from_one_server_is_not_another_servers(remote: str) -> None:
    """The cache is keyed by the server too: another server may hold other data."""
    readonly = np.array(SMALL)
    readonly.flags.writeable = False
    y = (la.asarray(readonly) - 3).sum()
    kit.assert_exact(y.compute(server=remote), (SMALL - 3).sum())
    kit.assert_exact(y.compute(server=remote), (SMALL - 3).sum())  # from the cache
    with pytest.raises(ServerUnreachable):
        y.compute(server="http://127.0.0.1:9", num_retries=0)  # asked, not the cache's


def test_no_retries_raise_the_failure_itself(remote: str) -> None:
    """inspect never retries: its failure is the error itself, not a RetryError of one."""
    y = la.asarray(SMALL).sum()
    nowhere = "http://127.0.0.1:9"  # the discard port: nothing answers
    with pytest.raises(ServerUnreachable, match="no answer"):
        y.inspect(backend="remote", client=nowhere, cache=False)
    with pytest.raises(ServerUnreachable, match="no answer"):
        y.compute(backend="remote", server=nowhere, num_retries=0, timeout=30, cache=False)
    kit.assert_exact(y.inspect(client=remote, backend="remote", cache=False), SMALL.sum())


def test_a_deleted_jobs_result_is_not_found(remote_server: RunningServer, remote: str) -> None:
    """A job deleted since (``--keep-results``) is JobNotFound however it is asked."""
    big = la.asarray(LARGE) * 3  # 1.6 MB: a result file, downloaded by result()
    job = big.compute(backend="remote", block=False)
    until_status(remote_server, job.job_id, "Completed")
    reopened = AsyncJob.from_id(job.job_id, client=remote)
    with sqlite3.connect(remote_server.store / "jobs.sqlite3") as store:
        store.execute("DELETE FROM jobs WHERE job_id=?", (job.job_id,))
    with pytest.raises(JobNotFound, match=job.job_id):
        reopened.result(30)
    with pytest.raises(JobNotFound, match=job.job_id):
        reopened.status()


# --- jobs -----------------------------------------------------------------------------


def test_a_reopened_job_gives_what_the_submitted_job_gives(
    remote_server: RunningServer, remote: str
) -> None:
    """A job reopened by id (here, or in another process: it asks the server only) gives
    what the submitting compute's job gives: the format it asked for (json bytes, ...),
    one value alone (``x.compute``) or a tuple (``la.compute``, as it gives them when
    blocking)."""
    x = la.asarray(SMALL)
    masked = la.MaskedArray(np.ma.MaskedArray(SMALL, mask=SMALL > 0.5))
    for job in [
        (x * 3).compute(backend="remote", block=False, cache=False),
        (x * 3).compute(backend="remote", block=False, format="json", cache=False),
        (masked + 1).compute(backend="remote", block=False, format="npz", cache=False),
        la.compute(x * 3, backend="remote", block=False, cache=False),
        la.compute(x * 3, x.sum(), masked.sum(), backend="remote", block=False, cache=False),
    ]:
        mine = job.result(30)
        reopened = AsyncJob.from_id(job.job_id, client=remote).result(30)
        assert type(reopened) is type(mine)
        if isinstance(mine, bytes):
            assert reopened == mine
        else:
            for got, wanted in zip(
                reopened if isinstance(mine, tuple) else [reopened],
                mine if isinstance(mine, tuple) else [mine],
                strict=True,
            ):
                kit.assert_exact(got, wanted)


def test_several_results_and_none_are_tuples_as_locally(remote: str) -> None:
    x = la.asarray(SMALL)
    job = la.compute(x * 3, x.sum(), backend="remote", block=False, cache=False)
    assert type(job.result(30)) is tuple
    assert type(la.compute(x * 3, x.sum(), backend="remote", cache=False)) is tuple
    assert la.compute(backend="remote") == ()
    assert la.compute(backend="remote", block=False).result() == ()


def test_a_job_is_reopened_by_id_from_another_process(
    remote_server: RunningServer, remote: str
) -> None:
    x = la.asarray(SMALL)
    job = (x * 2).sum(axis=0).compute(backend="remote", block=False)
    failing = la.linalg.inv(la.asarray(np.zeros((3, 3)))).compute(backend="remote", block=False)
    assert isinstance(job, AsyncJob)
    script = (
        "import json, sys\n"
        "from tests.test_remote_fixtures import register_remote\n"
        "register_remote()\n"
        "import lazyarray as la\n"
        "job = la.AsyncJob.from_id(sys.argv[1], client=sys.argv[3])\n"
        "value = job.result(30)\n"
        "failing = la.AsyncJob.from_id(sys.argv[2], client=sys.argv[3])\n"
        "try:\n"
        "    failing.result(30)\n"
        "except la.ComputeError as error:\n"
        "    message = str(error)\n"
        "print(json.dumps({'value': value.tolist(), 'status': job.status()['status'],"
        " 'error': message, 'errors': failing.errors()}))\n"
    )
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "backends")]),
        LAZYARRAY_TOKEN=remote_server.token,
    )
    found = subprocess.run(
        [sys.executable, "-c", script, job.job_id, failing.job_id, remote],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    seen = json.loads(found.stdout.strip().splitlines()[-1])
    kit.assert_exact(np.array(seen["value"]), (SMALL * 2).sum(axis=0))
    assert seen["status"] == "Completed"
    assert "inv failed" in seen["error"]
    assert "node 1 of the graph document" in seen["error"]  # no sites in another process
    assert seen["errors"][0].startswith("ComputeError: inv failed")
    kit.assert_exact(job.result(), (SMALL * 2).sum(axis=0))


def test_status_progress_and_sleep_until_complete(
    remote_server: RunningServer, remote: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job = (la.asarray(SMALL) + 1).compute(backend="remote", block=False)
    job.sleep_until_complete(verbose_std_out=True)
    status = job.status()
    assert status["status"] == JobStatus.COMPLETED
    assert status["completed_steps"] == status["total_steps"]
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith(f"job {job.job_id}: Completed")
    assert job.errors() == []
    assert job.cancel() is False  # finished: nothing to cancel
    assert la.AsyncJob.from_id(job.job_id).status()["status"] == JobStatus.COMPLETED
    with Session(remote, remote_server.token) as session:  # a JobSource object
        reopened = AsyncJob.from_id(job.job_id, client=session)
        kit.assert_exact(reopened.result(), SMALL + 1)


def test_cancel_stops_the_server_job(remote_server: RunningServer, remote: str) -> None:
    job = slow().compute(backend="remote", block=False)
    until_status(remote_server, job.job_id, "Running")
    assert job.cancel() is True
    with pytest.raises(JobCancelled):
        job.result(10)
    until_status(remote_server, job.job_id, "Cancelled")


def test_timeout_cancels_the_server_job(remote_server: RunningServer, remote: str) -> None:
    before = {j["job_id"] for j in server_jobs(remote_server)}
    with pytest.raises(JobTimeoutError, match=r"did not finish within"):
        slow().compute(backend="remote", timeout=0.5)
    (new,) = [j["job_id"] for j in server_jobs(remote_server) if j["job_id"] not in before]
    until_status(remote_server, new, "Cancelled")


def test_a_timeout_is_the_jobs_deadline_on_the_server(
    remote_server: RunningServer, remote: str
) -> None:
    """The server has the deadline too: a job the client no longer watches is still
    cancelled then ("timed out"), and waiting on it raises ``JobTimeoutError``; with
    ``block=False`` the job returns at once and times out the same way."""
    from lazyarray.backend import get_backend
    from lazyarray.jobs import RunContext
    from lazyarray.planner import make_plan

    plan = make_plan([slow()._node], {}, frozenset(), optimize=False)
    backend = get_backend("remote")
    alone = backend.submit(plan, {}, RunContext(len(plan), client=remote, timeout=0.5))
    assert isinstance(alone, RemoteJob)  # no timer here: only the server's deadline
    with pytest.raises(JobTimeoutError, match="the server's deadline"):
        alone.result(30)
    until_status(remote_server, alone.job_id, "Cancelled")
    state = next(j for j in server_jobs(remote_server) if j["job_id"] == alone.job_id)
    assert state["message"].startswith("timed out")
    asked = time.monotonic()
    job = slow().compute(backend="remote", block=False, timeout=0.5, cache=False)
    assert time.monotonic() - asked < 0.5
    with pytest.raises(JobTimeoutError):
        job.result(30)
    assert job.status()["status"] == JobStatus.CANCELLED


def test_ctrl_c_cancels_the_server_job(remote_server: RunningServer, remote: str) -> None:
    before = {j["job_id"] for j in server_jobs(remote_server)}

    def interrupt_once_running() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(j["job_id"] not in before for j in server_jobs(remote_server, "Running")):
                _thread.interrupt_main()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=interrupt_once_running)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            slow().compute(backend="remote")
    finally:
        watcher.join()
    (new,) = [j["job_id"] for j in server_jobs(remote_server) if j["job_id"] not in before]
    until_status(remote_server, new, "Cancelled")


# --- errors ---------------------------------------------------------------------------


def test_errors_are_typed_and_name_the_users_line(remote: str) -> None:
    singular = la.linalg.inv(la.asarray(np.zeros((3, 3))))
    line = sys._getframe().f_lineno - 1
    with pytest.raises(ComputeError) as raised:
        singular.compute(backend="remote")
    assert f"{Path(__file__).name}:{line}" in str(raised.value)
    assert raised.value.op == "inv"
    with pytest.raises(ComputeError) as local:
        singular.compute(backend="numpy")
    assert str(raised.value) == str(local.value)
    job = singular.compute(backend="remote", block=False)
    with pytest.raises(ComputeError, match=f"{Path(__file__).name}:{line}"):
        job.result()
    assert f"{Path(__file__).name}:{line}" in job.errors()[-1]


def test_an_error_found_while_planning_names_the_users_line(remote: str) -> None:
    """An error the server finds while checking the graph (a constant index out of
    range, folded by its planner) names the line that built the failing node, as a
    local compute's does."""
    values = la.asarray(np.arange(9.0).reshape(3, 3))
    index = (values.sum() * 0 + 100).astype("int64")
    picked = la.take(values.ravel(), index)
    line = sys._getframe().f_lineno - 1
    with pytest.raises(ComputeError, match="take failed: IndexError") as raised:
        picked.compute(backend="remote", cache=False)
    assert f"{Path(__file__).name}:{line}" in str(raised.value)
    assert "out of bounds" in str(raised.value)
    job = picked.compute(backend="remote", cache=False, block=False)  # a job, as locally
    with pytest.raises(ComputeError, match=f"{Path(__file__).name}:{line}"):
        job.result()


def test_what_the_server_warned_is_warned_here(remote: str) -> None:
    """numpy's warnings on the server are warned in the process that asked, under its
    errstate, as a local compute's would be: a blocking compute, a job, an inspect."""
    ones, zeros = la.asarray(np.ones(4)), la.asarray(np.zeros(4))
    ratio = ones / zeros
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        kit.assert_exact(ratio.compute(backend="remote", cache=False), np.full(4, np.inf))
    job = ratio.compute(backend="remote", block=False)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        job.result()
    for _ in range(2):  # each time: the server computes it again (its cache is the client's)
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            ratio.inspect(backend="remote", cache=False)
    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        warnings.simplefilter("error")  # nothing is warned where nothing would be
        ratio.compute(backend="remote", cache=False)
        ratio.inspect(backend="remote", cache=False)


@pytest.mark.parametrize("size", [4, 300_000])  # a step, and a kernel run blockwise
def test_a_warning_the_filters_make_an_error_fails_as_locally(remote: str, size: int) -> None:
    """Under warning filters that make warnings errors, a warning of the server's run
    fails the compute with the error a local compute raises, at the line that built the
    step that warned: a blocking compute, a job (each time its result is asked), an
    inspect."""
    ones, zeros = la.asarray(np.ones(size)), la.asarray(np.zeros(size))
    ratio = (ones / zeros) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ComputeError) as local:
            ratio.compute(cache=False)
        with pytest.raises(ComputeError) as remotely:
            ratio.compute(backend="remote", cache=False)
        assert str(remotely.value) == str(local.value)
        assert f"{Path(__file__).name}:" in str(remotely.value)
        assert isinstance(remotely.value.original, RuntimeWarning)
        job = ratio.compute(backend="remote", block=False, cache=False)
        for _ in range(2):
            with pytest.raises(ComputeError, match="divide by zero"):
                job.result()
        with pytest.raises(ComputeError) as inspected:
            ratio.inspect(backend="remote", cache=False)
        assert str(inspected.value) == str(local.value)


def test_a_filter_on_one_message_judges_the_warning_here(remote: str) -> None:
    """A filter that names a message is judged where the compute was asked: the warning
    it makes an error fails the compute (a ``ComputeError`` caused by it), another is
    warned."""
    ones, zeros = la.asarray(np.ones(4)), la.asarray(np.zeros(4))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="divide by zero")
        with pytest.raises(ComputeError, match="divide by zero") as raised:
            (ones / zeros).compute(backend="remote", cache=False)
        assert isinstance(raised.value.__cause__, RuntimeWarning)
        with pytest.warns(RuntimeWarning, match="invalid value"):
            (zeros / zeros).compute(backend="remote", cache=False)


class Answers(httpx.HTTPTransport):
    """The real transport, noting each answer's status."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = super().handle_request(request)
        self.statuses.append(answer.status_code)
        return answer


def test_an_inspect_past_its_timeout_stops_on_the_server(
    remote_server: RunningServer, remote: str
) -> None:
    """inspect's timeout travels: the server stops the computation and answers 408."""
    answers = Answers()
    session = Session(remote, remote_server.token, transport=answers)
    with session, pytest.raises(JobTimeoutError, match=r"within 0\.5 seconds") as raised:
        slow().inspect(backend="remote", client=session, timeout=0.5, cache=False)
    assert answers.statuses[-1] == 408  # the server's answer, not the client giving up
    assert "did not answer" not in str(raised.value)


def test_custom_functions_are_refused_before_sending(
    remote_server: RunningServer, remote: str, python_row: Any
) -> None:
    before = len(server_jobs(remote_server))
    y = wrap(apply(python_row.name, (la.asarray(SMALL).node,), function=np.negative))
    with pytest.raises(UnsupportedOperation, match="backend 'remote' cannot run op"):
        y.compute(backend="remote")
    assert len(server_jobs(remote_server)) == before


def test_a_bad_token_is_unauthorized(remote_server: RunningServer) -> None:
    with Session(remote_server.url, "wrong") as session:
        with pytest.raises(Unauthorized):
            la.asarray(SMALL).sum().compute(backend="remote", client=session, cache=False)
        with pytest.raises(Unauthorized):
            AsyncJob.from_id("job_1", client=session)


# --- retries --------------------------------------------------------------------------


class Flaky(httpx.BaseTransport):
    """The real transport, but the next requests fail as ``plan`` says: "refuse" (a
    connection error), 503 (busy, Retry-After 0), "lose" (sent and answered, the answer
    lost), None (passed through)."""

    def __init__(self, *plan: Any) -> None:
        self.plan = list(plan)
        self.seen: list[str] = []
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        action = self.plan.pop(0) if self.plan else None
        if action == "refuse":
            raise httpx.ConnectError("refused", request=request)
        if action == 503:
            body = {"detail": "busy", "error": {"type": "ServiceUnavailable", "message": "busy"}}
            return httpx.Response(503, json=body, headers={"Retry-After": "0"})
        answer = self._real.handle_request(request)
        if action == "lose":
            answer.read()
            answer.close()
            raise httpx.ReadError("connection reset", request=request)
        return answer

    def close(self) -> None:
        self._real.close()


def test_transient_failures_are_retried_as_num_retries_says(
    remote_server: RunningServer, remote: str
) -> None:
    y = (la.asarray(SMALL) * 4).sum(axis=1)
    before = len(server_jobs(remote_server))
    flaky = Flaky("refuse", 503, "lose")  # the job's POST: refused, busy, then answer lost
    with Session(remote_server.url, remote_server.token, transport=flaky) as session:
        got = y.compute(backend="remote", client=session, num_retries=3, cache=False)
    kit.assert_exact(got, (SMALL * 4).sum(axis=1))
    assert flaky.seen[:4] == ["POST /v1/jobs"] * 4
    assert len(server_jobs(remote_server)) == before + 1  # the lost answer made no 2nd job

    spent = Flaky(*["refuse"] * 3)
    with (
        Session(remote_server.url, remote_server.token, transport=spent) as session,
        pytest.raises(RetryError) as raised,
    ):
        y.compute(backend="remote", client=session, num_retries=2, cache=False)
    assert len(raised.value.exceptions) == 3
    assert all(isinstance(e, TransientError) for e in raised.value.exceptions)
    once = Flaky("refuse")
    with (
        Session(remote_server.url, remote_server.token, transport=once) as session,
        pytest.raises(TransientError),  # num_retries=0: the failure itself
    ):
        y.compute(backend="remote", client=session, cache=False)


def test_a_quick_job_is_one_request(remote_server: RunningServer, remote: str) -> None:
    """The submission waits for a quick job's end and brings a small result back; a
    result over 256 KiB is downloaded after it."""
    (la.asarray(SMALL) * 2).compute(backend="remote")  # the workers have started
    seen = Flaky()
    with Session(remote_server.url, remote_server.token, transport=seen) as session:
        got = (
            (la.asarray(SMALL) * 3)
            .sum(axis=0)
            .compute(backend="remote", client=session, cache=False)
        )
        kit.assert_exact(got, (SMALL * 3).sum(axis=0))
        assert seen.seen == ["POST /v1/jobs"]
        del seen.seen[:]
        got = (la.asarray(LARGE) * 3).compute(backend="remote", client=session, cache=False)
        kit.assert_exact(got, LARGE * 3)
        jobs = [request for request in seen.seen if "/blobs/" not in request]  # the input
        assert jobs[0] == "POST /v1/jobs" and jobs[-1].endswith("/result"), seen.seen


def test_user_errors_are_never_retried(remote_server: RunningServer, remote: str) -> None:
    flaky = Flaky()
    singular = la.linalg.inv(la.asarray(np.zeros((3, 3))))
    with (
        Session(remote_server.url, remote_server.token, transport=flaky) as session,
        pytest.raises(ComputeError),
    ):
        singular.compute(backend="remote", client=session, num_retries=3)
    assert flaky.seen.count("POST /v1/jobs") == 1


def test_inspect_asks_the_server_synchronously(remote_server: RunningServer, remote: str) -> None:
    before = len(server_jobs(remote_server))
    value = (la.asarray(SMALL) * 5).sum(axis=0).inspect(backend="remote", cache=False)
    kit.assert_exact(value, (SMALL * 5).sum(axis=0))
    assert len(server_jobs(remote_server)) == before  # no job was recorded


def test_remote_jobs_are_remote_jobs(remote: str) -> None:
    job = la.asarray(SMALL).sum().compute(backend="remote", block=False)
    inner = job._inner  # compute's job wraps the backend's
    assert isinstance(inner, RemoteJob)
    assert job.job_id == inner.job_id
    kit.assert_exact(job.result(), SMALL.sum())


def test_server_names_the_server_and_implies_the_backend(remote: str) -> None:
    y = la.asarray(SMALL).mean(axis=1)
    kit.assert_exact(y.compute(server=remote, cache=False), SMALL.mean(axis=1))
    with pytest.raises(ComputeArgumentError, match="server must be"):
        y.compute(server="ftp://127.0.0.1:8700")


def test_an_inspect_error_names_the_users_line(remote: str) -> None:
    singular = la.linalg.inv(la.asarray(np.zeros((3, 3))))
    line = sys._getframe().f_lineno - 1
    with pytest.raises(ComputeError) as raised:
        singular.inspect(backend="remote", cache=False)
    with pytest.raises(ComputeError) as local:
        singular.inspect(backend="numpy", cache=False)
    assert str(raised.value) == str(local.value)
    assert f"{Path(__file__).name}:{line}" in str(raised.value)
    assert isinstance(raised.value.original, np.linalg.LinAlgError)


def test_an_unknown_job_id_is_not_found(remote: str) -> None:
    with pytest.raises(JobNotFound, match="no job 'job_that_never_was'"):
        AsyncJob.from_id("job_that_never_was", client=remote)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A URL whose server accepts connections and never answers (hung, or busy)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("block", [True, False])
def test_a_timeout_bounds_the_requests_of_a_server_that_does_not_answer(
    silent_server: str, block: bool
) -> None:
    """``timeout`` bounds the whole compute, its requests and their retries included: a
    server that never answers is a ``JobTimeoutError`` after that many seconds (and
    the grace of an answer in flight), not after the HTTP client's own timeout (a
    minute), once per retry."""
    x = la.asarray(np.arange(300_000.0))  # uploaded first: a blob
    for value in (x * 2, (x * 2).sum()):
        start = time.monotonic()
        with pytest.raises(JobTimeoutError, match="did not answer within the timeout of 1 sec"):
            value.compute(
                backend="remote",
                client=Session(silent_server, "t"),
                block=block,
                timeout=1.0,
                num_retries=3,
                cache=False,
            )
        assert time.monotonic() - start < 1.0 + ANSWER_SECONDS + 2
