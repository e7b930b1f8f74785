"""ASGI middleware: request ids and access logs, a time budget per request, body size and JSON
nesting limits."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsbook.api.problems import problem

log = structlog.get_logger("opsbook.http")

MAX_DEPTH = 64

# Paths whose last part is a credential: signed acknowledge/resolve links and status-page
# confirmation links. Logs keep the route and drop the token.
_SECRET_PATHS = re.compile(r"^(/api/v1/links/|/status/[^/]+/confirm/)[^/]+")
# any other segment shaped like a signed token (``v1.<payload>.<mac>``, ``s1.…``)
_SIGNED = re.compile(r"(?<=/)[a-z][0-9]\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
REDACTED = "[redacted]"


def loggable_path(path: str) -> str:
    """``path`` as logs may show it: signed link tokens replaced by ``[redacted]``.

    The token in a one-tap link is the whole credential (no login), so a log line holding it
    would let anyone who reads the logs acknowledge or resolve the incident.
    """
    path = _SECRET_PATHS.sub(lambda m: m.group(1) + REDACTED, path[:2048])
    return _SIGNED.sub(REDACTED, path)


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """Maximum nesting of arrays/objects, ignoring brackets inside strings; fast on big bodies."""
    depth = best = 0
    for m in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if m.group() in (b"[", b"{"):
            depth += 1
            best = max(best, depth)
        else:
            depth -= 1
    return best


class RequestContext:
    """Binds a request id (from ``X-Request-ID`` or new) to logs and echoes it; logs each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        rid = raw if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", raw) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            if path not in ("/healthz", "/metrics"):
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=loggable_path(path),
                    status=status,
                    duration_ms=round((time.perf_counter() - start) * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimits:
    """413 above ``max_bytes``; 400 for JSON nested deeper than MAX_DEPTH (before any parser sees it)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = problem(
            413,
            "payload too large",
            f"the request body is over {self.max_bytes} bytes",
            field="body",
        )
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await too_big(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await too_big(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        ctype = headers.get(b"content-type", b"").lower()
        if body and (b"json" in ctype or not ctype) and json_depth(body) > MAX_DEPTH:
            await problem(
                400, "invalid input", f"JSON nested deeper than {MAX_DEPTH} levels", field="body"
            )(scope, receive, send)
            return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)


INTAKE_PREFIXES = ("/api/v1/integrations/", "/api/v2/alerts", "/api/v1/events")


class RequestBudget:
    """Answer 503 (problem+json, ``Retry-After``) when a request has not begun its answer within
    ``seconds`` (``OPSBOOK_REQUEST_TIMEOUT``), so no handler can hold its client, or a load
    balancer's health check, for ever.

    Work in a thread cannot be interrupted: it is left to finish and its answer is dropped (an
    intake batch may still commit; the sender's retry deduplicates). CPU-heavy handlers bound
    their own work too (see ``flows.silences.preview_bounded``). A response that has started,
    like a stream, is not cut off.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = late = False

        async def guarded(message: Message) -> None:
            nonlocal started
            if late:
                return  # an abandoned handler's answer goes nowhere
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        begun = time.perf_counter()
        task = asyncio.ensure_future(self.app(scope, receive, guarded))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.seconds)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if done or started:
            await task
            return
        late = True
        path = loggable_path(scope.get("path", ""))
        log.warning("request_timeout", path=path, budget_s=self.seconds)
        task.add_done_callback(lambda t: _overran(t, path, begun))
        intake = path.startswith(INTAKE_PREFIXES)
        detail = (
            f"not answered within {self.seconds:g}s; retry later "
            + ("(a retry never doubles an alert or incident)" if intake else "")
        ).strip()
        await problem(503, "request timed out", detail, headers={"Retry-After": "5"})(
            scope, receive, send
        )


def _overran(task: asyncio.Future[None], path: str, begun: float) -> None:
    """Log how an abandoned request ended (its exception is consumed here, not lost)."""
    error = None if task.cancelled() else task.exception()
    log.info(
        "request_overran",
        path=path,
        duration_ms=round((time.perf_counter() - begun) * 1000, 2),
        error=type(error).__name__ if error else None,
    )
