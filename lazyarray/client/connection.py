"""One HTTP connection to a lazyarray server (``docs/server.md``): where it is, the token
it sends, the failures it retries, and the typed errors its answers become.

The remote backend and the http registry both talk through it, so a token, a retry or
an error reads the same wherever a server is used.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import ipaddress
import os
import random
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lazyarray import errors
from lazyarray.config import options
from lazyarray.errors import (
    JobTimeoutError,
    LazyArrayError,
    RetryError,
    ServerBusy,
    ServerError,
    ServerUnreachable,
    TransientError,
    Unauthorized,
)
from lazyarray.version import __version__

if TYPE_CHECKING:
    import httpx

DEFAULT_SERVER = "http://127.0.0.1:8700"
# answers that say "later" rather than "no": retried, as connection failures are
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
_KEPT_URLS = 256  # the URLs a client parsed last, by path and query
# (time.monotonic() by which every request made in this context must be answered,
# the seconds it was given): a compute's timeout bounds its requests and their retries
_DEADLINE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "lazyarray_request_deadline", default=None
)


@contextlib.contextmanager
def within(seconds: float | None, grace: float = 0.0) -> Iterator[None]:
    """Every request the block makes (retries and their waits included) is answered
    within ``seconds`` (and ``grace``, for an answer in flight) of now, or raises
    ``JobTimeoutError``; an earlier deadline in force stays. None: no deadline."""
    if seconds is None:
        yield
        return
    end = time.monotonic() + seconds + grace
    outer = _DEADLINE.get()
    token = _DEADLINE.set(outer if outer is not None and outer[0] <= end else (end, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def token_path() -> Path | None:
    """Where ``lazyarray serve`` leaves the token of a loopback start without one, for
    local clients to find; None without platformdirs."""
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - part of the server and test extras
        return None
    return Path(platformdirs.user_config_path("lazyarray", appauthor=False)) / "token"


def server_token_path(url: str) -> Path | None:
    """Where ``lazyarray serve`` leaves the token of a loopback start without one for
    the server at ``url`` (by host and port: two local servers keep their own); None
    without platformdirs."""
    from urllib.parse import urlsplit

    base = token_path()
    if base is None:
        return None
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return base.with_name("tokens") / f"{parts.hostname}_{port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def find_token(environ: Mapping[str, str] | None = None, url: str | None = None) -> str | None:
    """``LAZYARRAY_TOKEN``, else the file ``LAZYARRAY_TOKEN_FILE`` names (the token
    alone, on its first line; ``#`` lines are comments), else the token a local server
    at ``url`` wrote (``server_token_path``), else, for a loopback ``url``, the last one
    a local server wrote (``token_path()``): a local server's token never goes to
    another host. None when there is none."""
    environ = os.environ if environ is None else environ
    if environ.get("LAZYARRAY_TOKEN"):
        return environ["LAZYARRAY_TOKEN"].strip()
    named = environ.get("LAZYARRAY_TOKEN_FILE")
    local = url is None or is_loopback(urllib.parse.urlsplit(url).hostname or "")
    path = Path(named).expanduser() if named else (token_path() if local else None)
    if not named and url is not None:
        own = server_token_path(url)
        if own is not None and own.exists():
            path = own
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:  # a file the user named must exist
            raise Unauthorized(
                f"LAZYARRAY_TOKEN_FILE names {named!r}, which does not exist"
            ) from None
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("#")]
    if lines and len(lines[0].split()) > 1:  # a server's token file: "owner token" lines
        raise Unauthorized(
            f"{named or path!r} holds 'owner token' lines (a server's --token-file); the "
            "file a client reads holds the token alone"
        )
    if named and not lines:
        raise Unauthorized(f"LAZYARRAY_TOKEN_FILE names {named!r}, which holds no token")
    return lines[0] if lines else None


def server_url(server: str | None = None) -> str:
    """``server``, else the ``server`` option (``LAZYARRAY_SERVER``), else loopback."""
    if server is None:
        return options.server or DEFAULT_SERVER
    from lazyarray.config import Options

    checked: str = Options(server=server).server  # type: ignore[assignment]
    return checked


@dataclasses.dataclass(frozen=True)
class Retries:
    """Up to ``attempts`` retries of a transient failure, waiting a random time up to
    ``base * 2**n`` (capped; "full jitter", so clients that failed together do not come
    back together), or what a 429/503's ``Retry-After`` asks when it asks for longer."""

    attempts: int = 3
    base: float = 0.05
    cap: float = 5.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        wait = random.uniform(0, min(self.cap, self.base * 2**retry))
        return max(wait, min(retry_after, self.cap * 6)) if retry_after else wait


def error_from(response: httpx.Response) -> LazyArrayError:
    """The typed error an error answer stands for: the ``lazyarray.errors`` class its body
    names (``{"error": {"type", "message"}}``; the error dict, with any further fields such
    as a job error's ``op`` and ``node``, is kept as its ``body``), else one chosen by
    status."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    found = body.get("error") if isinstance(body, dict) else None
    found = found if isinstance(found, dict) else {}
    detail = body.get("detail") if isinstance(body, dict) else None
    message = str(found.get("message") or detail or response.text[:500] or response.reason_phrase)
    message = f"{message} (HTTP {response.status_code} from {response.request.url.path})"
    if response.status_code in TRANSIENT_STATUSES:  # "later", whatever type it names
        return ServerBusy(message, _retry_after(response))
    kind = getattr(errors, str(found.get("type", "")), None)
    if isinstance(kind, type) and issubclass(kind, LazyArrayError):
        try:
            typed = kind(message)
        except TypeError:  # a class that needs more than a message
            pass
        else:
            typed.body = found  # type: ignore[attr-defined] # the body's fields (op, node)
            return typed
    if response.status_code in (401, 403):
        return Unauthorized(message)
    return ServerError(message, response.status_code)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:  # absent, or an HTTP date: use the backoff
        return None


class Client:
    """A server's URL and token, and an ``httpx.Client`` that retries what is transient.

    >>> client = Client("http://127.0.0.1:8700", token="t")  # doctest: +SKIP
    >>> client.json("GET", "/v1/jobs/job_1")  # doctest: +SKIP
    """

    def __init__(
        self,
        server: str | None = None,
        token: str | None = None,
        *,
        retries: Retries | int | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry_error: bool = False,
    ) -> None:
        """``retry_error``: once retries are spent, raise ``RetryError`` holding every
        attempt's failure (not itself transient, so a caller that retries transient
        errors does not retry them again) instead of the last failure."""
        try:
            import httpx
        except ImportError:
            raise ImportError(
                "talking to a lazyarray server needs httpx: pip install 'lazyarray[server]'"
            ) from None
        self.url = server_url(server)
        token = token if token is not None else find_token(url=self.url)
        self.retries = (
            retries if isinstance(retries, Retries) else Retries(3 if retries is None else retries)
        )
        self._sleep = sleep
        self._retry_error = retry_error
        headers = {"User-Agent": f"lazyarray/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.has_token = bool(token)
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        # absolute URLs, parsed once per path and query (httpx parses and joins a path
        # with the base URL at every request: a seventh of a small request's time)
        self._base = str(self._http.base_url).rstrip("/")  # a path prefix kept
        self._urls: dict[tuple[str, Any], httpx.URL] = {}

    def request(
        self, method: str, path: str, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """The answer to one request, retried while the failure is transient; an error
        answer raises its typed error (``error_from``). Every route this client calls
        is safe to repeat (jobs are submitted with a ``submission_id``). With ``stream``,
        a successful answer's body is left unread (read it with ``iter_bytes``, then
        ``close`` it): a large result is never held twice."""
        import httpx

        failures: list[BaseException] = []
        url = self._url(path, kwargs.pop("params", None))
        deadline = _DEADLINE.get()
        given = kwargs.pop("timeout", None)
        asked = self._http.timeout if given is None else httpx.Timeout(given)
        while True:
            if deadline is not None:
                kwargs["timeout"] = _capped(asked, self._left(deadline, method, path, failures))
            elif given is not None:
                kwargs["timeout"] = asked
            try:
                request = self._http.build_request(method, url, **kwargs)
                response = self._http.send(request, stream=stream)
                if stream and not response.is_success:
                    response.read()  # an error body is small: read it to type it
                    response.close()
            except httpx.TransportError as exc:
                failure: TransientError = ServerUnreachable(
                    f"no answer from the lazyarray server at {self.url}: "
                    f"{type(exc).__name__}: {exc} (is `lazyarray serve` running there?)"
                )
                failure.__cause__ = exc
            else:
                if response.is_success or response.status_code == 304:
                    return response
                error = error_from(response)
                if not isinstance(error, ServerBusy):
                    if isinstance(error, Unauthorized) and not self.has_token:
                        error = Unauthorized(
                            f"{error}; no token found: set LAZYARRAY_TOKEN or "
                            "LAZYARRAY_TOKEN_FILE, or start the server on this machine"
                        )
                    raise error
                failure = error
            failures.append(failure)
            if deadline is not None and time.monotonic() >= deadline[0]:
                self._left(deadline, method, path, failures)  # raises JobTimeoutError
            if len(failures) > self.retries.attempts:
                if self._retry_error and len(failures) > 1:
                    raise RetryError(
                        f"{method} {path} failed {len(failures)} times: {failure}", failures
                    ) from failure
                raise failure
            retry_after = failure.retry_after if isinstance(failure, ServerBusy) else None
            delay = self.retries.delay(len(failures) - 1, retry_after)
            if deadline is not None:  # the last wait ends at the deadline, then it raises
                delay = min(delay, max(0.0, deadline[0] - time.monotonic()))
            self._sleep(delay)

    def _left(
        self, deadline: tuple[float, float], method: str, path: str, failures: list[BaseException]
    ) -> float:
        """The seconds left of ``within``'s deadline; past it, ``JobTimeoutError``
        (caused by the last failure)."""
        left = deadline[0] - time.monotonic()
        if left <= 0:
            raise JobTimeoutError(
                f"{method} {path}: the server at {self.url} did not answer within the "
                f"timeout of {deadline[1]:g} seconds"
                + (f" (last: {failures[-1]})" if failures else "")
            ) from (failures[-1] if failures else None)
        return left

    def _url(self, path: str, params: Any) -> httpx.URL:
        import httpx

        key = (path, tuple(params.items()) if isinstance(params, Mapping) else params)
        try:
            found = self._urls.get(key)
        except TypeError:  # parameters that cannot be a key
            return httpx.URL(self._base + path, params=params)
        if found is None:
            found = httpx.URL(self._base + path, params=params)
            if len(self._urls) >= _KEPT_URLS:
                self._urls.clear()
            self._urls[key] = found
        return found

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<lazyarray.client.Client {self.url}>"


def _capped(asked: httpx.Timeout, left: float) -> httpx.Timeout:
    """``asked``, each of its limits at most ``left`` seconds."""
    import httpx

    def bound(limit: float | None) -> float:
        return left if limit is None else min(limit, left)

    return httpx.Timeout(
        connect=bound(asked.connect),
        read=bound(asked.read),
        write=bound(asked.write),
        pool=bound(asked.pool),
    )
