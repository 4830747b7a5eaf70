"""``lazyarray serve``: the tokens a server accepts, then uvicorn over ``create_app``.

Secure by default: the server binds 127.0.0.1 unless told otherwise, and refuses to
listen on any other address without an explicit token (``LAZYARRAY_TOKEN`` or
``--token-file``). On a loopback start without one it makes a token, keeps it in the
store (reused by the next start on that store) and writes it to the user's config
folder, where local clients find it; the page link it prints carries it once.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import logging
import math
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lazyarray.client.connection import is_loopback
from lazyarray.errors import ConfigError, SchedulerUnreachable
from lazyarray.server.auth import DEFAULT_OWNER, read_token_file
from lazyarray.server.lock import StoreLock

TOKEN_ENV = "LAZYARRAY_TOKEN"
TOKEN_NAME = "token"  # in the store, and in platformdirs.user_config_path("lazyarray")
log = logging.getLogger("lazyarray.server")


def config_token_path() -> Path:
    """Where local clients find the token of a server started without one."""
    import platformdirs

    return Path(platformdirs.user_config_path("lazyarray")) / TOKEN_NAME


def write_secret(path: Path, text: str) -> None:
    """``text`` in ``path``, readable by its owner only (mode 0600 from its creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w") as file:
        file.write(text + "\n")
    os.replace(temporary, path)


@dataclass(frozen=True)
class Tokens:
    table: dict[str, str]  # {token: owner}
    made: str | None  # the token made (or kept from an earlier start) for a loopback start


def tokens_for(host: str, token_file: str | None, store: Path) -> Tokens:
    """The tokens the server accepts: ``LAZYARRAY_TOKEN`` (the default owner's) and the
    token file's; with neither, on loopback only, the store's own token (made once)."""
    table: dict[str, str] = {}
    if token_file is not None:
        table.update(read_token_file(token_file))
    given = os.environ.get(TOKEN_ENV, "").strip()
    if given:
        if table.get(given, DEFAULT_OWNER) != DEFAULT_OWNER:
            raise ConfigError(
                f"{TOKEN_ENV} (the {DEFAULT_OWNER!r} owner's token) is also the token of "
                f"{table[given]!r} in {token_file}; give each owner its own token"
            )
        table[given] = DEFAULT_OWNER
    if table:
        return Tokens(table, None)
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without a token: set {TOKEN_ENV} or pass "
            "--token-file (only a loopback address may start without one)"
        )
    kept = store / TOKEN_NAME
    made = kept.read_text().strip() if kept.exists() else ""
    if not made:
        made = secrets.token_urlsafe(32)
        write_secret(kept, made)
    return Tokens({made: DEFAULT_OWNER}, made)


def share_token(token: str, url: str) -> None:
    """Leaves a loopback server's token where local clients find it: under its own host
    and port (``lazyarray.client.server_token_path``: two local servers keep their own),
    and as the last one started (a client asking another URL on this machine)."""
    from lazyarray.client.connection import server_token_path

    own = server_token_path(url)
    if own is not None:
        write_secret(own, token)
    write_secret(config_token_path(), token)


def listening(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, before anything is announced or written: a port
    in use (another server) is a one-line error that leaves no token behind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {error.strerror or error} (is another server "
            "there? --port chooses another)"
        ) from None
    return sock


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lazyarray serve``, each with its default in its help, and each
    bad value refused by argparse in words that say what is expected."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=8700,
        help="the port to listen on (default: %(default)s; 0: any free port)",
    )
    parser.add_argument(
        "--store",
        metavar="DIR",
        help="jobs, workflows, blobs, results (default: a per-user data folder)",
    )
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="worker processes (with --dask-scheduler: jobs handed to the cluster at once; "
        "default: %(default)s)",
    )
    parser.add_argument(
        "--dask-scheduler", metavar="ADDRESS", help="run jobs on this dask.distributed cluster"
    )
    parser.add_argument(
        "--token-file", metavar="FILE", help="'owner token' lines: who may use the server"
    )
    parser.add_argument(
        "--trusted",
        action="store_true",
        help="accept custom functions and pickled literals (they run code): trusted users only",
    )
    parser.add_argument(
        "--grace",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long running jobs may finish before they are requeued "
        "(default: %(default)g)",
    )
    parser.add_argument(
        "--lease",
        type=positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how long a job stays claimed by a worker that stopped answering "
        "(default: %(default)g)",
    )
    parser.add_argument(
        "--assets", metavar="FILE", help="a YAML file of the assets jobs run with (docs/assets.md)"
    )
    parser.add_argument(
        "--keep-results",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="delete an ended job, its result with it, this long after it ended "
        "(default: keep every job)",
    )


