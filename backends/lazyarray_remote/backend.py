"""The remote backend: a plan's graph goes to a lazyarray server as a graph document
(JSON, never a pickle) and runs there as a job; the server plans it itself.

The server is ``compute(server=URL)`` or ``compute(client=URL or Session)``, else the
``server`` option (``LAZYARRAY_SERVER``), else ``http://127.0.0.1:8700``; the token is
``LAZYARRAY_TOKEN``, the file ``LAZYARRAY_TOKEN_FILE`` names, or the one a local
``lazyarray serve`` wrote (``lazyarray.client.find_token``)."""

from __future__ import annotations

import atexit
import contextlib
import threading
import uuid
import weakref
from collections.abc import Mapping
from typing import Any

from lazyarray.backend import Backend, Capability, check_outputs_fit
from lazyarray.client import find_token, server_url
from lazyarray.client.connection import within
from lazyarray.errors import ComputeArgumentError, LazyArrayError, RetryError
from lazyarray.jobs import AsyncJob, RunContext
from lazyarray.planner import Plan
from lazyarray_remote.documents import caller_state, encode_arguments, submission
from lazyarray_remote.jobs import ANSWER_SECONDS, LONG_POLL, InspectJob, RemoteJob, refused
from lazyarray_remote.session import Session


class RemoteBackend(Backend):
    name = "remote"
    # what the server's backend runs; custom Python functions only on a --trusted
    # server, which a client cannot know: refused here, before anything is sent
    capabilities = frozenset({Capability.MASKED, Capability.UNKNOWN_SHAPES})
    install_hint = "pip install 'lazyarray[server]'"
    plans = False  # the server plans: it is sent the graph as written
    remote = True

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str | None], Session] = {}
        self._lock = threading.Lock()
        # the sessions' connections are closed when the process ends, not left to the
        # collector (which warns of each open socket)
        atexit.register(_close_weakly, weakref.ref(self))

    def session(self, client: Any = None) -> Session:
        """The session of ``client`` (a ``Session``, a server URL, or None for the
        configured server); one per URL and token, so each blob is uploaded once."""
        if isinstance(client, Session):
            return client
        if client is not None and not isinstance(client, str):
            raise ComputeArgumentError(
                "backend 'remote' takes client= as a server's URL or a "
                f"lazyarray_remote.Session, not {type(client).__name__}"
            )
        url = server_url(client)
        key = (url, find_token(url=url))
        with self._lock:
            found = self._sessions.get(key)
            if found is None:
                found = self._sessions[key] = Session(key[0], key[1])
            return found

    def close(self) -> None:
        """Closes the connections of every session this backend opened."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close()

    def place(self, client: Any) -> str:
        return self.session(client).url

    def job_source(self, url: str) -> Session:
        """What ``AsyncJob.from_id(job_id, client=url)`` asks for the job."""
        return self.session(url)

    def execute(self, plan: Plan, arguments: Mapping[str, Any], context: RunContext) -> list[Any]:
        # the submission waits for the job's end, a small result in its answer: a tiny
        # job is one request
        job = self.submit(plan, arguments, context, wait=LONG_POLL)
        if isinstance(job, InspectJob):
            return job.result(None)  # type: ignore[no-any-return]
        assert isinstance(job, RemoteJob)
        return job.follow(context)

    def submit(
        self,
        plan: Plan,
        arguments: Mapping[str, Any],
        context: RunContext | None = None,
        *,
        wait: float = 0.0,
    ) -> AsyncJob:
        """Writes the document (uploading what the server lacks), then records the job
        with a fresh ``submission_id``: a retried request cannot make a second job.
        With ``wait``, the server answers at the job's end or after ``wait`` seconds.
        A ``timeout`` bounds the submission too: a server that does not answer within it
        (and ``ANSWER_SECONDS``) is a ``JobTimeoutError``, however many retries were
        allowed."""
        context = context or RunContext(len(plan))
        with within(context.timeout, ANSWER_SECONDS):
            return self._submit(plan, arguments, context, wait)

    def _submit(
        self, plan: Plan, arguments: Mapping[str, Any], context: RunContext, wait: float
    ) -> AsyncJob:
        self.check(plan)
        check_outputs_fit(plan, context.options)  # results come back here, whole
        session = self.session(context.client)
        retries = context.retries
        made = submission(plan, session, retries)
        encoded = encode_arguments(arguments, made.parameters, session, retries)
        state = caller_state(context)
        if context.quick:
            return InspectJob(session, made, encoded, state)
        body = {
            "graph": made.document,
            "arguments": encoded,
            "format": made.format,
            "submission_id": uuid.uuid4().hex,
            **state,
        }
        if context.timeout is not None:  # the server cancels it then, client or not
            body["timeout"] = context.timeout
        if context.presentation is not None:  # what a job reopened elsewhere gives
            body["presentation"] = dict(context.presentation)
        client = session.client(retries)
        params = {"wait": f"{wait:.3f}", "inline": "true"} if wait > 0 else None
        try:
            created = client.json("POST", "/v1/jobs", json=body, params=params)
        except LazyArrayError as exc:
            if isinstance(exc, RetryError) and wait > 0:
                _cancel_submitted(session, body)
            typed = refused(exc, made)
            if typed is exc:
                raise
            raise typed from typed.__cause__  # names the user's line, not the HTTP error
        except BaseException:
            if wait > 0:
                _cancel_submitted(session, body)  # Ctrl-C while the submission waited
            raise
        return RemoteJob(session, str(created["job_id"]), made, retries, created.get("state"))


def _close_weakly(backend: weakref.ref[RemoteBackend]) -> None:
    found = backend()
    if found is not None:
        found.close()


def _cancel_submitted(session: Session, body: Mapping[str, Any]) -> None:
    """Cancels the job ``body`` made, if the server recorded it: submitting the same
    ``submission_id`` again (without waiting) answers with its id, and makes no other."""
    with contextlib.suppress(Exception):
        client = session.client(0)
        job_id = client.json("POST", "/v1/jobs", json=body)["job_id"]
        client.request("POST", f"/v1/jobs/{job_id}/cancel")
