"""One server per store folder: a server holds an exclusive lock on ``server.lock`` in
its store for its whole life (``flock``, so the lock goes with its process, however it
ends: a SIGKILLed server's store opens again at once). Where ``fcntl`` is missing
(Windows), nothing is locked."""

from __future__ import annotations

import os
from pathlib import Path

from lazyarray.errors import ConfigError

LOCK_NAME = "server.lock"


class StoreInUse(ConfigError):
    """Another server uses the store folder."""


class StoreLock:
    """``acquire()`` takes the store's lock (again: nothing more) or raises
    ``StoreInUse``; ``release()`` lets it go."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            import fcntl
        except ImportError:  # no flock here
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by workers
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreInUse(
                f"another server uses the store {self.path.parent} (it holds {self.path}); "
                "stop it, or give this one another --store"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None
