"""Writing a path atomically: the bytes stream into a temporary file in the target's
folder, which is synced and renamed onto the target only once complete, so a reader
sees the old file or the new one, never a part. A failure removes the temporary and
leaves the target as it was; a killed writer's temporary is removed by the next write
into that folder.

Temporaries are named ``.{name}.lazyarray-{host}-{pid}-{random}.part``: the host and pid
tell whether their writer still runs (on this host), their age whether it stalled. A
temporary may be a folder (an artifact version being written, renamed into place
whole)."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Callable
from typing import IO, Any

from lazyarray.errors import FormatError

# a writer touches its temporary at every buffer flush: one untouched this long is dead
STALE_AFTER_S = 2 * 3600
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"
_TEMPORARY = re.compile(r"\..+\.lazyarray-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]+\.part")


def check_target(file: Any) -> None:
    """Refuses, before anything runs, a ``file=`` that cannot be written: not a path nor
    a binary file object, a missing or read-only folder, a folder as the target."""
    if hasattr(file, "write"):
        if isinstance(file, io.TextIOBase):
            raise FormatError("file= takes a path or a binary file object; this one is text")
        return
    try:
        path = os.fspath(file)
    except TypeError:
        raise FormatError(
            f"file= takes a path or a binary file object, not {type(file).__name__}"
        ) from None
    target = _target(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "No such folder", os.fsdecode(path))
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fsdecode(path))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "Folder not writable", os.fsdecode(path))


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Calls ``write`` with a binary file that becomes ``path`` once ``write`` returns.
    The file gets the mode ``open()`` would give it: an existing target's, else
    0o666 less the umask. OS errors name ``path``, never the temporary."""
    shown = os.fsdecode(os.fspath(path))
    target = _target(os.fspath(path))
    folder, name = os.path.split(target)
    remove_stale(folder)
    temporary = os.path.join(folder, temporary_name(name))
    try:
        descriptor = os.open(temporary, _CREATE, 0o666)
    except OSError as exc:
        raise _naming(exc, shown) from None
    try:
        with open(descriptor, "wb") as handle:
            _keep_mode(handle, target)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise _naming(exc, shown) from None
        raise
    sync_folder(folder)


def temporary_name(name: str) -> str:
    """A name for a temporary of ``name`` that ``remove_stale`` recognizes and that
    listings skip (a leading dot)."""
    return f".{name[:80]}.lazyarray-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.part"


def writer_gone(name: str, modified: float) -> bool:
    """Whether the writer of the temporary ``name`` (``temporary_name``'s naming) is
    gone: its process no longer exists on this host, or it was last touched
    ``STALE_AFTER_S`` ago. False for a name not of that naming."""
    found = _TEMPORARY.fullmatch(name)
    if found is None:
        return False
    return process_gone(found["host"], int(found["pid"])) or time.time() - modified > STALE_AFTER_S


def host_name() -> str:
    """This host, as temporaries' names and writer records give it."""
    return _HOST


def process_gone(host: str, pid: int) -> bool:
    """Whether process ``pid`` of ``host`` is known to have ended: only a process of
    this host can be known so."""
    return host == _HOST and not _alive(pid)


def remove_stale(folder: str) -> None:
    """Removes temporaries of our naming in ``folder`` whose writer is gone: its process
    no longer exists on this host, or the file was not touched for ``STALE_AFTER_S``.
    A temporary folder is removed with what it holds."""
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if _TEMPORARY.fullmatch(entry.name) is None:
                continue
            with contextlib.suppress(OSError):
                if writer_gone(entry.name, entry.stat(follow_symlinks=False).st_mtime):
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)


_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def _target(path: str | bytes) -> str:
    """The file ``open(path, "w")`` would write: a symlink's destination."""
    text = os.path.abspath(os.fsdecode(path))
    return os.path.realpath(text) if os.path.islink(text) else text


def _keep_mode(handle: IO[bytes], target: str) -> None:
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return
    if stat.S_ISREG(mode) and hasattr(os, "fchmod"):
        os.fchmod(handle.fileno(), stat.S_IMODE(mode))


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) terminates the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user
        return True
    return True


def _naming(exc: OSError, path: str) -> OSError:
    """The same error (subclass and errno) about ``path``, with the original traceback."""
    if exc.errno is None:
        named = OSError(f"cannot write {path}: {exc}")
    else:
        named = OSError(exc.errno, exc.strerror or str(exc), path)
    return named.with_traceback(exc.__traceback__)


def sync_folder(folder: str) -> None:
    """Makes the rename durable (POSIX); best effort."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
