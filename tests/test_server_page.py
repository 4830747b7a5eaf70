"""The web page at ``/``: in a real headless Chromium against a real server on a free
port (jobs with their status and progress, the sign-in page), and its routes over HTTP
(the token link, the cookie, the security headers, the page's cancel)."""

from __future__ import annotations

import html.parser
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

import httpx
from fastapi import FastAPI, HTTPException

import lazyarray as la
from lazyarray import serialize
from lazyarray.server import create_app
from lazyarray.server.auth import COOKIE
from lazyarray.server.page import PAGE_HEADER, page_router
from tests.server_kit import ThreadedServer as Server
from tests.server_kit import wait_finished

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
ALICE = {"Authorization": "Bearer alice-token"}
STATIC = Path(__file__).parents[1] / "lazyarray" / "server" / "static"
BROWSER_SECONDS = 120  # a cold Chromium on a busy machine


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    app = create_app(tmp_path_factory.mktemp("store"), TOKENS, workers=1, lease_seconds=3.0)
    with Server(app) as server:
        yield server


def _document() -> dict[str, Any]:
    x = la.parameter("x", la.Array, dtype="float64", shape=(None,))
    return serialize.to_dict((x * 2.0 + 1.0).sum())


def _submit(server: Server, values: list[float]) -> str:
    body = {"graph": _document(), "arguments": {"x": values}}
    response = httpx.post(f"{server.url}/v1/jobs", json=body, headers=ALICE)
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


def _finished(server: Server, job_id: str) -> dict[str, Any]:
    return wait_finished(
        lambda job: httpx.get(f"{server.url}/v1/jobs/{job}", headers=ALICE).json(), job_id
    )


class Dom(html.parser.HTMLParser):
    """What the page shows: job rows (cell texts, progress bar) and visible elements."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}
        self.hidden: set[str] = set()
        self.text: list[str] = []
        self.tags: list[str] = []
        self._row: dict[str, Any] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "hidden" in values and values.get("id"):
            self.hidden.add(str(values["id"]))
        self.tags.append(tag)
        if tag == "tr" and values.get("data-job-id"):
            self._row = {"status": values.get("data-status"), "cells": [], "progress": None}
            self.rows[str(values["data-job-id"])] = self._row
        elif tag == "td" and self._row is not None:
            self._row["cells"].append("")
        elif tag == "progress" and self._row is not None:
            self._row["progress"] = (values.get("value"), values.get("max"))
        elif tag == "button" and self._row is not None:
            self._row["button"] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row is not None and self._row["cells"]:
            self._row["cells"][-1] += data


def _browse(url: str, profile: Path, budget_ms: int = 4000) -> str:
    """The DOM after the page's scripts ran for ``budget_ms`` of virtual time."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium found (make browser installs Debian's chromium package)")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    command += [f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}"]
    command += ["--enable-logging=stderr", "--v=0", "--dump-dom", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_SECONDS)
    assert done.returncode == 0, done.stderr[-2000:]
    # the page's console: script errors and Content-Security-Policy refusals land there
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    return done.stdout


def test_the_page_shows_jobs_with_status_and_progress(server: Server, tmp_path: Path) -> None:
    jobs = [_submit(server, [1.0, 2.0, 3.0]), _submit(server, [4.0])]
    states = [_finished(server, job) for job in jobs]
    assert [state["status"] for state in states] == ["Completed", "Completed"]
    started = time.monotonic()
    dom = Dom(_browse(f"{server.url}/?token=alice-token", tmp_path / "profile"))
    seconds = time.monotonic() - started
    assert "jobs" not in dom.hidden, "".join(dom.text)
    for job, state in zip(jobs, states, strict=True):
        row = dom.rows[job]
        assert row["status"] == "Completed"
        assert row["cells"][:2] == [job, "Completed"]
        assert row["cells"][2] == f"{state['completed_steps']}/{state['total_steps']}"
        full = str(state["total_steps"] or 1)  # a job too quick to report steps: full bar
        assert row["progress"] == (full, full)
        assert row["cells"][3] == "1"  # attempts
        assert "button" not in row  # no cancel for a finished job
    # the workflows section answers with "no workflows" (none published, or no such routes)
    assert "workflows-empty" not in dom.hidden
    assert "no workflows" in dom.text
    print(f"chromium rendered the jobs in {seconds:.1f} s")


def test_without_a_token_the_page_says_to_open_the_link(server: Server, tmp_path: Path) -> None:
    dom = Dom(_browse(f"{server.url}/", tmp_path / "profile", budget_ms=500))
    text = re.sub(r"\s+", " ", "".join(dom.text))
    assert "Open the link lazyarray serve printed" in text
    assert not dom.rows


