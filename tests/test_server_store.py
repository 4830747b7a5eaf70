"""The job store's state changes: idempotent submission, claims, leases, stale attempts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lazyarray.jobs import JobStatus
from lazyarray.server.store import MAX_ATTEMPTS, JobStore, SubmissionConflict

REQUEST = {"graph": {"nodes": []}, "arguments": {}}


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs.sqlite3", lease_seconds=5.0)


def test_submission_id_gives_one_job(store: JobStore) -> None:
    first, new = store.submit("alice", REQUEST, "d1", "s1")
    again, new_again = store.submit("alice", REQUEST, "d1", "s1")
    assert new and not new_again
    assert first == again
    other, _ = store.submit("bob", REQUEST, "d1", "s1")  # ids are per owner
    assert other != first
    with pytest.raises(SubmissionConflict):
        store.submit("alice", REQUEST, "d2", "s1")


def test_a_job_is_visible_only_to_its_owner(store: JobStore) -> None:
    job_id, _ = store.submit("alice", REQUEST, "d")
    assert store.get(job_id, "alice") is not None
    assert store.get(job_id, "bob") is None
    assert store.cancel(job_id, "bob") is None


def test_a_stale_attempt_cannot_finish_the_job(store: JobStore) -> None:
    job_id, _ = store.submit("alice", REQUEST, "d")
    stale = store.claim()
    assert stale is not None
    assert store.requeue_expired(now=1e12) == [job_id]
    fresh = store.claim()
    assert fresh is not None and fresh.attempt != stale.attempt
    assert store.heartbeat(stale) is None
    assert not store.finish(stale, JobStatus.COMPLETED, result="stale.npy")
    assert store.finish(fresh, JobStatus.COMPLETED, result="fresh.npy")
    record = store.get(job_id)
    assert record is not None
    assert (record["status"], record["result"], record["attempts"]) == ("Completed", "fresh.npy", 2)


def test_lost_workers_end_the_job_after_three_attempts(store: JobStore) -> None:
    job_id, _ = store.submit("alice", REQUEST, "d")
    for _ in range(MAX_ATTEMPTS):
        assert store.claim() is not None
        store.requeue_expired(now=1e12)
    record = store.get(job_id)
    assert record is not None
    assert record["status"] == JobStatus.ERRORED
    assert "3 attempts" in record["message"]
    assert store.claim() is None


def test_cancel(store: JobStore) -> None:
    pending, _ = store.submit("alice", REQUEST, "d1")
    assert store.cancel(pending)["status"] == "Cancelled"  # type: ignore[index]
    running, _ = store.submit("alice", REQUEST, "d2")
    claim = store.claim()
    assert claim is not None and claim.job_id == running
    assert store.heartbeat(claim) is False
    store.cancel(running)
    assert store.heartbeat(claim) is True
    assert store.finish(claim, JobStatus.CANCELLED)
    done, _ = store.submit("alice", REQUEST, "d3")
    claim = store.claim()
    assert claim is not None
    assert store.finish(claim, JobStatus.COMPLETED, result="r.npy")
    assert store.cancel(done)["status"] == "Completed"  # type: ignore[index]


def test_release_does_not_count_the_attempt(store: JobStore) -> None:
    job_id, _ = store.submit("alice", REQUEST, "d")
    claim = store.claim()
    assert claim is not None and store.release(claim)
    record = store.get(job_id)
    assert record is not None
    assert (record["status"], record["attempts"]) == ("Pending", 0)


def test_the_store_survives_reopening(tmp_path: Path) -> None:
    first = JobStore(tmp_path / "jobs.sqlite3")
    job_id, _ = first.submit("alice", REQUEST, "d", "s")
    first.close()
    second = JobStore(tmp_path / "jobs.sqlite3")
    assert second.submit("alice", REQUEST, "d", "s") == (job_id, False)


def test_forget_deletes_the_jobs_that_ended_before_a_time(store: JobStore) -> None:
    import time

    ended, _ = store.submit("alice", REQUEST, "d1", "s1")
    claim = store.claim()
    assert claim is not None
    assert store.finish(claim, JobStatus.COMPLETED, result="ended.npy")
    cancelled, _ = store.submit("alice", REQUEST, "d2")
    store.cancel(cancelled)
    running, _ = store.submit("alice", REQUEST, "d3")
    assert store.claim() is not None
    pending, _ = store.submit("alice", REQUEST, "d4")
    cut = time.time()
    later, _ = store.submit("alice", REQUEST, "d5")
    claim = store.claim()
    assert claim is not None and claim.job_id == pending
    store.finish(claim, JobStatus.COMPLETED, result="later.npy")  # ends after the cut
    assert store.forget(cut) == ["ended.npy"]
    assert store.get(ended) is None and store.get(cancelled) is None
    assert all(store.get(job) is not None for job in (running, pending, later))
    # a forgotten submission id is free again: the same id makes a new job
    again, new = store.submit("alice", REQUEST, "d1", "s1")
    assert new and again != ended


def test_a_store_made_before_the_warnings_column_opens_and_gains_it(tmp_path: Path) -> None:
    import sqlite3

    from lazyarray.server import store as store_module

    old = store_module.SCHEMA.replace("    warnings TEXT NOT NULL DEFAULT '[]',\n", "")
    assert old != store_module.SCHEMA
    database = sqlite3.connect(tmp_path / "jobs.sqlite3")
    database.executescript(old)
    database.execute(
        "INSERT INTO jobs (job_id, owner, request_digest, request, status, created)"
        " VALUES ('old', 'o', 'd', '{}', 'Pending', 1.0)"
    )
    database.commit()
    database.close()
    jobs = JobStore(tmp_path / "jobs.sqlite3")
    found = jobs.get("old")
    assert found is not None and found["warnings"] == []
    claim = jobs.claim()
    assert claim is not None
    seen = [{"category": "RuntimeWarning", "message": "overflow encountered in exp"}]
    assert jobs.finish(claim, JobStatus.COMPLETED, result="r.npy", warnings=seen)
    assert jobs.get("old")["warnings"] == seen  # type: ignore[index]
    JobStore(tmp_path / "jobs.sqlite3").close()  # opened again: nothing to add
    jobs.close()


def _commits(store: JobStore) -> list[tuple[str, list[str]]]:
    """Each commit of ``store`` from now on, as (its synchronous mode, its statements)."""
    commits: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    mode = ["FULL"]

    def traced(statement: str) -> None:
        if statement.startswith("PRAGMA synchronous="):
            mode[0] = statement.split("=")[1]
        elif statement == "COMMIT":
            commits.append((mode[0], list(pending)))
            pending.clear()
        elif statement.split()[0] in ("INSERT", "UPDATE", "DELETE"):
            pending.append(statement.split()[0])

    store._db.set_trace_callback(traced)
    return commits


def test_every_state_a_client_is_answered_with_is_synced(store: JobStore) -> None:
    """A submission is synced at its commit, or (``durable=False``, a submission that
    waits for the job's end) by ``make_durable`` or by the job's end, whose commit
    syncs the log: a commit that writes, with ``synchronous=FULL``."""
    commits = _commits(store)
    job_id, _ = store.submit("alice", REQUEST, "d1", "s1")
    assert commits == [("FULL", ["INSERT"])]
    waited, _ = store.submit("alice", REQUEST, "d2", "s2", durable=False)
    assert commits[1] == ("NORMAL", ["INSERT"])
    store.make_durable(waited)
    assert commits[2] == ("FULL", ["UPDATE"])
    claim = store.claim()
    assert claim is not None and claim.job_id == job_id
    assert store.finish(claim, JobStatus.COMPLETED, result="r.npy")
    assert commits[-1] == ("FULL", ["UPDATE"])
