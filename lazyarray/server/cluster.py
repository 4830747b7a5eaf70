"""The server's client of a dask.distributed scheduler (``serve --dask-scheduler``).

One ``distributed.Client`` serves the worker threads. distributed reconnects a client
whose scheduler went away, for the client's ``timeout`` seconds, then closes it for
good: here the client is made again, once the scheduler answers, so a scheduler back
after any outage runs jobs again. Every wait on the scheduler is bounded by
``timeout`` (``dask_connect_timeout``): connecting, distributed's reconnecting and its
calls to the scheduler all take the client's ``timeout``.

While the scheduler cannot be reached ``client()`` answers None (the threads claim no
job); an attempt that ran while the connection was lost (``lost_since``) ends as a
transient ``SchedulerUnreachable``, not as the job's error.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from lazyarray.errors import ConfigError, SchedulerUnreachable

RETRY_SECONDS = 0.5  # between two tries of an unreachable scheduler
PROBE_SECONDS = 1.0  # a try's plain connection, at most (a refused port answers at once)
log = logging.getLogger("lazyarray.server")


class Cluster:
    """The client of the scheduler at ``address``, made (again) on demand."""

    def __init__(self, address: str, timeout: float) -> None:
        self.address = address
        self.timeout = timeout
        self._lock = threading.Lock()
        self._client: Any = None
        self._next_try = 0.0
        self._down = False  # an outage was logged; its end is logged once

    @property
    def current(self) -> Any:
        """The client made last (None before the first), whatever its state."""
        return self._client

    @property
    def reachable(self) -> bool:
        """Whether the client is connected now (what ``/health`` may tell)."""
        client = self._client
        return client is not None and client.status == "running"

    def client(self) -> Any:
        """The running client, or None while the scheduler cannot be reached (distributed
        reconnecting, or no answer: a try at most every ``RETRY_SECONDS``)."""
        with self._lock:
            client = self._client
            if client is not None and client.status == "running":
                return client
            if client is not None and client.status in ("connecting", "newly-created"):
                self._outage("reconnecting")
                return None
            if time.monotonic() < self._next_try:
                return None
            if client is not None:  # closed by distributed: its reconnecting gave up
                self._client = None
                _close(client)
            try:
                self._client = connect(self.address, self.timeout, PROBE_SECONDS)
            except SchedulerUnreachable as error:
                self._next_try = time.monotonic() + RETRY_SECONDS
                self._outage(str(error))
                return None
            if self._down:
                log.warning("the dask scheduler at %s answers again", self.address)
                self._down = False
            return self._client

    def _outage(self, why: str) -> None:
        if not self._down:
            self._down = True
            log.warning(
                "cannot reach the dask scheduler at %s (%s): no job starts until it answers",
                self.address,
                why,
            )

    def mark(self) -> tuple[Any, Any]:
        """The connection an attempt starts on (``lost_since``)."""
        client = self._client
        return client, getattr(client, "scheduler_comm", None)

    def lost_since(self, mark: tuple[Any, Any]) -> bool:
        """Whether the connection of ``mark`` was lost since: the client closed, made
        again, reconnecting, or reconnected (its futures were cancelled then)."""
        client, comm = mark
        return (
            client is None
            or client is not self._client
            or client.status != "running"
            or getattr(client, "scheduler_comm", None) is not comm
        )

    def lost(self, cause: BaseException | str) -> SchedulerUnreachable:
        """The transient error of an attempt that lost the scheduler."""
        return SchedulerUnreachable(
            f"the connection to the dask scheduler at {self.address} was lost while the "
            f"job ran ({cause}); the job runs again once the scheduler answers"
        )

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            _close(client)


def _close(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.close(timeout=5)


def connect(address: str, timeout: float, probe: float | None = None) -> Any:
    """A client of the scheduler at ``address`` (``timeout``: its connecting, reconnecting
    and calls); ``SchedulerUnreachable`` when it does not answer. A ``tcp``/``tls`` port
    is tried with a plain connection first (within ``probe`` seconds, else ``timeout``):
    a failed ``distributed.Client`` lingers until garbage collected."""
    from distributed import Client

    host_port = _host_port(address)
    if host_port is not None:
        try:
            with socket.create_connection(host_port, timeout=probe or timeout):
                pass
        except OSError as exc:
            raise unreachable(address, timeout, exc) from None
    try:
        return Client(address, timeout=timeout, set_as_default=True)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise unreachable(address, timeout, exc) from None


def reach(address: str, timeout: float) -> None:
    """Returns once the scheduler at ``address`` accepts a connection, trying until
    ``timeout`` seconds passed; ``SchedulerUnreachable`` then."""
    host_port = _host_port(address)
    if host_port is None:
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(
                host_port, timeout=max(deadline - time.monotonic(), 0.01)
            ):
                return
        except OSError as exc:
            if time.monotonic() + RETRY_SECONDS / 10 >= deadline:
                raise unreachable(address, timeout, exc) from None
            time.sleep(RETRY_SECONDS / 10)


def _host_port(address: str) -> tuple[str, int] | None:
    """The host and port of a ``tcp``/``tls`` address (None for another scheme)."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    try:
        scheme, _ = parse_address(address)
        return get_address_host_port(address) if scheme in ("tcp", "tls") else None
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"--dask-scheduler {address!r} is not a scheduler address: {exc}"
        ) from None


def unreachable(address: str, timeout: float, cause: BaseException) -> SchedulerUnreachable:
    reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    return SchedulerUnreachable(
        f"cannot reach the dask scheduler at {address} within {timeout:g} s "
        f"(dask_connect_timeout, LAZYARRAY_DASK_CONNECT_TIMEOUT): {reason}"
    )
