"""``lazyarray serve``: tokens and binding rules, a real server answering over HTTP, and
a graceful SIGTERM (running jobs finish within the grace period or go back to Pending
without counting an attempt)."""

from __future__ import annotations

import argparse
import io
import signal
import socket
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from lazyarray.cli import main  # noqa: E402
from lazyarray.client import Client, find_token  # noqa: E402
from lazyarray.errors import ConfigError  # noqa: E402
from lazyarray.server.serve import is_loopback, tokens_for  # noqa: E402
from lazyarray.server.store import JobStore  # noqa: E402
from tests.server_kit import Server, live_in_group, slow, small, wait, wait_for  # noqa: E402

# uvicorn ends by raising the signal again, once it has shut down gracefully
STOPPED = (0, -signal.SIGTERM)


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("LAZYARRAY_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "lazyarray" / "token"


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.org", ""]))


@pytest.mark.parametrize("trusted", [[], ["--trusted"]])
def test_a_public_bind_without_a_token_refuses_to_start(
    no_token: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], trusted: list[str]
) -> None:
    store = tmp_path / "store"
    assert main(["serve", "--host", "0.0.0.0", "--store", str(store), *trusted]) == 1
    error = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without a token" in error
    assert "LAZYARRAY_TOKEN" in error and "--token-file" in error
    assert not no_token.exists()


