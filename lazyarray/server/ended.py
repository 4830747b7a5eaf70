"""Which long polls wake when jobs end: each waits on its own job's event, set from
whichever thread learns of the end (a worker's report, a cancel, the supervisor)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection


class Ended:
    """Wakes the long polls of jobs that may have ended. ``notify(job_ids)`` (from any
    thread) sets those jobs' events, or with None every event, each replaced by a fresh
    one; a long poll waits on its own job's event (``current``), so a job's end wakes
    its own waiters, not every waiting request."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events: dict[str, asyncio.Event] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.events = {}

    def current(self, job_id: str) -> asyncio.Event:
        """The event to wait on for ``job_id`` (in a loop other than the app's, one
        never set)."""
        if self.loop is not asyncio.get_running_loop():
            return asyncio.Event()
        found = self.events.get(job_id)
        if found is None:
            found = self.events[job_id] = asyncio.Event()
        return found

    def notify(self, job_ids: Collection[str] | None = None) -> None:
        if self.loop is None:
            return
        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:  # another thread
            here = False
        if here:  # the loop read the ends itself
            self._set(job_ids)
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed
            self.loop.call_soon_threadsafe(self._set, job_ids)

    def _set(self, job_ids: Collection[str] | None) -> None:
        if job_ids is None:
            ended, self.events = list(self.events.values()), {}
        else:
            ended = [self.events.pop(i) for i in job_ids if i in self.events]
        for event in ended:
            event.set()
