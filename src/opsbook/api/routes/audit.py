"""The audit log for a tenant's admins (keyset pages) and erasure requests (data-subject rights)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Query, Request
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.flows import audit as flows
from opsbook.flows.erasure import erase_person
from opsbook.flows.retention import purge_totals
from opsbook.storage.db import translate_errors

router = APIRouter(tags=["audit"])
log = structlog.get_logger("opsbook.audit")


class AuditPage(BaseModel):
    items: list[dict[str, Any]]
    next: int | None = Field(description="pass as `after` for the next page; null at the end")


@router.get(
    "/api/v1/audit",
    response_model=AuditPage,
    responses={403: {"description": "not an admin token"}},
)
def audit_log(
    request: Request,
    after: int = Query(0, ge=0, le=2**62, description="entries after this sequence number"),
    limit: int = Query(100, ge=1, le=500),
    since: datetime | None = Query(None, description="only entries at or after this time"),
    action: str | None = Query(None, max_length=48, pattern=r"^[a-z_.]+$"),
    p: Principal = Depends(require_role("admin")),
) -> AuditPage:
    """This tenant's audit entries, oldest first: who did which security-relevant act, when."""
    with translate_errors(), state_of(request).sessions() as s:
        items = flows.page(s, tenant=p.tenant, after=after, limit=limit, since=since, action=action)
    return AuditPage(items=items, next=items[-1]["seq"] if len(items) == limit else None)


class ErasureIn(BaseModel):
    person: str = Field(min_length=1, max_length=320, description="a user name or email address")
    dry_run: bool = Field(default=False, description="report what would change, change nothing")


@router.post(
    "/api/v1/erasures",
    responses={403: {"description": "not an admin token"}, 404: {"description": "nobody so named"}},
)
def erase(
    request: Request, body: ErasureIn, p: Principal = Depends(require_role("admin"))
) -> dict[str, Any]:
    """Erase a person of this tenant (a user or a status-page subscriber): their account rows go,
    every mention becomes one stable pseudonym; the answer lists what changed, table by table."""
    st = state_of(request)
    with translate_errors():
        s = st.sessions()
        try:
            result = erase_person(
                s,
                st.config,
                tenant=p.tenant,
                who=body.person,
                actor=p.actor,
                now=st.clock.now(),
                dry_run=body.dry_run,
            )
            if body.dry_run:
                s.rollback()
            else:
                s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
    if not body.dry_run:
        request.app.state.token_cache.clear()  # revoked tokens stop at once
    return result.to_dict()


class PurgeCounters(Collector):
    """``opsbook_retention_purged_rows_total{tenant,kind}`` and ``…_purges_total`` from the
    purge records, so every replica reports the same totals and they survive restarts."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[CounterMetricFamily]:
        rows = CounterMetricFamily(
            "opsbook_retention_purged_rows", "Rows removed by retention", labels=["tenant", "kind"]
        )
        runs = CounterMetricFamily(
            "opsbook_retention_purges",
            "Retention purges that removed rows",
            labels=["tenant", "kind"],
        )
        try:
            with self.sessions() as s:
                for tenant, kind, n, count in purge_totals(s):
                    rows.add_metric([tenant, kind], n)
                    runs.add_metric([tenant, kind], count)
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even when storage is down
            log.warning("purge_counters_unavailable", error=str(exc))
        yield from (rows, runs)
