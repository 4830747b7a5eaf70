"""Clients of dask.distributed schedulers named by address (``dask_scheduler``): one per
address, reused while it runs, connected within ``dask_connect_timeout`` seconds. Each is
a runner-scope asset (``SchedulerClient``, a ``dask_client``) that lives as long as the
process, or until ``close_clients()``; a ``dask_client`` asset configured by the user
(``lazyarray.assets``) is used instead, through ``compute``'s client.

An address that does not answer is a ``SchedulerUnreachable`` (a ``TransientError``: a
scheduler restarting or a network blip passes, so ``num_retries`` retries it). The port
is tried with plain sockets first, until the deadline: distributed's own failed
``Client`` lingers until garbage collected and then blocks a second closing itself."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from lazyarray.assets import DaskClient
from lazyarray.errors import ConfigError, SchedulerUnreachable

_clients: dict[str, SchedulerClient] = {}
_lock = threading.Lock()
_RETRY_PAUSE = 0.05  # seconds between two tries of a refused port


class SchedulerClient(DaskClient):
    """A ``dask_client`` whose scheduler is tried with plain sockets first (the module's
    docstring); params ``address`` and ``timeout`` (seconds)."""

    def init(self) -> None:
        self.obj = _connect(str(self.params["address"]), float(self.params["timeout"]))


def connect(address: str, timeout: float) -> Any:
    """The running client of the scheduler at ``address``, connecting if needed."""
    with _lock:
        asset = _clients.get(address)
        if asset is not None and asset.obj is not None and asset.obj.status == "running":
            return asset.obj
        asset = SchedulerClient(
            "dask_client", scope="runner", params={"address": address, "timeout": timeout}
        )
        asset.init()
        _clients[address] = asset
        return asset.obj


def close_clients() -> None:
    """Closes the clients ``connect`` made (their assets' ``deinit``)."""
    with _lock:
        assets = list(_clients.values())
        _clients.clear()
    for asset in reversed(assets):
        asset.deinit()


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
