"""Operational routes: liveness, readiness, Prometheus metrics, config reload."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response

from opsbook.api.auth import Principal, require_operator, state_of
from opsbook.api.state import AppState
from opsbook.core.errors import AuthError, ConfigError, PermissionDenied, StorageUnavailable
from opsbook.flows import backlog
from opsbook.storage.db import ping, write_probe

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive (no dependency is checked)."""
    return {"status": "ok"}


@router.get(
    "/readyz", responses={503: {"description": "database unreachable or not accepting writes"}}
)
async def readyz(request: Request) -> dict[str, str]:
    """Ready to take traffic: the database answers and would accept a write now (one is begun
    and rolled back, waiting at most a second for locks), since intake needs to commit.
    ``backlog`` says "deep" while unsent work waits too long (still 200: see ``_backlog``)."""
    st = state_of(request)
    try:
        await run_in_threadpool(ping, st.engine)
    except StorageUnavailable:
        raise StorageUnavailable("the database is unreachable", retry_after=5) from None
    await run_in_threadpool(write_probe, st.engine, 1.0)
    b = await run_in_threadpool(_backlog, st)
    return {
        "status": "ready",
        "database": st.engine.dialect.name,
        "backlog": "deep" if b.deep else "ok",
        "waiting": b.summary(),
    }


def _backlog(st: AppState) -> backlog.Backlog:
    """A deep backlog is reported, not refused: every replica shares it, and a load balancer
    taking them all out would turn late pages into lost alerts."""
    with st.sessions() as s:
        return backlog.read(
            s, st.clock.now(), st.settings.backlog_deep_items, st.settings.backlog_deep_seconds
        )


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("testclient", "localhost")


@router.get(
    "/metrics",
    responses={
        401: {"description": "metrics token required"},
        403: {"description": "remote without token"},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus text format. Needs OPSBOOK_METRICS_TOKEN as a bearer token, or a loopback client when unset."""
    st = state_of(request)
    expected = st.settings.metrics_token
    if expected is not None:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), expected.get_secret_value().encode()):
            raise AuthError("send OPSBOOK_METRICS_TOKEN as a bearer token to read /metrics")
    elif not _loopback(request):
        raise PermissionDenied("set OPSBOOK_METRICS_TOKEN to scrape /metrics from another host")
    body = await run_in_threadpool(generate_latest, st.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.post(
    "/-/reload",
    responses={
        403: {"description": "not an operator token (a tenant's admin may not reload)"},
        422: {"description": "new config invalid; old one kept"},
    },
)
async def reload(request: Request, p: Principal = Depends(require_operator)) -> JSONResponse:
    """Re-read opsbook.yaml (as SIGHUP does), for every tenant: an operator token only
    (`opsbook tokens create --operator`). An invalid file keeps the running config."""
    ok, message = await run_in_threadpool(state_of(request).reload, p.actor)
    if not ok:
        raise ConfigError(message)
    return JSONResponse({"status": "reloaded", "detail": message})
