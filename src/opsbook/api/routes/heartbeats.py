"""Heartbeat routes: ping (from cron, a backup job, …), list; and the intake hook that turns a
bound always-firing alert (``Watchdog``) into a ping. The logic is in ``flows.heartbeats``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from opsbook.api.auth import Principal, require_intake, require_role, state_of
from opsbook.api.state import AppState
from opsbook.core.clock import isoformat
from opsbook.flows import heartbeats as flows
from opsbook.intake.models import AlertIn
from opsbook.storage.db import translate_errors

router = APIRouter(tags=["heartbeats"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    403: {"description": "not an intake token (ping), or not this heartbeat's integration"},
    404: {"description": "no such heartbeat in this tenant"},
}


class PingAnswer(BaseModel):
    status: str = "ok"
    heartbeat: str
    state: str
    last_ping_at: str | None
    due_at: str | None


def _ping(st: AppState, p: Principal, name: str) -> PingAnswer:
    now = st.clock.now()
    with translate_errors(), st.sessions.begin() as s:
        row = flows.ping(s, st.config, p.tenant, name, now, via="api",
                         integration=p.integration, finder=st.catalog.match)  # fmt: skip
        flows.ensure_chain(s, st.config, now)  # a heartbeat added by a reload starts its sweep
        hb = flows.find(st.config, p.tenant, name)
        return PingAnswer(heartbeat=name, state=row.status, last_ping_at=isoformat(row.last_ping_at),
                          due_at=isoformat(flows.due_at(row, hb)))  # fmt: skip


@router.post("/api/v1/heartbeats/{name}/ping", response_model=PingAnswer, responses=_ERRORS)
async def ping_post(
    name: str, request: Request, p: Principal = Depends(require_intake)
) -> PingAnswer:
    """Ping a heartbeat (``curl -fsS -X POST -H "Authorization: Bearer $TOKEN" …/ping``); an
    intake token of its tenant (``curl -u :$TOKEN`` works too). A late one resolves."""
    return await run_in_threadpool(_ping, state_of(request), p, name)


@router.get("/api/v1/heartbeats/{name}/ping", response_model=PingAnswer, responses=_ERRORS)
async def ping_get(
    name: str, request: Request, p: Principal = Depends(require_intake)
) -> PingAnswer:
    """The same ping for senders that can only GET (uptime monitors, ``wget -q``)."""
    return await run_in_threadpool(_ping, state_of(request), p, name)


@router.get("/api/v1/heartbeats", responses=_ERRORS)
def list_heartbeats(
    request: Request, p: Principal = Depends(require_role("viewer"))
) -> list[dict[str, Any]]:
    """The tenant's heartbeats: state (waiting, up, late), last ping, when the next is due."""
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        return list(flows.views(s, st.config, p.tenant, st.clock.now()))


def _record(st: AppState, p: Principal, names: Sequence[str], via: str) -> None:
    now = st.clock.now()
    with translate_errors(), st.sessions.begin() as s:
        for name in names:
            flows.ping(s, st.config, p.tenant, name, now, via=via,
                       integration=p.integration, finder=st.catalog.match)  # fmt: skip
        flows.ensure_chain(s, st.config, now)


async def take_pings(request: Request, p: Principal, alerts: list[AlertIn]) -> list[AlertIn]:
    """Intake's hook: a heartbeat's bound alert (``Watchdog``) is a ping, stored before the
    answer, and opens no incident; the other alerts are returned for ingest. Free when no
    heartbeat is configured."""
    st = state_of(request)
    if not st.config.heartbeats:
        return alerts
    rest, names = flows.take_pings(st.config, p.tenant, p.integration, alerts)
    if names:
        bound = {a.alertname for a in alerts} - {a.alertname for a in rest}
        await run_in_threadpool(_record, st, p, names, "alert:" + ",".join(sorted(bound)))
    return rest
