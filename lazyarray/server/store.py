"""The job store: one SQLite database in WAL mode; every state change is one transaction.

A row changes state only through the methods here, each a single ``BEGIN IMMEDIATE``
transaction, so a crash leaves every job in exactly one state. Attempts are named by a
token: a worker's heartbeat, completion or failure counts only while the row still names
its attempt, so a stale attempt can never overwrite a result.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lazyarray.jobs import JobStatus

MAX_ATTEMPTS = 3
LEASE_SECONDS = 10.0
BUSY_SECONDS = 30.0  # how long a transaction waits for another connection's write
BUSY_FIRST, BUSY_LAST = 50e-6, 0.005  # its sleeps between tries

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    submission_id TEXT,
    request_digest TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    completed_steps INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    attempt TEXT,
    lease_expires REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]',
    presentation TEXT,
    result TEXT,
    result_data BLOB,
    created REAL NOT NULL,
    deadline REAL,
    started REAL,
    finished REAL,
    UNIQUE (owner, submission_id)
);
CREATE INDEX IF NOT EXISTS jobs_pending ON jobs (status, created);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished);
"""
# columns added since a store was first made: {name: its definition}, added on opening
ADDED = {"warnings": "TEXT NOT NULL DEFAULT '[]'", "presentation": "TEXT"}

# what a job's record shows (not its request, nor a result kept in the row)
PUBLIC = (
    "job_id, owner, status, message, completed_steps, total_steps, attempts, created,"
    " started, finished, errors, warnings, result, presentation"
)
FINISHED = tuple(str(s) for s in JobStatus if s.finished)
# the message of a job back in Pending (a running attempt's message no longer holds)
RELEASED = "pending: the server stopped before the job ended; it runs again at its next start"
REQUEUED = "pending: the worker running the job was lost; it runs again"


def job_error(
    type_: str, message: str, op: str | None = None, node: int | None = None
) -> dict[str, Any]:
    """One entry of a job's errors: the error's class name (of ``lazyarray.errors`` where
    it is one), its message, and the failing op and node (its position in the submitted
    document's ``nodes``) where known."""
    return {"type": type_, "message": message, "op": op, "node": node}


def worker_lost(attempts: int) -> dict[str, Any]:
    return job_error(
        "WorkerLost",
        f"the worker running the job was lost in each of its {attempts} attempts",
    )


class SubmissionConflict(Exception):
    """The same ``submission_id`` was sent with a different request."""


class TooManyJobs(Exception):
    """The owner has as many outstanding (Pending or Running) jobs as allowed."""


@dataclass(frozen=True)
class Claim:
    """A job a worker holds: its id, its attempt's token and its request."""

    job_id: str
    attempt: str
    request: dict[str, Any]
    deadline: float | None = None  # time.time() past which the job is cancelled


