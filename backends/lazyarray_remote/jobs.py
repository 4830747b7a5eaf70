"""Jobs on a server: the same ``AsyncJob`` as locally, over the job routes
(``docs/server.md``). Status is polled with backoff; a finished job's errors come back
as the typed errors a local compute raises, naming the line that built the failing
node when this process submitted the graph."""

from __future__ import annotations

import base64
import builtins
import contextlib
import json
import re
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from lazyarray import errors
from lazyarray.client.connection import within
from lazyarray.errors import (
    ComputeError,
    JobCancelled,
    JobTimeoutError,
    LazyArrayError,
    RetryError,
    ServerError,
    TransientError,
)
from lazyarray.jobs import (
    AsyncJob,
    JobStatus,
    RunContext,
    local_jobs,
    presented,
    status_record,
    waiting_time,
)
from lazyarray_remote.results import read_npy, read_npz, scalar, values_of_npz

if TYPE_CHECKING:
    from lazyarray_remote.documents import Submission
    from lazyarray_remote.session import Session

LONG_POLL = 0.5  # seconds one status request may wait for the job's end (progress and
# Ctrl-C stay live); a server that does not wait answers at once, and is polled with
# backoff instead:
FIRST_POLL = 0.002  # seconds: a tiny job is done after a few milliseconds
LAST_POLL = 0.25
_POLL_GROWTH = 1.5
# how long past a deadline (a poll's wait, a compute's timeout) a request's answer may
# take before the client gives up on the server
ANSWER_SECONDS = 2.0
_LABEL = "node {} of the graph document"  # how the server names a node in messages
WARNINGS_HEADER = "X-Lazyarray-Warnings"  # what an inspect warned, as a JSON list
# seconds an inspect's answer may take past its timeout, when the server stops it (408)
INSPECT_ANSWER_SECONDS = 5.0
# ``ComputeError.wrapping``'s message: the op, the original error's type and text
_WRAPPED = re.compile(
    r"^(?P<op>\S+) failed: (?P<type>[A-Za-z_][\w.]*): (?P<text>.*) "
    r"\(in the expression built at [^()]*\)$",
    re.DOTALL,
)


