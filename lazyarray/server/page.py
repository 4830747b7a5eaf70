"""The web page at ``/``: jobs with live status and progress, workflows with their
versions (``docs/server-page.md``). Static files only, no build step; the script reads
``/v1`` with the ``lazyarray_token`` cookie and writes data with ``textContent``.

The token reaches the browser once, in the link ``lazyarray serve`` prints
(``/?token=T``); it is kept in an HttpOnly SameSite=Strict cookie, so no script can read
it. The one thing the page changes, cancelling a job, goes through
``POST /page/jobs/{id}/cancel``: the cookie, plus a header only a same-origin script can
send, plus a same-origin ``Origin`` where the browser gives one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from lazyarray.server.auth import COOKIE, owner_of_token
from lazyarray.server.models import JobState

# a custom header: from another origin it needs a CORS preflight, which is never granted
PAGE_HEADER = "X-Lazyarray-Page"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STATIC = {  # the files served, by name; nothing else under static/ is reachable
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}

# cancel(job_id, owner): the job's state after the cancel, as POST /v1/jobs/{id}/cancel
# answers it; raises a 404 HTTPException when the owner has no such job
Cancel = Callable[[str, str], JobState]


def _file(name: str) -> bytes:
    return resources.files("lazyarray.server").joinpath("static", name).read_bytes()


def _html(name: str, status: int = 200) -> Response:
    return Response(_file(name), status, SECURITY_HEADERS, "text/html; charset=utf-8")


def page_router(tokens: Mapping[str, str], cancel: Cancel) -> APIRouter:
    """Routes for ``/``, ``/static/{name}`` and the page's cancel. ``tokens`` is the
    server's ``{token: owner}`` table; ``cancel(job_id, owner)`` is the API's cancel, so
    the page's answer is the API's. The routes are not in the OpenAPI document: they are
    the page, not the API."""
    router = APIRouter(include_in_schema=False)

    def cookie_owner(request: Request) -> str | None:
        token = request.cookies.get(COOKIE)
        return None if not token else owner_of_token(token, tokens)

    @router.get("/", response_model=None)
    def index(request: Request, token: str | None = None) -> Response:
        if token is not None:  # the link the server printed: swap it for a cookie
            if owner_of_token(token, tokens) is None:
                return _html("signin.html", 401)
            response = RedirectResponse("/", 303, SECURITY_HEADERS)
            response.set_cookie(
                COOKIE,
                token,
                path="/",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return response
        if cookie_owner(request) is None:
            return _html("signin.html", 401)
        return _html("index.html")

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, f"no file {name}")
        return Response(_file(name), 200, SECURITY_HEADERS, STATIC[name])

    @router.post("/page/jobs/{job_id}/cancel")
    def cancel_job(job_id: str, request: Request) -> JSONResponse:
        who = cookie_owner(request)
        if who is None:
            raise HTTPException(401, "open the link `lazyarray serve` printed")
        origin = request.headers.get("origin")
        same = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if request.headers.get(PAGE_HEADER) != "cancel" or origin not in (None, same):
            raise HTTPException(403, "only the page itself may cancel with its cookie")
        state = cancel(job_id, who)
        return JSONResponse(state.model_dump(mode="json"), headers=SECURITY_HEADERS)

    return router