class JobStore:
    """The jobs of one store folder; one connection per process (or thread) using it."""

    def __init__(self, path: str | Path, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self.path = Path(path)
        self.lease_seconds = lease_seconds
        # autocommit mode: transactions are begun explicitly, one per state change
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=BUSY_SECONDS, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()  # the server's threads share one connection
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a 202 means the row is on disk
        self._db.executescript(SCHEMA)
        if set(ADDED) - self._columns():  # a store made before a column was added
            with self._transaction():
                for name in set(ADDED) - self._columns():
                    self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {ADDED[name]}")

    def _columns(self) -> set[str]:
        return {row["name"] for row in self._db.execute("PRAGMA table_info(jobs)")}

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction. ``durable=False`` (claims, heartbeats)
        skips the fsync of its commit: a power loss may undo it, which only runs an
        attempt again; the next durable commit makes it durable with itself."""
        with self._lock:
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._begin()
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``, waiting for another connection's write by short sleeps
        (50 us, doubling to 5 ms) instead of SQLite's busy handler, whose first sleeps
        are 1, 2 and 5 ms: the server's submissions and the workers' claims and ends
        take turns often, each holding the lock about one commit."""
        self._db.execute("PRAGMA busy_timeout=0")
        try:
            delay, end = BUSY_FIRST, time.monotonic() + BUSY_SECONDS
            while True:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) or time.monotonic() > end:
                        raise
                time.sleep(delay)
                delay = min(delay * 2, BUSY_LAST)
        finally:
            self._db.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")

    # --- the client's side -----------------------------------------------------------

    def submit(
        self,
        owner: str,
        request: dict[str, Any],
        request_digest: str,
        submission_id: str | None = None,
        *,
        timeout: float | None = None,
        outstanding: int | None = None,
        durable: bool = True,
        presentation: dict[str, Any] | None = None,
    ) -> tuple[str, bool]:
        """Records a Pending job; returns its id and whether it is new. The same
        ``submission_id`` (per owner) gives the same job, or ``SubmissionConflict``;
        ``TooManyJobs`` when the owner already has ``outstanding`` unfinished jobs. The
        job is cancelled ``timeout`` seconds after it is recorded. ``durable=False``: the
        record is made durable by the job's end, or by ``make_durable`` before the job's
        id is answered (a submission that waits for the job's end saves a sync).
        ``presentation``: the client's, shown in the job's record."""
        with self._transaction(durable) as db:
            if submission_id is not None:
                row = db.execute(
                    "SELECT job_id, request_digest FROM jobs WHERE owner=? AND submission_id=?",
                    (owner, submission_id),
                ).fetchone()
                if row is not None:
                    if row["request_digest"] != request_digest:
                        raise SubmissionConflict(
                            f"submission_id {submission_id!r} was sent with another request"
                        )
                    return str(row["job_id"]), False
            if outstanding is not None:
                (count,) = db.execute(
                    "SELECT COUNT(*) FROM jobs WHERE owner=? AND status IN (?, ?)",
                    (owner, str(JobStatus.PENDING), str(JobStatus.RUNNING)),
                ).fetchone()
                if count >= outstanding:
                    raise TooManyJobs(
                        f"{count} jobs are pending or running (the limit is {outstanding})"
                    )
            job_id = uuid.uuid4().hex
            now = time.time()
            db.execute(
                "INSERT INTO jobs (job_id, owner, submission_id, request_digest, request,"
                " status, created, deadline, presentation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    owner,
                    submission_id,
                    request_digest,
                    json.dumps(request),
                    str(JobStatus.PENDING),
                    now,
                    None if timeout is None else now + timeout,
                    None if presentation is None else json.dumps(presentation),
                ),
            )
        return job_id, True

    def make_durable(self, job_id: str) -> None:
        """Syncs the log with the job's record in it (a commit that writes its row), and
        every commit before it."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET job_id=job_id WHERE job_id=?", (job_id,))

    def get(self, job_id: str, owner: str | None = None) -> dict[str, Any] | None:
        """The job's public record, or None when there is none (or it is another's)."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {PUBLIC} FROM jobs WHERE job_id=?", (job_id,)
            ).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return _public(row)

    def result_data(self, job_id: str) -> bytes | None:
        """A small result kept in the job's row (None: it is a file of the results)."""
        with self._lock:
            row = self._db.execute(
                "SELECT result_data FROM jobs WHERE job_id=?", (job_id,)
            ).fetchone()
        return None if row is None or row["result_data"] is None else bytes(row["result_data"])

    def list_jobs(
        self, owner: str, status: JobStatus | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The owner's jobs, newest first, in ``status`` when given."""
        query = f"SELECT {PUBLIC} FROM jobs WHERE owner=?"
        values: list[Any] = [owner]
        if status is not None:
            query += " AND status=?"
            values.append(str(status))
        query += " ORDER BY created DESC, rowid DESC LIMIT ?"
        values.append(limit)
        with self._lock:
            rows = self._db.execute(query, values).fetchall()
        return [_public(row) for row in rows]

    def cancel(self, job_id: str, owner: str | None = None) -> dict[str, Any] | None:
        """Cancels a Pending job at once; asks a Running one's worker to stop (its next
        heartbeat learns it); leaves a finished job as it is."""
        with self._transaction() as db:
            row = db.execute("SELECT owner, status FROM jobs WHERE job_id=?", (job_id,)).fetchone()
            if row is None or (owner is not None and row["owner"] != owner):
                return None
            if row["status"] == JobStatus.PENDING:
                db.execute(
                    "UPDATE jobs SET status=?, finished=?, message=? WHERE job_id=?",
                    (str(JobStatus.CANCELLED), time.time(), "cancelled", job_id),
                )
            elif row["status"] == JobStatus.RUNNING:
                db.execute("UPDATE jobs SET cancel_requested=1 WHERE job_id=?", (job_id,))
        return self.get(job_id)

    # --- the workers' side -----------------------------------------------------------

    def claim(self) -> Claim | None:
        """Takes the oldest Pending job for a new attempt holding a fresh lease."""
        with self._lock:  # a read first: idle workers poll without taking the write lock
            waiting = self._db.execute(
                "SELECT 1 FROM jobs WHERE status=? LIMIT 1", (str(JobStatus.PENDING),)
            ).fetchone()
        if waiting is None:
            return None
        with self._transaction(durable=False) as db:
            row = db.execute(
                "SELECT job_id, request, deadline FROM jobs WHERE status=?"
                " ORDER BY created LIMIT 1",
                (str(JobStatus.PENDING),),
            ).fetchone()
            if row is None:
                return None
            attempt = uuid.uuid4().hex
            now = time.time()
            db.execute(
                "UPDATE jobs SET status=?, attempt=?, attempts=attempts+1, lease_expires=?,"
                " started=?, completed_steps=0, message='' WHERE job_id=?",
                (str(JobStatus.RUNNING), attempt, now + self.lease_seconds, now, row["job_id"]),
            )
        return Claim(str(row["job_id"]), attempt, json.loads(row["request"]), row["deadline"])

    def heartbeat(
        self, claim: Claim, completed_steps: int = 0, total_steps: int = 0, message: str = ""
    ) -> bool | None:
        """Renews the attempt's lease and records its progress. Returns whether a cancel
        was asked for, or None when the attempt no longer holds the job."""
        with self._transaction(durable=False) as db:
            row = _held(db, claim, "cancel_requested")
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET lease_expires=?, completed_steps=?, total_steps=?, message=?"
                " WHERE job_id=?",
                (
                    time.time() + self.lease_seconds,
                    completed_steps,
                    total_steps,
                    message,
                    claim.job_id,
                ),
            )
        return bool(row["cancel_requested"])

    def asked(self, claim: Claim) -> bool | None:
        """Whether a cancel was asked for (a read: no lease renewed), or None when the
        attempt no longer holds the job."""
        with self._lock:
            row = _held(self._db, claim, "cancel_requested")
        return None if row is None else bool(row["cancel_requested"])

    def finish(
        self,
        claim: Claim,
        status: JobStatus,
        *,
        result: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        message: str = "",
        data: bytes | None = None,
        total_steps: int | None = None,
        warnings: list[dict[str, str]] | None = None,
    ) -> bool:
        """Ends the attempt in a terminal state; False (and no change) when the attempt
        no longer holds the job. A completed job's steps are all done: ``total_steps``
        of them (its plan's count, which a short job never reported), else the last
        recorded total. ``warnings``: what the attempt raised (``warned.entries``)."""
        assert status.finished
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE jobs SET status=?, result=?, result_data=?, errors=?, warnings=?,"
                " message=?, finished=?, lease_expires=NULL, total_steps=COALESCE(?, total_steps),"
                " completed_steps=CASE WHEN ?=? THEN COALESCE(?, total_steps)"
                " ELSE completed_steps END WHERE job_id=? AND attempt=? AND status=?",
                (
                    str(status),
                    result,
                    data,
                    json.dumps(errors or []),
                    json.dumps(warnings or []),
                    message,
                    time.time(),
                    total_steps,
                    str(status),
                    str(JobStatus.COMPLETED),
                    total_steps,
                    claim.job_id,
                    claim.attempt,
                    str(JobStatus.RUNNING),
                ),
            ).rowcount
        return changed == 1

    def requeue_expired(self, now: float | None = None) -> list[str]:
        """Jobs whose attempt's lease ran out (its worker died): back to Pending, or
        Errored once ``MAX_ATTEMPTS`` attempts were lost. Returns their ids."""
        now = time.time() if now is None else now
        with self._transaction() as db:
            rows = db.execute(
                "SELECT job_id, attempts, cancel_requested FROM jobs"
                " WHERE status=? AND lease_expires < ?",
                (str(JobStatus.RUNNING), now),
            ).fetchall()
            for row in rows:
                if row["cancel_requested"]:
                    status, message, errors = JobStatus.CANCELLED, "cancelled", []
                elif row["attempts"] >= MAX_ATTEMPTS:
                    status = JobStatus.ERRORED
                    message = f"worker lost: {row['attempts']} attempts failed"
                    errors = [worker_lost(row["attempts"])]
                else:
                    db.execute(
                        "UPDATE jobs SET status=?, attempt=NULL, lease_expires=NULL, message=?"
                        " WHERE job_id=?",
                        (str(JobStatus.PENDING), REQUEUED, row["job_id"]),
                    )
                    continue
                db.execute(
                    "UPDATE jobs SET status=?, attempt=NULL, lease_expires=NULL, message=?,"
                    " errors=?, finished=? WHERE job_id=?",
                    (str(status), message, json.dumps(errors), now, row["job_id"]),
                )
        return [str(row["job_id"]) for row in rows]

    def expire(self, now: float | None = None) -> list[str]:
        """Jobs past their deadline: a Pending one Cancelled at once, a Running one asked
        to stop (its worker also watches the deadline). Returns the Pending ones' ids."""
        now = time.time() if now is None else now
        error = json.dumps([job_error("JobTimeoutError", "timed out: the job passed its deadline")])
        with self._transaction() as db:
            rows = db.execute(
                "SELECT job_id FROM jobs WHERE status=? AND deadline < ?",
                (str(JobStatus.PENDING), now),
            ).fetchall()
            db.execute(
                "UPDATE jobs SET status=?, finished=?, message=?, errors=?"
                " WHERE status=? AND deadline < ?",
                (
                    str(JobStatus.CANCELLED),
                    now,
                    "timed out: the job passed its deadline",
                    error,
                    str(JobStatus.PENDING),
                    now,
                ),
            )
            db.execute(
                "UPDATE jobs SET cancel_requested=1 WHERE status=? AND deadline < ?",
                (str(JobStatus.RUNNING), now),
            )
        return [str(row["job_id"]) for row in rows]

    def forget(self, before: float) -> list[str]:
        """Deletes the jobs that ended before ``before`` (``time.time()``); returns the
        names of their result files, for the caller to delete."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT result FROM jobs WHERE finished < ? AND result IS NOT NULL", (before,)
            ).fetchall()
            db.execute("DELETE FROM jobs WHERE finished < ?", (before,))
        return [str(row["result"]) for row in rows]

    def release(self, claim: Claim) -> bool:
        """Gives a Running job back to Pending without counting its attempt (shutdown)."""
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE jobs SET status=?, attempt=NULL, lease_expires=NULL, message=?,"
                " attempts=attempts-1 WHERE job_id=? AND attempt=? AND status=?",
                (
                    str(JobStatus.PENDING),
                    RELEASED,
                    claim.job_id,
                    claim.attempt,
                    str(JobStatus.RUNNING),
                ),
            ).rowcount
        return changed == 1

    def retry(self, claim: Claim, error: dict[str, Any]) -> bool:
        """Ends the attempt with a transient ``error`` (its cluster was lost): back to
        Pending while it has attempts left, else Errored with ``error``, as a lost worker's
        job. False (and no change) when the attempt no longer holds the job."""
        with self._transaction() as db:
            row = _held(db, claim, "attempts")
            if row is None:
                return False
            if row["attempts"] < MAX_ATTEMPTS:
                db.execute(
                    "UPDATE jobs SET status=?, attempt=NULL, lease_expires=NULL, message=?"
                    " WHERE job_id=?",
                    (str(JobStatus.PENDING), f"requeued: {error['message']}", claim.job_id),
                )
            else:
                db.execute(
                    "UPDATE jobs SET status=?, attempt=NULL, lease_expires=NULL, message=?,"
                    " errors=?, finished=? WHERE job_id=?",
                    (
                        str(JobStatus.ERRORED),
                        f"{error['message']} (each of its {row['attempts']} attempts)",
                        json.dumps([error]),
                        time.time(),
                        claim.job_id,
                    ),
                )
        return True


def _public(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "job_id": row["job_id"],
        "status": row["status"],
        "message": row["message"],
        "completed_steps": row["completed_steps"],
        "total_steps": row["total_steps"],
        "attempts": row["attempts"],
        "created": row["created"],
        "started": row["started"],
        "finished": row["finished"],
        "errors": json.loads(row["errors"]),
        "warnings": json.loads(row["warnings"]),
        "result": row["result"],
        "presentation": None if row["presentation"] is None else json.loads(row["presentation"]),
    }


def _held(db: sqlite3.Connection, claim: Claim, columns: str) -> sqlite3.Row | None:
    """The job's ``columns`` while the claim's attempt still runs it, else None."""
    row: sqlite3.Row | None = db.execute(
        f"SELECT {columns} FROM jobs WHERE job_id=? AND attempt=? AND status=?",
        (claim.job_id, claim.attempt, str(JobStatus.RUNNING)),
    ).fetchone()
    return row
