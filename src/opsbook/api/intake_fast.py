"""The hot intake POSTs served ahead of the middleware stack and router, when nothing is unusual.

A profile of the server under single-alert posts put about two thirds of the event loop's time
in the layers around the handler (four middlewares, FastAPI's exception, exit-stack and routing
layers, a task per request), not in the handler. :class:`IntakeFastApp` answers
``POST /api/v2/alerts`` and the Alertmanager webhook itself when the request is plain: a JSON
body with a length under the limit, a cached intake token sent as ``Bearer``, no heartbeat ping
in it, a body the lean decoder vouches for. It does what the layers would have done for such a
request (size and nesting limits, request id, access log, time budget) and the same handler
steps. Anything else, found before the batch is queued, goes through the whole stack with the
body replayed, so every error answer is the one the routes give. A 2xx is still sent only
after the commit.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from opsbook.api.auth import Principal, bearer_credentials, principal, state_of
from opsbook.api.middleware import MAX_DEPTH, json_depth
from opsbook.api.problems import STATUS
from opsbook.api.routes import intake
from opsbook.api.routes.am_v2 import error_text
from opsbook.core.errors import OpsbookError, StorageUnavailable
from opsbook.flows import heartbeats
from opsbook.flows.ingest import IngestBatch
from opsbook.flows.tokens import hash_secret
from opsbook.intake.models import AlertIn

log = structlog.get_logger("opsbook.http")

Prepare = Callable[..., Awaitable[IngestBatch]]
ROUTES: dict[str, tuple[Prepare, str]] = {
    "/api/v2/alerts": (intake.prometheus_batch, "prometheus"),
    "/api/v1/integrations/alertmanager": (intake.alertmanager_batch, "alertmanager"),
}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Fallback(Exception):
    """The request is not plain: serve it through the whole stack."""


def _is_json(ctype: bytes) -> bool:
    kind = ctype.partition(b";")[0].strip().lower()
    main, _, sub = kind.partition(b"/")
    return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))


async def _no_ping(request: Request, p: Principal, alerts: list[AlertIn]) -> list[AlertIn]:
    """``take_pings`` when it would store nothing; a request holding a ping falls back."""
    config = state_of(request).config
    if not config.heartbeats:
        return alerts
    rest, names = heartbeats.take_pings(config, p.tenant, p.integration, alerts)
    if names:
        raise Fallback
    return rest


class IntakeFastApp(FastAPI):
    """The opsbook FastAPI app, with the plain hot intake requests answered on a short path."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None or scope.get("method") != "POST":
            await super().__call__(scope, receive, send)
            return
        await self._fast(scope, receive, send, *route)

    async def _fast(
        self, scope: Scope, receive: Receive, send: Send, prepare: Prepare, source: str
    ) -> None:
        st = self.state.opsbook
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        auth = headers.get(b"authorization", b"")
        plain = (
            length.isdigit()
            and int(length) <= st.settings.max_body_bytes
            and _is_json(headers.get(b"content-type", b""))
            and auth[:7].lower() == b"bearer "
        )
        if not plain:
            await super().__call__(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        started = time.perf_counter()
        try:
            future, n = await self._queue(scope, body, prepare, auth)
        except Fallback:
            await self._whole(scope, receive, send, body)
            return
        await self._finish(scope, headers, send, future, n, source, started)

    async def _queue(
        self,
        scope: Scope,
        body: bytes,
        prepare: Prepare,
        auth: bytes,
    ) -> tuple[asyncio.Future[Any], int]:
        """Check, decode and queue the batch, or raise Fallback having changed nothing."""
        if len(body) > self.state.opsbook.settings.max_body_bytes:
            raise Fallback
        # nesting never exceeds the number of brackets: count first, scan only big bodies
        if body.count(b"[") + body.count(b"{") > MAX_DEPTH and json_depth(body) > MAX_DEPTH:
            raise Fallback
        secret = auth[7:].strip().decode("latin-1")
        found: Principal | None = (
            self.state.token_cache.get(hash_secret(secret)) if secret else None
        )
        if found is None or found.kind != "intake":
            raise Fallback  # unknown, uncached or not an intake token: the routes decide
        scope["app"] = self
        request = Request(scope)
        try:
            p = await principal(request, bearer_credentials(request))
            batch = await prepare(request, p, body, _no_ping)
        except Exception as exc:  # any refusal is the routes' to word
            raise Fallback from exc
        return self.state.opsbook.committer.enqueue(batch), len(batch.alerts)

    async def _finish(
        self,
        scope: Scope,
        headers: dict[bytes, bytes],
        send: Send,
        future: asyncio.Future[Any],
        n: int,
        source: str,
        started: float,
    ) -> None:
        st = self.state.opsbook
        raw_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        rid = raw_id if _REQUEST_ID.fullmatch(raw_id) else os.urandom(16).hex()
        status, ctype, extra = 200, b"application/json", []
        budget = st.settings.request_timeout
        try:
            result = await asyncio.wait_for(
                asyncio.shield(future), budget - (time.perf_counter() - started)
            )
        except TimeoutError:  # as RequestBudget answers: the commit may still land
            path = scope["path"]
            log.warning("request_timeout", path=path, budget_s=budget, request_id=rid)
            status, extra = 503, [(b"retry-after", b"5")]
            detail = (
                f"not answered within {budget:g}s; retry later "
                "(a retry never doubles an alert or incident)"
            )
            ctype, payload = self._problem(scope, status, "request timed out", detail, None)
        except OpsbookError as exc:
            status = next((code for cls, code in STATUS if isinstance(exc, cls)), 500)
            if isinstance(exc, StorageUnavailable):
                extra = [(b"retry-after", str(exc.retry_after).encode())]
            ctype, payload = self._problem(scope, status, exc.title, exc.detail, exc.field)
        except Exception as exc:
            log.error(
                "unhandled_error", error_type=type(exc).__name__, exc_info=exc, request_id=rid
            )
            status = 500
            ctype, payload = self._problem(
                scope,
                status,
                "internal error",
                "opsbook hit an unexpected error; the request id is in the logs",
                None,
            )
        else:
            intake.observe(st, source, result, started)
            payload = intake.answer_body(result, n)
        start: Message = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-length", str(len(payload)).encode()),
                (b"content-type", ctype),
                *extra,
                (b"x-request-id", rid.encode()),
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": payload, "more_body": False})
        log.info(
            "request",
            method="POST",
            path=scope["path"],
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            request_id=rid,
        )

    @staticmethod
    def _problem(
        scope: Scope, status: int, title: str, detail: str, field: str | None
    ) -> tuple[bytes, bytes]:
        """A problem+json body; on ``/api/v2/`` the one-line JSON string Alertmanager sends."""
        body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
        body["detail"] = detail
        if field:
            body["field"] = field
        raw = orjson.dumps(body)
        if scope["path"].startswith("/api/v2/"):
            return b"application/json", json.dumps(error_text(raw)).encode()
        return b"application/problem+json", raw

    async def _whole(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        """Serve through the whole stack, the body already read handed over again."""
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await super().__call__(scope, replay, send)
