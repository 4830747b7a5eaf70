"""An inspect's computation, from the thread running its route: waited for in steps, so
that it is cancelled at its timeout or once its client has gone (its kernel blocks check
between blocks; a numpy call in progress ends first)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from starlette.requests import Request

from lazyarray.errors import JobCancelled, JobTimeoutError

# how often a running inspect looks whether its client has gone
INSPECT_POLL_SECONDS = 0.1


def inspected(job: Any, seconds: float, connection: Request) -> Any:
    """The result of an inspect's ``job`` (from the thread running its route); the job
    is cancelled (``JobTimeoutError``) after ``seconds``, or (``JobCancelled``) once the
    client has gone: its kernel blocks check between blocks, a numpy call in progress
    ends first. Anything else raised cancels it too."""
    end = time.monotonic() + seconds
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise JobTimeoutError(f"inspect did not finish within {seconds} seconds")
            with contextlib.suppress(JobTimeoutError):  # not yet: the job has no deadline
                return job.result(timeout=min(INSPECT_POLL_SECONDS, left))
            if _gone(connection):
                raise JobCancelled("the client went away before the inspect's result")
    except BaseException:
        job.cancel()
        raise


def _gone(connection: Request) -> bool:
    """Whether the client of a request has disconnected (asked from a thread of the
    app's thread pool; elsewhere, never)."""
    import anyio.from_thread

    try:
        return bool(anyio.from_thread.run(connection.is_disconnected))
    except RuntimeError:  # not a thread anyio started
        return False