class RemoteJob(AsyncJob):
    """A job on a server. ``submission`` (this process's document) maps the failing
    node of an error back to its creation site; a job reopened by id has none and its
    errors name the op and the node's position."""

    def __init__(
        self,
        session: Session,
        job_id: str,
        submission: Submission | None = None,
        retries: int = 0,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.job_id = job_id
        self.session = session
        self._submission = submission
        self._client = session.client(retries)
        # the last state the server sent: a finished one (from a submission that waited)
        # is not asked again, and its inline result is not downloaded again
        self._state: dict[str, Any] | None = state
        self._warned = False
        self._warned_error: ComputeError | None = None  # a warning the filters here raise
        local_jobs.register(self)

    # --- AsyncJob ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        state = self._poll()
        return status_record(
            self.job_id,
            JobStatus(state["status"]),
            self._named(state.get("message") or ""),
            int(state.get("completed_steps") or 0),
            int(state.get("total_steps") or 0),
        )

    def errors(self) -> list[str]:
        return [
            f"{entry['type']}: {message_of(entry, self._submission)}"
            for entry in self._error_entries()
        ]

    def result(self, timeout: float | None = None) -> Any:
        """Waits (polling with backoff) up to ``timeout`` seconds, then downloads the
        result: this process's values (a list, one per output) for a job it submitted;
        for a job reopened by id, the value (a tuple for several, the bytes for a json
        or arrow result)."""
        self.wait(waiting_time(timeout))
        return self._download()

    def cancel(self) -> bool:
        """Asks the server to stop the job; True unless it had already finished (a
        Running job stops at its next heartbeat)."""
        seen = self._state
        try:
            state = self._client.json("POST", f"/v1/jobs/{self.job_id}/cancel")
        except ServerError as error:
            raise self._not_found(error) from error
        self._state = state
        status = JobStatus(state["status"])
        if status is JobStatus.CANCELLED:
            return seen is None or not JobStatus(seen["status"]).finished
        return not status.finished

    # --- waiting -----------------------------------------------------------------------

    def wait(self, timeout: float | None = None, context: RunContext | None = None) -> None:
        """Waits for the job's end by long polls (``context`` sees its progress); raises
        its error, ``JobCancelled``, or ``JobTimeoutError`` after ``timeout`` seconds."""
        # a poll of a server that does not answer ends then too (a poll's answer may
        # come a little after the wait it asked for)
        with within(timeout, ANSWER_SECONDS):
            self._wait(timeout, context)

    def _wait(self, timeout: float | None, context: RunContext | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = FIRST_POLL
        state = self._state
        while True:
            if state is None or not JobStatus(state["status"]).finished:
                asked = (
                    LONG_POLL if deadline is None else min(LONG_POLL, deadline - time.monotonic())
                )
                start = time.monotonic()
                state = self._poll(max(0.0, asked))
            status = JobStatus(state["status"])
            if context is not None:
                _report(state, context)
            if status.finished:
                break
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise JobTimeoutError(f"job {self.job_id} did not finish within {timeout} seconds")
            if now - start < asked / 2:  # answered without waiting: back off
                time.sleep(delay if deadline is None else min(delay, deadline - now))
                delay = min(delay * _POLL_GROWTH, LAST_POLL)
        if not self._warned:  # what the run warned, warned here once, as locally
            self._warned = True
            try:
                rewarn(state.get("warnings"))
            except ComputeError as error:
                self._warned_error = error
        if self._warned_error is not None:  # raised each time, as a failed job's error
            raise self._warned_error
        if status is JobStatus.CANCELLED:
            if str(state.get("message", "")).startswith("timed out"):  # the server's deadline
                raise JobTimeoutError(
                    f"job {self.job_id} did not finish within its timeout (the server's "
                    "deadline), and was cancelled"
                )
            raise JobCancelled(f"job {self.job_id} was cancelled")
        if status is JobStatus.ERRORED:
            raise self._error()

    def follow(self, context: RunContext) -> list[Any]:
        """``compute``'s blocking path: waits with progress; an interrupt (Ctrl-C) or
        any other failure while waiting cancels the job on the server, then propagates."""
        try:
            self.wait(None, context)
            return self._download()  # type: ignore[no-any-return]
        except BaseException as exc:
            if not isinstance(exc, LazyArrayError) or isinstance(exc, RetryError):
                self._cancel_quietly()
            raise

    def _cancel_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.session.client(0).request("POST", f"/v1/jobs/{self.job_id}/cancel")

    def _poll(self, wait: float = 0.0) -> dict[str, Any]:
        """The job's state; with ``wait``, once it has finished or ``wait`` seconds have
        passed (the server's long poll)."""
        # a wait for the end also asks for a small result in the answer
        params = {"wait": f"{wait:.3f}", "inline": "true"} if wait > 0 else None
        try:
            state = self._client.json("GET", f"/v1/jobs/{self.job_id}", params=params)
        except ServerError as error:
            raise self._not_found(error) from error
        self._state = state
        return state  # type: ignore[no-any-return]

    def _not_found(self, error: ServerError) -> Exception:
        from lazyarray_remote.session import not_found

        return not_found(error, self.job_id) if error.status == 404 else error

    # --- the result --------------------------------------------------------------------

    def _download(self) -> Any:
        inline = (self._state or {}).get("inline_result")
        if inline is not None:  # a small result in the job's state
            values = self._values(
                _format_of(inline["media_type"]), [base64.b64decode(inline["base64"])]
            )
        else:
            path = f"/v1/jobs/{self.job_id}/result"
            fmt = self._submission.format if self._submission is not None else None
            try:
                response = self._client.request(
                    "GET", path, params={"format": fmt} if fmt else None, stream=True
                )
            except ServerError as error:  # deleted since (``--keep-results``)
                raise self._not_found(error) from error
            try:
                kind = fmt or _format_of(response.headers.get("content-type", ""))
                values = self._values(kind, response.iter_bytes())
            finally:
                response.close()
        if not isinstance(values, list):  # json or arrow bytes
            return values
        if self._submission is not None:
            return values
        presentation = (self._state or {}).get("presentation")
        if isinstance(presentation, Mapping):  # as the submitting compute's job gives it
            return presented(values, presentation)
        values = [scalar(value) for value in values]
        return values[0] if len(values) == 1 else tuple(values)

    @staticmethod
    def _values(kind: str, pieces: Iterable[bytes]) -> list[Any] | bytes:
        """The values of a result's bytes: one array (npy), the outputs (npz), or the
        bytes themselves (json or arrow, of a job another client submitted)."""
        if kind == "npy":
            return [read_npy(pieces)]  # poured as read: no re-chunking copy
        data = b"".join(pieces)
        return values_of_npz(read_npz(data)) if kind == "npz" else data

    # --- errors ------------------------------------------------------------------------

    def _error_entries(self) -> list[dict[str, Any]]:
        try:
            found = self._client.json("GET", f"/v1/jobs/{self.job_id}/errors")
        except ServerError as error:
            raise self._not_found(error) from error
        entries = found.get("errors") or []
        return [
            dict(entry)
            if isinstance(entry, Mapping)
            else {"type": "ComputeError", "message": entry}
            for entry in entries
        ]

    def _error(self) -> LazyArrayError:
        entries = self._error_entries()
        if not entries:
            message = self._state.get("message") if self._state else None
            return ComputeError(f"job {self.job_id} failed: {message or 'no error reported'}")
        return typed_error(entries[-1], self._submission)

    def _named(self, message: str) -> str:
        """A status message with document positions named as sites where known."""
        submission = self._submission
        if submission is None or "of the graph document" not in message:
            return message
        for index in range(len(submission.nodes) - 1, -1, -1):
            label = _LABEL.format(index)
            if label in message:
                message = message.replace(label, submission.nodes[index].site_text)
        return message


class InspectJob(AsyncJob):
    """``inspect``'s question, answered synchronously by the server (``/v1/inspect``):
    nothing runs until ``result`` asks, and nothing is left running after it."""

    def __init__(
        self,
        session: Session,
        submission: Submission,
        arguments: dict[str, Any],
        state: dict[str, Any] | None = None,
    ):
        from lazyarray.jobs import new_job_id

        self.job_id = new_job_id()
        self.session = session
        self._submission = submission
        self._arguments = arguments
        self._caller = state or {}  # the caller's errstate and options (caller_state)
        self._state = JobStatus.PENDING

    def status(self) -> dict[str, Any]:
        done = 1 if self._state is JobStatus.COMPLETED else 0
        return status_record(self.job_id, self._state, f"inspect: {self._state}", done, 1)

    def errors(self) -> list[str]:
        return []

    def cancel(self) -> bool:
        if self._state.finished:
            return False
        self._state = JobStatus.CANCELLED
        return True

    def result(self, timeout: float | None = None) -> Any:
        import httpx

        timeout = waiting_time(timeout)
        if self._state is JobStatus.CANCELLED:
            raise JobCancelled(f"job {self.job_id} was cancelled")
        submission = self._submission
        body = {
            "graph": submission.document,
            "arguments": self._arguments,
            "format": submission.format,
            **self._caller,
        }
        read = None
        if timeout is not None:  # the server stops the computation then, and answers 408
            body["timeout"] = timeout
            read = timeout + INSPECT_ANSWER_SECONDS
        self._state = JobStatus.RUNNING
        try:
            response = self.session.client(0).request(
                "POST", "/v1/inspect", json=body, timeout=httpx.Timeout(60.0, read=read)
            )
        except TransientError as error:
            if isinstance(error.__cause__, httpx.ReadTimeout):
                raise JobTimeoutError(
                    f"inspect did not finish within {timeout} seconds: the server did not "
                    f"answer within {read} seconds"
                ) from None
            raise
        except LazyArrayError as error:
            self._state = JobStatus.ERRORED
            entry = getattr(error, "body", None)
            if not isinstance(entry, Mapping) or "type" not in entry:
                raise
            typed = typed_error(entry, submission)
            raise typed from typed.__cause__  # the rebuilt original, not the HTTP error
        self._state = JobStatus.COMPLETED
        with contextlib.suppress(ValueError):  # what the run warned, warned here
            rewarn(json.loads(response.headers.get(WARNINGS_HEADER, "[]")))
        if submission.format == "npy":
            return [read_npy([response.content])]
        return values_of_npz(read_npz(response.content))


def typed_error(entry: Mapping[str, Any], submission: Submission | None) -> LazyArrayError:
    """The error a local compute would raise for the server's error ``entry`` (``type``,
    ``message``, ``op``, ``node``): the ``lazyarray.errors`` class it names, its failing
    node named by the creation site ``submission`` kept, else by its position."""
    name = str(entry.get("type") or "ComputeError")
    message = message_of(entry, submission)
    op = str(entry.get("op") or "")
    index = entry.get("node")
    site = submission.site(index) if submission is not None else None
    where = site or (_LABEL.format(index) if isinstance(index, int) else "")
    kind = getattr(errors, name, None)
    if not (isinstance(kind, type) and issubclass(kind, LazyArrayError)):
        return ComputeError(f"{name}: {message}", op=op, site=where)
    if issubclass(kind, ComputeError):
        error = kind(message, op=op, site=where)
        error.__cause__ = original_of(message)
        return error
    if issubclass(kind, TransientError):  # the server retried it already
        return RetryError(f"the job failed on the server: {name}: {message}", [kind(message)])
    try:
        return kind(message)
    except TypeError:  # a class that needs more than a message
        return ComputeError(f"{name}: {message}", op=op, site=where)


def rewarn(entries: Any) -> None:
    """Warns here what the server's run warned (its ``{"category", "message"}``
    entries), as the same run here would have: numpy's floating-point warnings, mostly.
    A category is a builtin warning or numpy's, by name; any other is a UserWarning.
    One this process's warning filters make an error is raised as the ``ComputeError``
    a run here would have failed with (caused by the warning)."""
    if not isinstance(entries, list):
        return
    for entry in entries:
        if isinstance(entry, Mapping):
            category = _warning_category(str(entry.get("category") or ""))
            message = str(entry.get("message") or "")
            try:
                warnings.warn(message, category, stacklevel=2)
            except Warning as raised:
                raise ComputeError(
                    f"the computation warned {category.__name__}: {message}, which this "
                    "process's warning filters make an error"
                ) from raised


def _warning_category(name: str) -> type[Warning]:
    for home in (builtins, np.exceptions):
        found = getattr(home, name, None)
        if isinstance(found, type) and issubclass(found, Warning):
            return found
    return UserWarning


def refused(error: LazyArrayError, submission: Submission) -> LazyArrayError:
    """A server's refusal of ``submission`` (a 4xx answer) as a local compute raises it:
    where its body names the failing node (``op``, ``node``, as a job's error entries
    do), typed by ``typed_error`` to name the line that built it; else the refusal."""
    entry = getattr(error, "body", None)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("node"), int):
        return error
    return typed_error(entry, submission)


def message_of(entry: Mapping[str, Any], submission: Submission | None) -> str:
    """The entry's message, its document node named by its creation site where known,
    else by the op and position when the message does not name them."""
    message = str(entry.get("message") or "")
    index = entry.get("node")
    site = submission.site(index) if submission is not None else None
    label = _LABEL.format(index)
    if site is not None:
        if label in message:
            return message.replace(label, site)
        return f"{message} (in the expression built at {site})"
    if isinstance(index, int) and label not in message:
        op = entry.get("op")
        named = f"op {op!r}, " if op else ""
        return f"{message} ({named}{label})"
    return message


def original_of(message: str) -> BaseException | None:
    """The error a server's ``ComputeError`` wrapped, rebuilt from its message where its
    type is a builtin or numpy exception (the ``original`` a local compute chains)."""
    found = _WRAPPED.match(message)
    if found is None:
        return None
    name = found.group("type").rpartition(".")[2]
    kind = getattr(builtins, name, None) or getattr(np.linalg, name, None)
    kind = kind or getattr(np.exceptions, name, None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        return None
    try:
        return kind(found.group("text"))
    except Exception:  # a class that needs more than a message
        return None


def _report(state: Mapping[str, Any], context: RunContext) -> None:
    total = int(state.get("total_steps") or 0)
    if total and total != context.total_steps:
        context.set_total(total)
    context.completed_steps = int(state.get("completed_steps") or 0)
    context.advance(0, str(state.get("message") or ""))


def _format_of(content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    return {
        "application/x-npy": "npy",
        "application/x-npz": "npz",
        "application/json": "json",
        "application/vnd.apache.arrow.stream": "arrow",
    }.get(kind, "npy")
