"""Error bodies: every refusal the app makes answers
``{"detail": message, "error": {"type": name, "message": message}}``, where ``name`` is
a ``lazyarray.errors`` class (clients raise that class) or the HTTP status's name."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(HTTPException):
    """An HTTP refusal naming the error's type (``error.type`` of the body)."""

    def __init__(
        self,
        status: int,
        message: str,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, message, dict(headers) if headers else None)
        self.error_type = error_type or status_name(status)


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


def error_body(message: str, error_type: str) -> dict[str, Any]:
    return {"detail": message, "error": {"type": error_type, "message": message}}


def install(app: FastAPI) -> None:
    """Every HTTPException (the app's, FastAPI's, a 404 of an unknown route) and every
    request FastAPI cannot read answer the error body."""

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        error_type = getattr(exc, "error_type", None) or status_name(exc.status_code)
        return JSONResponse(error_body(message, error_type), exc.status_code, headers=exc.headers)

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