def worker_count(text: str) -> int:
    """``--workers``: at least one, and at most 8 a core (32 at least): each worker is a
    process with its numpy and its memory, and a thousand of them bring a machine down."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count of workers (1 or more)")
    cores = os.cpu_count() or 1
    most = max(32, 8 * cores)
    if value > most:
        raise argparse.ArgumentTypeError(
            f"{value} worker processes on {cores} cores: at most {most} (8 a core)"
        )
    return value


def port_number(text: str) -> int:
    """``--port``: a port from 0 (any free one) to 65535 (argparse's type)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: a number from 0 to 65535")
    return value


def seconds(text: str) -> float:
    """A number of seconds >= 0 (argparse's type)."""
    return _seconds(text, 0.0 <= _number(text) < math.inf, "a number of seconds >= 0")


def positive_seconds(text: str) -> float:
    """A number of seconds > 0 (argparse's type)."""
    return _seconds(text, 0.0 < _number(text) < math.inf, "a number of seconds > 0")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _seconds(text: str, valid: bool, what: str) -> float:
    if not valid:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return float(text)


def _log_to_stderr(logger: logging.Logger) -> None:
    """The server's own messages (lazyarray's loggers, not the process's others), from
    INFO up, to stderr."""
    logger.setLevel(logging.INFO)
    if not any(isinstance(handler, _Stderr) for handler in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("lazyarray serve: %(message)s"))
        logger.addHandler(handler)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record comes, not as it was when the
    server started (a server run in a process that later replaces it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _Redacted(logging.Filter):
    """Keeps tokens out of the access log (the page's link carries one)."""

    _TOKEN = re.compile(r"(token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1***", value) if isinstance(value, str) else value
                for value in record.args
            )
        return True


def serve(
    *,
    host: str,
    port: int,
    store: str | Path,
    workers: int,
    dask_scheduler: str | None,
    token_file: str | None,
    trusted: bool,
    grace: float,
    lease: float = 10.0,
    assets: Path | None = None,
    keep_results: float | None = None,
) -> int:
    """Runs the server until SIGINT or SIGTERM: it stops accepting, gives running jobs
    ``grace`` seconds, then puts the rest back to Pending (no attempt counted). Jobs run
    with the ``assets`` the YAML file names (read and checked before anything starts).

    Whatever can refuse a start is asked before anything is written: the port (bound
    first), the store's lock (``StoreInUse``: another server uses it), the dask
    scheduler (reached within ``dask_connect_timeout``). A start that fails removes the
    store folder it made; the token is shared with clients only once the server serves."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: a port is a number from 0 to 65535")
    root = Path(store).expanduser().resolve()
    made = not root.exists()
    lock = StoreLock(root)
    served = threading.Event()  # set once the server serves: its store is kept then
    locked_before = lock.path.exists()
    if not made:
        lock.acquire()  # a store in use is said first, whatever else is wrong
    try:
        with contextlib.closing(listening(host, port)) as sock:
            if dask_scheduler is not None:
                _reach(dask_scheduler)
            root.mkdir(parents=True, exist_ok=True)
            lock.acquire()
            return _serve(
                sock,
                host,
                root,
                workers,
                dask_scheduler,
                token_file,
                trusted,
                grace,
                lease,
                assets,
                keep_results,
                lock,
                served,
            )
    except BaseException:
        if not served.is_set():  # what this start made, and only that
            lock.release()
            if made:
                shutil.rmtree(root, ignore_errors=True)
            elif not locked_before:
                lock.path.unlink(missing_ok=True)
        raise
    finally:
        lock.release()


def _reach(address: str) -> None:
    """Refuses to start when the scheduler at ``address`` does not answer within
    ``dask_connect_timeout`` seconds."""
    from lazyarray.config import options
    from lazyarray.server.cluster import reach

    try:
        reach(address, options.dask_connect_timeout)
    except SchedulerUnreachable as error:
        raise ConfigError(f"{error}; is it running? (--dask-scheduler)") from None


def _serve(
    sock: socket.socket,
    host: str,
    root: Path,
    workers: int,
    dask_scheduler: str | None,
    token_file: str | None,
    trusted: bool,
    grace: float,
    lease: float,
    assets: Path | None,
    keep_results: float | None,
    lock: StoreLock,
    served: threading.Event,
) -> int:
    import uvicorn

    from lazyarray.server.app import create_app

    tokens = tokens_for(host, token_file, root)
    if hasattr(signal, "SIGUSR1") and sys.__stderr__ is not None:
        # `kill -USR1 <pid>`: every thread's stack, to stderr
        with contextlib.suppress(AttributeError, ValueError, OSError):
            faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    _log_to_stderr(logging.getLogger("lazyarray"))
    if trusted:
        log.warning(
            "--trusted: custom functions and pickled literals in submitted graphs are "
            "unpickled and run; accept requests only from people you trust"
        )
    app = create_app(
        root,
        tokens.table,
        trusted=trusted,
        workers=workers,
        dask_scheduler=dask_scheduler,
        grace=grace,
        lease_seconds=lease,
        assets=assets,
        keep_results=keep_results,
        store_lock=lock,
    )
    logging.getLogger("uvicorn.access").addFilter(_Redacted())
    port = sock.getsockname()[1]  # the port chosen, for --port 0
    shown = f"[{host}]" if ":" in host else host
    link = f"http://{shown}:{port}/"

    def started() -> None:
        served.set()
        shown_link = link
        if tokens.made is not None:
            share_token(tokens.made, link)
            shown_link += f"?token={tokens.made}"
        print(f"lazyarray serve: store {root}; open {shown_link}", flush=True)

    server = _server(uvicorn.Config(app, host=host, port=port, log_level="info"), app, started)
    server.run(sockets=[sock])
    return 0


def _server(config: Any, app: Any, started: Callable[[], None]) -> Any:
    """uvicorn's server, marking the app as stopping as soon as a signal comes, so that
    requests still being read are answered 503 rather than started; ``started`` is
    called once it serves (its workers started), before it answers a request."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)  # a failed start exits here
            if self.started:
                started()

        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.stopping = True
            super().handle_exit(sig, frame)

    return Server(config)