def test_tokens_come_from_the_environment_the_file_or_the_store(
    no_token: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    made = tokens_for("127.0.0.1", None, store)
    assert made.made is not None and made.table == {made.made: "default"}
    assert (store / "token").read_text().strip() == made.made
    assert stat.S_IMODE((store / "token").stat().st_mode) == 0o600
    assert not no_token.exists()  # shared with clients only once the port is bound
    assert tokens_for("127.0.0.1", None, store).made == made.made  # kept by the store
    with pytest.raises(ConfigError):
        tokens_for("0.0.0.0", None, store)
    table = tmp_path / "tokens"
    table.write_text("# owner token\nalice a-token\nbob b-token  # bob's\n")
    assert tokens_for("0.0.0.0", str(table), store).table == {"a-token": "alice", "b-token": "bob"}
    monkeypatch.setenv("LAZYARRAY_TOKEN", "env-token")
    found = tokens_for("10.1.2.3", None, store)
    assert found.table == {"env-token": "default"} and found.made is None


def _running_server(tmp_path: Path, *args: str) -> Server:
    return Server(tmp_path / "store", tmp_path / "config", args=list(args))


def test_bad_assets_refuse_to_start(
    no_token: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assets = tmp_path / "assets.yaml"
    assets.write_text("assets:\n  - {id: tmp, type: os.system, scope: process}\n")
    store = str(tmp_path / "store")
    assert main(["serve", "--store", store, "--assets", str(assets)]) == 1
    assert "not 'os.system'" in capsys.readouterr().err
    assert main(["serve", "--store", store, "--assets", str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("seconds", ["0", "-5", "inf", "nan", "soon"])
def test_keep_results_takes_a_positive_number_of_seconds(
    seconds: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["serve", "--store", str(tmp_path), "--keep-results", seconds])
    assert refused.value.code == 2
    assert "--keep-results" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--lease", "0"), ("--lease", "nan"), ("--grace", "-5"), ("--workers", "100000")],
)
def test_options_that_cannot_work_refuse_to_start(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lease of 0 loses every job, a negative grace means nothing, and a thousand
    worker processes bring the machine down: each is a one-line error naming it."""
    with pytest.raises(SystemExit) as refused:
        main(["serve", "--store", str(tmp_path), option, value])
    assert refused.value.code == 2
    assert option in capsys.readouterr().err


def test_the_store_is_its_owners_alone(tmp_path: Path) -> None:
    """Every owner's jobs and results are in the store: it is made (or made again)
    readable by its owner alone, whatever the umask."""
    from lazyarray.server.layout import Layout

    made = Layout.create(tmp_path / "new")
    assert made.root.stat().st_mode & 0o777 == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert Layout.create(shared).root.stat().st_mode & 0o777 == 0o700


def test_a_real_server_runs_a_job_over_http(tmp_path: Path) -> None:
    assets = tmp_path / "assets.yaml"  # each job gets a scratch folder, removed after it
    assets.write_text("assets:\n  - {id: tmp, type: scratch_dir, scope: process}\n")
    with _running_server(tmp_path, "--workers", "1", "--assets", str(assets)) as server:
        token = server.token
        for path in (server.store / "token", server.config / "lazyarray" / "token"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert httpx.get(f"{server.url}/v1/jobs").status_code == 401
        x = np.arange(6.0).reshape(2, 3)
        with server.client() as client:
            response = client.post(
                "/v1/jobs", json={"graph": small(), "arguments": {"x": x.tolist()}}
            )
            assert response.status_code == 202
            state = wait(client, response.json()["job_id"])
            assert state["status"] == "Completed"
            result = client.get(f"/v1/jobs/{state['job_id']}/result")
            np.testing.assert_array_equal(np.load(io.BytesIO(result.content)), (x * 2 + 1).sum(0))
        assert server.stop() in STOPPED
    assert f"?token={token}" in server.output[0]
    assert token not in server.output[0].replace(f"?token={token}", "")  # printed once


def test_two_local_servers_keep_their_own_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each loopback server leaves its token under its own port for local clients; a
    second one on a port in use refuses in one line and leaves no token behind."""
    config = tmp_path / "config"
    first = Server(tmp_path / "one", config, args=["--workers", "1"])
    second = Server(tmp_path / "two", config, args=["--workers", "1"])
    with first, second:
        tokens = {}
        for server in (first, second):
            own = config / "lazyarray" / "tokens" / f"127.0.0.1_{server.port}"
            tokens[server.port] = own.read_text().strip()
            assert stat.S_IMODE(own.stat().st_mode) == 0o600
        assert tokens[first.port] != tokens[second.port]
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
        monkeypatch.delenv("LAZYARRAY_TOKEN", raising=False)
        monkeypatch.delenv("LAZYARRAY_TOKEN_FILE", raising=False)
        for server in (first, second):  # each client finds the token of its server
            assert find_token(url=server.url) == tokens[server.port]
            with Client(server.url) as client:
                assert client.json("GET", "/v1/jobs")["jobs"] == []
        before = {
            path: path.read_text() for path in (config / "lazyarray").rglob("*") if path.is_file()
        }
        busy = subprocess.run(
            [sys.executable, "-m", "lazyarray", "serve", "--port", str(first.port)]
            + ["--store", str(tmp_path / "three")],
            env=first.environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert busy.returncode == 1
        assert f"cannot listen on 127.0.0.1:{first.port}" in busy.stderr
        assert "open http" not in busy.stdout  # no link to another server, no token
        after = {
            path: path.read_text() for path in (config / "lazyarray").rglob("*") if path.is_file()
        }
        assert after == before


def test_a_sigterm_to_the_whole_group_stops_as_one_to_the_server(tmp_path: Path) -> None:
    """A service manager (or a terminal's Ctrl-C) signals the server's whole process
    group: the workers leave stopping to the server, so none dies and is replaced by a
    worker that would claim the Pending jobs during the shutdown."""
    server = _running_server(tmp_path, "--workers", "2", "--grace", "1")
    with server:
        with server.client() as client:
            running = client.post("/v1/jobs", json={"graph": slow(4000)}).json()["job_id"]
            wait_for(client, running, "Running")
            waiting = [
                client.post("/v1/jobs", json={"graph": slow(4000)}).json()["job_id"]
                for _ in range(3)
            ]
        group = server.process.pid  # type: ignore[union-attr]
        time.sleep(0.3)  # the idle worker has taken one of them: two are Pending
        started = time.monotonic()
        assert server.stop(signal.SIGTERM, group=True) in STOPPED
        assert time.monotonic() - started < 1 + 10
        if Path("/proc/self/stat").exists():
            assert live_in_group(group) == []
        store = JobStore(server.store / "jobs.sqlite3")
        states = [store.get(job_id) for job_id in [running, *waiting]]
        store.close()
        assert all(state is not None for state in states)
        # nothing ran after the signal: every job is back to Pending, no attempt counted
        assert [(s["status"], s["attempts"]) for s in states] == [("Pending", 0)] * 4  # type: ignore[index]
        server.start()
        assert server.stop() in STOPPED


def test_sigterm_lets_short_jobs_finish_and_requeues_the_rest(tmp_path: Path) -> None:
    server = _running_server(tmp_path, "--workers", "2", "--grace", "5")
    with server:
        with server.client() as client:
            long = client.post("/v1/jobs", json={"graph": slow(4000)}).json()["job_id"]
            short = client.post("/v1/jobs", json={"graph": slow(40)}).json()["job_id"]
            wait_for(client, long, "Running")
            wait_for(client, short, "Running")
        group = server.process.pid  # type: ignore[union-attr]
        started = time.monotonic()
        assert server.stop(signal.SIGTERM) in STOPPED
        assert time.monotonic() - started < 5 + 10
        if Path("/proc/self/stat").exists():  # no worker outlives the server
            assert live_in_group(group) == []
        store = JobStore(server.store / "jobs.sqlite3")
        assert store.get(short)["status"] == "Completed"  # type: ignore[index]
        requeued = store.get(long)
        assert requeued is not None
        assert (requeued["status"], requeued["attempts"]) == ("Pending", 0)
        store.close()
        server.start()  # the same store: the same token, the job runs again
        with server.client() as client:
            wait_for(client, long, "Running")
            assert client.get(f"/v1/jobs/{long}").json()["attempts"] == 1
            assert client.post(f"/v1/jobs/{long}/cancel").status_code == 200
            assert wait(client, long, timeout=10)["status"] == "Cancelled"
        assert server.stop() in STOPPED


@pytest.mark.parametrize(
    ("lines", "environment", "expected"),
    [
        ("alice same\n# a comment\nbob same\n", None, "lines 1 and 3 give one token to two owners"),
        ("alice a-token\nbadline\n", None, ":2: expected 'owner token'"),
        ("alice shared\n", "shared", "LAZYARRAY_TOKEN (the 'default' owner's token) is also"),
        # an owner publishes as owner:name: a name that could never publish is refused
        ("Alice a-token\n", None, ":1: owner 'Alice' holds the uppercase letter"),
        ("../x a-token\n", None, ":1: owner '../x' holds the path separator"),
    ],
)
def test_a_bad_token_file_refuses_to_start(
    no_token: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    lines: str,
    environment: str | None,
    expected: str,
) -> None:
    table = tmp_path / "tokens.txt"
    table.write_text(lines)
    if environment is not None:
        monkeypatch.setenv("LAZYARRAY_TOKEN", environment)
    args = ["serve", "--store", str(tmp_path / "store"), "--token-file", str(table)]
    assert main(args) == main(["serve", "--token-file", str(tmp_path / "none")]) == 1
    error = capsys.readouterr().err.splitlines()
    assert error[0].startswith("lazyarray: error: ") and str(table) in error[0]
    assert expected in error[0] and error[1].startswith("lazyarray: error: ")
    assert f"--token-file {tmp_path / 'none'}: No such file" in error[1]
    table.write_text("alice same\nalice same\ndefault shared\n")  # the same owner twice: fine
    monkeypatch.setenv("LAZYARRAY_TOKEN", "shared")
    assert tokens_for("127.0.0.1", str(table), tmp_path).table == {
        "same": "alice",
        "shared": "default",
    }


def test_one_server_per_store(
    no_token: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lazyarray.server.app import create_app
    from lazyarray.server.lock import StoreInUse

    with warnings.catch_warnings():  # starlette's notice that it prefers httpx2
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    store = tmp_path / "store"
    with TestClient(create_app(store, "t", workers=0)) as client:
        assert client.get("/health").status_code == 200
        second = TestClient(create_app(store, "t", workers=0))
        with pytest.raises(StoreInUse, match=f"another server uses the store {store}"):
            second.__enter__()
        assert main(["serve", "--store", str(store), "--port", "1"]) == 1
        error = capsys.readouterr().err
        assert error.startswith(f"lazyarray: error: another server uses the store {store}")
    with TestClient(create_app(store, "t", workers=0)) as client:  # released at its end
        assert client.get("/health").status_code == 200


def _serve_parser() -> argparse.ArgumentParser:
    from lazyarray.server.serve import add_arguments

    parser = argparse.ArgumentParser(prog="lazyarray serve")
    add_arguments(parser)
    return parser


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--port", "99999", "'99999' is not a port: a number from 0 to 65535"),
        ("--port", "-1", "'-1' is not a port"),
        ("--port", "http", "'http' is not a port"),
        ("--keep-results", "abc", "'abc' is not a number of seconds > 0"),
        ("--lease", "abc", "'abc' is not a number of seconds > 0"),
        ("--grace", "abc", "'abc' is not a number of seconds >= 0"),
        ("--grace", "-1", "'-1' is not a number of seconds >= 0"),
        ("--workers", "two", "'two' is not a count of workers (1 or more)"),
    ],
)
def test_bad_options_say_what_is_expected(
    option: str, value: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        _serve_parser().parse_args([option, value])
    assert refused.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument {option}: {expected}" in error
    assert "invalid" not in error and "_" not in error.split(":", 2)[-1]


def test_serve_help_shows_the_defaults() -> None:
    shown = " ".join(_serve_parser().format_help().split())
    for default in ("(default: 127.0.0.1)", "(default: 8700;", "(default: 30)", "(default: 10)"):
        assert default in shown
    assert _serve_parser().parse_args([]).port == 8700


@pytest.mark.parametrize("port", [99999, -1])
def test_a_port_out_of_range_is_refused_before_anything_is_written(
    no_token: Path, tmp_path: Path, port: int
) -> None:
    from lazyarray.server.serve import serve

    store = tmp_path / "store"
    with pytest.raises(ConfigError, match=f"--port {port}: a port is a number from 0 to 65535"):
        serve(host="127.0.0.1", port=port, store=store, workers=1, dask_scheduler=None,
              token_file=None, trusted=False, grace=1.0)  # fmt: skip
    assert not store.exists() and not no_token.parent.exists()


def test_a_port_in_use_leaves_nothing_behind(
    no_token: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The port is bound before the store is made: a start that cannot listen makes no
    store folder (no jobs.sqlite3, token, server.lock) and shares no token; an existing
    store keeps what it held."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        store = tmp_path / "store"
        assert main(["serve", "--store", str(store), "--port", port]) == 1
        assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
        assert not store.exists() and not no_token.parent.exists()
        kept = tmp_path / "kept"
        kept.mkdir()
        (kept / "note").write_text("mine")
        assert main(["serve", "--store", str(kept), "--port", port]) == 1
        assert [p.name for p in kept.iterdir()] == ["note"]
