"""The README's "Run a server" runs as written: ``lazyarray serve`` (here on a free port,
named to the client by ``LAZYARRAY_SERVER``), then its Python block in another process,
which finds the token the server wrote, with no other configuration."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import lazyarray as la
from tests.server_kit import Server

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def _blocks() -> list[tuple[str, str]]:
    text = README.read_text()
    start = text.index("## Run a server\n")
    return FENCE.findall(text[start : text.index("\n## ", start + 1)])


def test_the_section_is_two_commands() -> None:
    blocks = _blocks()
    assert [language for language, _ in blocks] == ["sh", "python"]
    assert blocks[0][1].split("#")[0].strip() == "lazyarray serve"


@pytest.mark.skipif(
    "remote" not in la.available_backends(), reason="the remote backend is not installed"
)
def test_run_a_server_runs_as_written(tmp_path: Path) -> None:
    _, code = _blocks()[1]
    with Server(tmp_path / "store", tmp_path / "config") as server:
        env = server.environment()
        env["LAZYARRAY_SERVER"] = server.url
        remote = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert remote.returncode == 0, remote.stderr
        local = code.replace('backend="remote"', 'backend="numpy"')
        expected = subprocess.run(
            [sys.executable, "-c", local], env=env, capture_output=True, text=True, timeout=120
        )
        assert remote.stdout == expected.stdout
        with server.client() as client:
            assert len(client.get("/v1/jobs").json()["jobs"]) == 1