def test_the_token_link_sets_an_http_only_cookie_and_leaves_the_url(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/").status_code == 401
        assert client.get("/?token=wrong").status_code == 401
        assert COOKIE not in client.cookies
        response = client.get("/?token=alice-token")
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=strict", "path=/"):
            assert attribute in cookie
        page = client.get("/")
        assert page.status_code == 200 and "/static/page.js" in page.text
        assert client.get("/v1/jobs").status_code == 200  # the cookie reads the API


@pytest.mark.parametrize("path", ["/", "/?token=alice-token", "/static/page.js"])
def test_security_headers(server: Server, path: str) -> None:
    headers = httpx.get(server.url + path).headers
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_only_the_listed_static_files_are_served(server: Server) -> None:
    assert httpx.get(f"{server.url}/static/page.css").status_code == 200
    assert (
        httpx.get(f"{server.url}/static/page.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    for name in ("index.html", "nothing.js", "..%2Fpage.py", "%2E%2E%2Fpage.py"):
        assert httpx.get(f"{server.url}/static/{name}").status_code == 404


def test_the_page_never_writes_data_as_html() -> None:
    script = (STATIC / "page.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    for page in STATIC.glob("*.html"):
        assert not re.search(r"<script(?![^>]*\ssrc=)", page.read_text()), page.name
        assert not re.search(r"\son[a-z]+=", page.read_text()), page.name


def test_the_page_cancels_only_with_its_cookie_and_header(tmp_path: Path) -> None:
    with (
        Server(create_app(tmp_path / "store", TOKENS, workers=0)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        # no worker: the job stays Pending until cancelled
        job = _submit(server, [1.0])
        row = Dom(_browse(f"{server.url}/?token=alice-token", tmp_path / "profile")).rows[job]
        assert row["status"] == "Pending" and row["button"]  # a cancel button
        assert row["progress"] == (None, None)  # indeterminate: no steps reported yet
        path = f"/page/jobs/{job}/cancel"
        page = {PAGE_HEADER: "cancel"}
        assert client.post(path, headers=page).status_code == 401  # no cookie yet
        client.get("/?token=bob-token")
        assert client.post(path, headers=page).status_code == 404  # bob's view: no such job
        client.get("/?token=alice-token")
        assert client.post(path).status_code == 403  # a form from elsewhere
        foreign = page | {"Origin": "http://evil.example"}
        assert client.post(path, headers=foreign).status_code == 403
        assert client.get(f"/v1/jobs/{job}", headers=ALICE).json()["status"] == "Pending"
        same = page | {"Origin": server.url}
        state = client.post(path, headers=same).json()
        assert state["job_id"] == job and state["status"] == "Cancelled"


def test_the_page_cancel_answers_as_the_api_cancel(tmp_path: Path) -> None:
    """Both routes answer the whole JobState (warnings, inline_result, presentation
    included): the page's is the API's cancel."""
    with (
        Server(create_app(tmp_path / "store", TOKENS, workers=0)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        body = {"graph": _document(), "arguments": {"x": [1.0]}}
        body["presentation"] = {"format": "npy", "unpack": True}
        job = client.post("/v1/jobs", json=body, headers=ALICE).json()["job_id"]
        client.get("/?token=alice-token")
        path = f"/page/jobs/{job}/cancel"
        page = client.post(path, headers={PAGE_HEADER: "cancel", "Origin": server.url})
        assert page.status_code == 200, page.text
        client.cookies.clear()
        api = client.post(f"/v1/jobs/{job}/cancel", headers=ALICE)  # ended: left as it is
        assert page.json() == api.json()
        assert page.json()["status"] == "Cancelled"
        assert page.json()["presentation"] == {"format": "npy", "unpack": True}
        assert {"warnings", "inline_result"} <= set(page.json())
        assert page.headers["X-Frame-Options"] == "DENY"  # still the page's answer


HOSTILE = '<img src=x onerror="document.title=1"><script>document.title=2</script>'


def _no_job(job_id: str, owner: str) -> Any:
    raise HTTPException(404, f"no job {job_id}")


def _contract_app() -> FastAPI:
    """The page over canned answers in the shape of the HTTP contract (ISSUE11-API):
    a running job, a workflow with two versions, and text that looks like HTML."""
    app = FastAPI()
    app.include_router(page_router(TOKENS, _no_job))
    job = {"job_id": "j1", "status": "Running", "message": HOSTILE, "completed_steps": 3}
    job |= {"total_steps": 7, "attempts": 2, "created": 1.7e9, "started": 1.7e9}
    argument = {"name": "x", "dtype": "float64", "shape": [None, 3]}
    argument |= {"masked": False, "positional": True}
    workflow = {"id": "alice:smooth", "title": "Smooth", "description": HOSTILE}
    workflow |= {"labels": {}, "tags": ["signal"], "created": 1.7e9, "updated": 1.7e9}
    versions = [
        {"id": "alice:smooth", "version": v, "arguments": [argument], "docstring": doc}
        | {"graph_digest": "sha256:0", "document": "sha256:0", "result": {}, "labels": {}}
        | {"created": 1.7e9}
        for v, doc in (("1.0.0", "Smooths x."), ("1.1.0", f"Smooths x. {HOSTILE}"))
    ]
    app.get("/v1/jobs")(lambda: {"jobs": [job | {"finished": None}]})
    app.get("/v1/workflows")(lambda: {"workflows": [workflow]})
    app.get("/v1/workflows/{workflow_id}/versions")(lambda workflow_id: {"versions": versions})
    return app


def test_the_page_shows_progress_workflows_and_text_as_text(tmp_path: Path) -> None:
    with Server(_contract_app()) as server:
        dom = Dom(_browse(f"{server.url}/?token=alice-token", tmp_path / "profile"))
    row = dom.rows["j1"]
    assert row["status"] == "Running" and row["button"]
    assert row["progress"] == ("3", "7") and row["cells"][2] == "3/7"
    assert row["cells"][3] == "2" and row["cells"][7] == HOSTILE  # shown, not parsed
    text = "".join(dom.text)
    assert "alice:smooth" in text and "tags: signal" in text
    assert "1.0.0" in text and "1.1.0" in text and "Smooths x." in text
    assert "x: float64[?, 3]" in text
    assert "workflows-empty" in dom.hidden
    assert text.count(HOSTILE) == 3  # the message, the description, the docstring
    assert "img" not in dom.tags and dom.tags.count("script") == 1  # the page's own
