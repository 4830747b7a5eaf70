"""The connection to a server: token and URL discovery, retries of what is transient
(and only that), and answers turned into typed errors."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

import lazyarray as la
from lazyarray import errors
from lazyarray.client import connection
from lazyarray.client.connection import (
    Client,
    Retries,
    ServerBusy,
    ServerUnreachable,
    find_token,
    server_url,
)

httpx = pytest.importorskip("httpx")


def answering(*answers: Any, seen: list[Any] | None = None) -> Any:
    """A transport that answers each request with the next of ``answers``: an
    ``httpx.Response``, or an exception to raise."""
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return httpx.MockTransport(handle)


def client(
    *answers: Any, seen: list[Any] | None = None, **kwargs: Any
) -> tuple[Client, list[float]]:
    waits: list[float] = []
    made = Client(
        "http://server.test",
        token="secret",
        transport=answering(*answers, seen=seen),
        sleep=waits.append,
        **kwargs,
    )
    return made, waits


def error(status: int, kind: str | None = None, message: str = "no", **headers: str) -> Any:
    body: dict[str, Any] = {"detail": message}
    if kind:
        body["error"] = {"type": kind, "message": message}
    return httpx.Response(status, json=body, headers=headers)


def test_the_token_travels_as_a_bearer_header() -> None:
    seen: list[Any] = []
    made, _ = client(httpx.Response(200, json={"ok": 1}), seen=seen)
    assert made.json("GET", "/v1/jobs") == {"ok": 1}
    assert seen[0].headers["Authorization"] == "Bearer secret"
    assert seen[0].headers["User-Agent"].startswith("lazyarray/")


def test_transient_answers_are_retried_with_backoff_and_retry_after() -> None:
    made, waits = client(
        error(503, message="busy"),
        error(429, message="slow down", **{"Retry-After": "2"}),
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"ok": 1}),
    )
    assert made.json("GET", "/v1/jobs") == {"ok": 1}
    assert len(waits) == 3
    assert 0 <= waits[0] <= 0.05 and waits[1] >= 2 and 0 <= waits[2] <= 0.2


def test_retries_are_bounded_and_the_last_failure_is_raised() -> None:
    made, waits = client(*[error(502)] * 3, retries=2)
    with pytest.raises(ServerBusy, match="HTTP 502"):
        made.request("GET", "/v1/jobs")
    assert len(waits) == 2
    made, _ = client(error(429, "TooManyJobs"), retries=0)
    with pytest.raises(errors.ResourceExhausted, match="HTTP 429") as busy:
        made.request("POST", "/v1/jobs")  # too many jobs: exhausted, and worth a retry
    assert isinstance(busy.value, errors.ServerBusy) and isinstance(busy.value, ServerBusy)
    made, _ = client(*[httpx.ReadTimeout("slow")] * 2, retries=1)
    with pytest.raises(ServerUnreachable, match="ReadTimeout") as raised:
        made.request("GET", "/v1/jobs")
    assert isinstance(raised.value, errors.TransientError)
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (error(422, "BadAttribute", "nodes/3: bad axis"), errors.BadAttribute),
        (error(409, "VersionConflict"), errors.VersionConflict),
        (error(409, "SubmissionConflict"), errors.SubmissionConflict),
        (error(404, "WorkflowNotFound"), errors.WorkflowNotFound),
        (error(413, "ResourceExhausted"), errors.ResourceExhausted),
        (error(401), errors.Unauthorized),
        (error(403), errors.Unauthorized),
        (error(500), errors.ServerError),
        (
            error(422, "NotAnErrorOfOurs"),
            errors.ServerError,
        ),  # never a class by a name we do not own
        (error(400, "RetryError"), errors.ServerError),  # needs more than a message
        (httpx.Response(500, text="<html>oops</html>"), errors.ServerError),
    ],
)
def test_user_errors_are_typed_and_never_retried(answer: Any, kind: type) -> None:
    made, waits = client(answer)
    with pytest.raises(kind) as raised:
        made.request("POST", "/v1/jobs", json={})
    assert waits == []
    assert "/v1/jobs" in str(raised.value)
    if isinstance(raised.value, errors.ServerError):
        assert raised.value.status == answer.status_code


def test_unauthorized_without_a_token_says_where_tokens_come_from(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.delenv("LAZYARRAY_TOKEN", raising=False)
    monkeypatch.delenv("LAZYARRAY_TOKEN_FILE", raising=False)
    monkeypatch.setattr(connection, "token_path", lambda: tmp_path / "none")
    made = Client("http://server.test", transport=answering(error(401)))
    with pytest.raises(errors.Unauthorized, match="LAZYARRAY_TOKEN"):
        made.request("GET", "/v1/jobs")


def test_the_token_is_found_in_the_environment_a_named_file_or_the_servers_file(
    tmp_path: Path, monkeypatch: Any
) -> None:
    written = tmp_path / "written"
    written.write_text("from-server\n")
    monkeypatch.setattr(connection, "token_path", lambda: written)
    assert find_token({}) == "from-server"
    # a local server's token goes to loopback URLs only, never to another host
    for local in ("http://127.0.0.1:9000", "http://localhost:8700", "http://[::1]:8700"):
        assert find_token({}, url=local) == "from-server"
    for other in ("http://10.0.0.2:8700", "https://lazy.example.org", "http://0.0.0.0:8700"):
        assert find_token({}, url=other) is None
        assert find_token({"LAZYARRAY_TOKEN": "mine"}, url=other) == "mine"
    named = tmp_path / "named"
    named.write_text("\n  from-file  \n")
    assert find_token({"LAZYARRAY_TOKEN_FILE": str(named)}) == "from-file"
    assert (
        find_token({"LAZYARRAY_TOKEN": "from-env", "LAZYARRAY_TOKEN_FILE": str(named)})
        == "from-env"
    )
    with pytest.raises(errors.Unauthorized, match="does not exist"):
        find_token({"LAZYARRAY_TOKEN_FILE": str(tmp_path / "missing")})
    commented = tmp_path / "commented"
    commented.write_text("# the token of the lab's server\nsecret\n")
    assert find_token({"LAZYARRAY_TOKEN_FILE": str(commented)}) == "secret"
    # a server's token file, named by mistake: said, not sent as a token
    servers = tmp_path / "tokens"
    servers.write_text("alice secret\n")
    with pytest.raises(errors.Unauthorized, match="holds the token alone"):
        find_token({"LAZYARRAY_TOKEN_FILE": str(servers)})
    empty = tmp_path / "empty"
    empty.write_text("\n# nothing yet\n")
    with pytest.raises(errors.Unauthorized, match="holds no token"):
        find_token({"LAZYARRAY_TOKEN_FILE": str(empty)})
    monkeypatch.setattr(connection, "token_path", lambda: tmp_path / "missing")
    assert find_token({}) is None


def test_the_server_comes_from_the_argument_the_option_or_loopback() -> None:
    assert server_url() == "http://127.0.0.1:8700"
    with la.config.set(server="https://lazy.example.org/"):
        assert server_url() == "https://lazy.example.org"
    assert server_url("http://10.0.0.2:9000") == "http://10.0.0.2:9000"
    with pytest.raises(errors.ConfigError, match="http:// or https://"):
        server_url("ftp://x")
    with pytest.raises(errors.ConfigError, match="http:// or https://"):
        la.config.set(server="127.0.0.1:8700")


def test_backoff_is_capped_and_jittered() -> None:
    policy = Retries(attempts=10, base=0.1, cap=1.0)
    waits = [policy.delay(n) for n in range(10) for _ in range(20)]
    assert max(waits) <= 1.0 and len(set(waits)) > 100
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=1e9) == 6.0  # a server cannot park a client forever


def test_requests_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``HTTP_PROXY`` is honoured as by any httpx client: the request line reaches the
    proxy (here a socket that answers 503 and records it), for a host this machine
    could not even resolve; ``NO_PROXY`` sends a host around it."""
    import socket
    import threading

    seen: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def serve() -> None:
            with contextlib.suppress(OSError):
                while True:
                    connection_, _ = listener.accept()
                    with connection_:
                        seen.append(connection_.recv(65536).split(b"\r\n", 1)[0])
                        connection_.sendall(
                            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"
                        )

        threading.Thread(target=serve, daemon=True).start()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = Client("http://lazyarray-server.invalid:8700", token="t", retries=0)
        with pytest.raises(connection.ServerBusy):
            client.request("GET", "/v1/jobs", params={"limit": "1"})
        assert seen == [b"GET http://lazyarray-server.invalid:8700/v1/jobs?limit=1 HTTP/1.1"]
        monkeypatch.setenv("NO_PROXY", "lazyarray-server.invalid")
        around = Client("http://lazyarray-server.invalid:8700", token="t", retries=0)
        with pytest.raises(connection.ServerUnreachable):
            around.request("GET", "/health")
        assert len(seen) == 1
