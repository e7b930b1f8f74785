"""RFC 9457 problem+json answers; the only place that maps the error tree to HTTP status codes."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from opsbook.core.errors import (
    AuthError,
    ConfigError,
    Conflict,
    InputError,
    NotFound,
    OpsbookError,
    PayloadTooLarge,
    PermissionDenied,
    StorageUnavailable,
    TooManyRequests,
)

log = structlog.get_logger("opsbook.api")

STATUS: list[tuple[type[OpsbookError], int]] = [
    (PayloadTooLarge, 413),
    (InputError, 422),
    (AuthError, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooManyRequests, 429),
    (StorageUnavailable, 503),
    (ConfigError, 422),
]


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Register handlers so every error leaves as problem+json, never a bare 500 page."""

    @app.exception_handler(OpsbookError)
    async def _opsbook(_req: Request, exc: OpsbookError) -> JSONResponse:
        status = next((code for cls, code in STATUS if isinstance(exc, cls)), 500)
        headers = {}
        if isinstance(exc, StorageUnavailable | TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, AuthError):
            headers["WWW-Authenticate"] = "Bearer"
        return problem(status, exc.title, exc.detail, field=exc.field, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": "body"
                if e.get("type") == "json_invalid"
                else _field(tuple(e.get("loc", ()))),
                "message": e.get("msg", "invalid"),
            }
            for e in exc.errors()
        ][:50]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        detail = f"{first['field']}: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem(422, "invalid input", detail, field=first["field"], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            exc.status_code, "error", str(exc.detail), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
        return problem(
            500, "internal error", "opsbook hit an unexpected error; the request id is in the logs"
        )
