"""Error bodies: every refusal the app makes answers
``{"detail": message, "error": {"type": name, "message": message}}``, where ``name`` is
a ``lazyarray.errors`` class (clients raise that class) or the HTTP status's name."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lazyarray.errors import LazyArrayError


class ApiError(HTTPException):
    """An HTTP refusal naming the error's type (``error.type`` of the body)."""

    def __init__(
        self,
        status: int,
        message: str,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status, message, dict(headers) if headers else None)
        self.error_type = error_type or status_name(status)
        self.extra = dict(extra or {})  # more fields of the body's error (op, node)


def status_name(status: int) -> str:
    """``404`` -> ``"NotFound"``: the status's phrase, one word."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "HTTPError"
    return "".join(word[:1].upper() + word[1:] for word in phrase.replace("-", " ").split())


def from_error(status: int, error: BaseException, **headers: str) -> ApiError:
    """The refusal of a typed error: its class names the type, its text the message."""
    return ApiError(status, str(error), type(error).__name__, headers or None)


@contextlib.contextmanager
def answered(
    statuses: Sequence[tuple[type[LazyArrayError], int]], hidden: Mapping[str, str]
) -> Iterator[None]:
    """A typed error raised in the block as its refusal: the status its class has in
    ``statuses`` (else 422), its name as the type, its message with the server's own
    paths replaced as ``hidden`` says (``{path: what to show}``, longest first)."""
    try:
        yield
    except LazyArrayError as error:
        status = next((code for kind, code in statuses if isinstance(error, kind)), 422)
        text = str(error)
        for path, shown in sorted(hidden.items(), key=lambda item: -len(item[0])):
            text = text.replace(path, shown)
        raise ApiError(status, text, type(error).__name__) from error


def error_body(
    message: str, error_type: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    error = {**(extra or {}), "type": error_type, "message": message}
    return {"detail": message, "error": error}


def install(app: FastAPI) -> None:
    """Every HTTPException (the app's, FastAPI's, a 404 of an unknown route) and every
    request FastAPI cannot read answer the error body."""

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        error_type = getattr(exc, "error_type", None) or status_name(exc.status_code)
        body = error_body(message, error_type, getattr(exc, "extra", None))
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = []
        for problem in exc.errors():
            where = ".".join(str(step) for step in problem.get("loc", ()))
            parts.append(f"{where}: {problem.get('msg', 'invalid')}")
        message = "invalid request: " + "; ".join(parts)
        return JSONResponse(error_body(message, "RequestValidationError"), 422)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
