"""Clients of dask.distributed schedulers named by address (``dask_scheduler``): one per
address, reused while it runs, connected within ``dask_connect_timeout`` seconds.

An address that does not answer is a ``SchedulerUnreachable`` (a ``TransientError``: a
scheduler restarting or a network blip passes, so ``num_retries`` retries it). The port
is tried with plain sockets first, until the deadline: distributed's own failed
``Client`` lingers until garbage collected and then blocks a second closing itself."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from lazyarray.errors import ConfigError, SchedulerUnreachable

_clients: dict[str, Any] = {}
_lock = threading.Lock()
_RETRY_PAUSE = 0.05  # seconds between two tries of a refused port


def connect(address: str, timeout: float) -> Any:
    """The running client of the scheduler at ``address``, connecting if needed."""
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        client = _connect(address, timeout)
        _clients[address] = client
        return client


def _connect(address: str, timeout: float) -> Any:
    from distributed import Client
    from distributed.comm.addressing import get_address_host_port, parse_address
    from distributed.comm.registry import get_backend

    deadline = time.monotonic() + timeout
    try:
        scheme, _ = parse_address(address)
        get_backend(scheme)  # an unknown scheme
        host_port = get_address_host_port(address) if scheme in ("tcp", "tls") else None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"dask_scheduler={address!r} is not a scheduler address: {exc}") from exc
    if host_port is not None:
        _reach(address, host_port, deadline, timeout)
    try:
        return Client(address, set_as_default=False, timeout=max(deadline - time.monotonic(), 0.01))
    except (OSError, TimeoutError) as exc:
        raise _unreachable(address, timeout, exc) from exc
    except ValueError as exc:
        raise ConfigError(f"dask_scheduler={address!r} is not a scheduler address: {exc}") from exc


def _reach(address: str, host_port: tuple[str, int], deadline: float, timeout: float) -> None:
    """Returns once the port accepts a connection; raises at the deadline."""
    while True:
        left = deadline - time.monotonic()
        try:
            with socket.create_connection(host_port, timeout=max(left, 0.01)):
                return
        except OSError as exc:
            if time.monotonic() + _RETRY_PAUSE >= deadline:
                raise _unreachable(address, timeout, exc) from exc
            time.sleep(_RETRY_PAUSE)


def _unreachable(address: str, timeout: float, cause: BaseException) -> SchedulerUnreachable:
    return SchedulerUnreachable(
        f"cannot reach the dask scheduler at {address} within {timeout:g} s "
        f"(dask_connect_timeout): {cause}; check the address (lazyarray.config "
        "dask_scheduler, LAZYARRAY_DASK_SCHEDULER), or compute without it on the local "
        "threaded scheduler"
    )
