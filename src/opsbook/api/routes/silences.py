"""Silences and maintenance windows API: list, create, expire, preview; one-off windows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.params import check_duration, check_optional_time, check_time
from opsbook.config.durations import Duration
from opsbook.flows import silences as flows
from opsbook.silences.models import SilenceState, format_matcher
from opsbook.storage.db import translate_errors
from opsbook.storage.tables_comms import MaintenanceRow, SilenceRow

router = APIRouter(tags=["silences"])
T = TypeVar("T")
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    403: {"description": "role too low (force needs admin)"},
    404: {"description": "no such object in this tenant"},
}


def _tx(request: Request, fn: Callable[[Session], T]) -> T:
    with translate_errors(), state_of(request).sessions.begin() as s:
        return fn(s)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SilenceIn(_In):
    """Alertmanager's silence shape; matchers as text (``job="api"``, ``env=~"prod|stage"``)."""

    matchers: list[Annotated[str, Field(max_length=1000)]] = Field(min_length=1, max_length=50)
    starts_at: datetime | None = Field(default=None, alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    comment: str = Field(default="", max_length=2000)
    force: bool = Field(default=False, description="admin only: skip the guardrails")


class SilenceOut(BaseModel):
    id: str
    matchers: list[str]
    startsAt: datetime
    endsAt: datetime
    createdBy: str
    comment: str
    status: dict[str, str]
    forced: bool
    expiredBy: str | None

    @classmethod
    def of(cls, row: SilenceRow, now: datetime) -> SilenceOut:
        sil = flows.to_silence(row)
        return cls(
            id=row.id,
            matchers=[format_matcher(m) for m in sil.matchers],
            startsAt=row.starts_at,
            endsAt=row.ends_at,
            createdBy=row.created_by,
            comment=row.comment,
            status={"state": sil.state(now).value},
            forced=row.forced,
            expiredBy=row.expired_by,
        )


class PreviewOut(BaseModel):
    matchers: list[str]
    alerts: list[dict[str, Any]]
    scanned: int = Field(description="firing alerts looked at (the most recent first)")
    complete: bool = Field(description="false when the preview stopped at its work bound")


@router.get("/api/v1/silences", response_model=list[SilenceOut], responses=_ERRORS)
def list_silences(
    request: Request,
    state: Annotated[SilenceState | None, Query()] = None,
    p: Principal = Depends(require_role("viewer")),
) -> list[SilenceOut]:
    """The tenant's silences, latest end first; filter by pending/active/expired."""
    now = state_of(request).clock.now()
    out = _tx(request, lambda s: [SilenceOut.of(r, now) for r in flows.list_silences(s, p.tenant)])
    return [o for o in out if state is None or o.status["state"] == state.value]


@router.post("/api/v1/silences", response_model=SilenceOut, status_code=201, responses=_ERRORS)
def create_silence(
    request: Request, body: SilenceIn, p: Principal = Depends(require_role("responder"))
) -> SilenceOut:
    """Create a silence. Matching alerts are stored but open no incident and page nobody."""
    st = state_of(request)
    now = st.clock.now()
    return _tx(
        request,
        lambda s: SilenceOut.of(
            flows.create_silence(
                s,
                st.config,
                p.tenant,
                p.actor,
                p.role or "viewer",
                now,
                matchers=body.matchers,
                starts_at=check_optional_time(body.starts_at, "startsAt", now),
                ends_at=check_time(body.ends_at, "endsAt", now),
                comment=body.comment,
                force=body.force,
            ),
            now,
        ),
    )


@router.get("/api/v1/silences/preview", response_model=PreviewOut, responses=_ERRORS)
def preview(
    request: Request,
    matchers: Annotated[list[str], Query(max_length=50, description='repeat: job="api"')] = [],  # noqa: B006
    p: Principal = Depends(require_role("viewer")),
) -> PreviewOut:
    """Firing alerts a silence with these matchers would match now (none given: all firing).

    Regexes run on RE2 (linear time); at most the 2,000 most recent firing alerts are looked at.
    """
    found = _tx(request, lambda s: flows.preview_bounded(s, p.tenant, matchers))
    return PreviewOut(
        matchers=matchers, alerts=found.alerts, scanned=found.scanned, complete=found.complete
    )


@router.delete("/api/v1/silences/{silence_id}", response_model=SilenceOut, responses=_ERRORS)
def expire_silence(
    request: Request, silence_id: str, p: Principal = Depends(require_role("responder"))
) -> SilenceOut:
    """Expire a silence now (it is kept, with who expired it)."""
    now = state_of(request).clock.now()
    return _tx(
        request,
        lambda s: SilenceOut.of(flows.expire_silence(s, p.tenant, silence_id, p.actor, now), now),
    )


class WindowIn(_In):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_. -]{0,62}$")
    description: str = Field(default="", max_length=2000)
    services: list[Annotated[str, Field(max_length=128)]] = Field(default=[], max_length=100)
    components: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=100)
    start: datetime
    end: datetime
    notify_before: Duration = timedelta(hours=1)


class WindowOut(BaseModel):
    id: str | None
    name: str
    source: str  # api | config
    description: str
    services: list[str]
    components: list[str]
    start: datetime | None
    end: datetime | None
    cron: str | None = None
    timezone: str = "UTC"
    active: bool
    next: list[tuple[datetime, datetime]]


@router.get("/api/v1/maintenance", response_model=list[WindowOut], responses=_ERRORS)
def list_windows(
    request: Request, p: Principal = Depends(require_role("viewer"))
) -> list[WindowOut]:
    """The tenant's maintenance windows (config and API) with their next occurrences."""
    st = state_of(request)
    now = st.clock.now()

    def run(s: Session) -> list[WindowOut]:
        out = []
        for w in flows.all_windows(s, st.config, p.tenant, now):
            out.append(
                WindowOut(
                    id=w.id,
                    name=w.name,
                    source="api" if w.id else "config",
                    description=w.description,
                    services=list(w.services),
                    components=list(w.components),
                    start=w.start,
                    end=w.end,
                    cron=w.cron,
                    timezone=w.timezone,
                    active=w.active_at(now) is not None,
                    next=w.occurrences(now, now + timedelta(days=30))[:5],
                )
            )
        return out

    return _tx(request, run)


@router.post("/api/v1/maintenance", response_model=WindowOut, status_code=201, responses=_ERRORS)
def create_window(
    request: Request, body: WindowIn, p: Principal = Depends(require_role("commander"))
) -> WindowOut:
    """A one-off window: its services' alerts are silenced and its components show maintenance."""
    st = state_of(request)
    now = st.clock.now()

    def run(s: Session) -> WindowOut:
        row: MaintenanceRow = flows.create_window(
            s,
            st.config,
            p.tenant,
            p.actor,
            now,
            name=body.name,
            description=body.description,
            services=body.services,
            components=body.components,
            start=check_time(body.start, "start", now),
            end=check_time(body.end, "end", now),
            notify_before=check_duration(
                body.notify_before, "notify_before", least=timedelta(0), most=timedelta(days=30)
            ),
        )
        w = flows.to_window(row)
        return WindowOut(
            id=row.id,
            name=row.name,
            source="api",
            description=row.description,
            services=row.services,
            components=row.components,
            start=row.starts_at,
            end=row.ends_at,
            active=w.active_at(now) is not None,
            next=w.occurrences(now, now + timedelta(days=30)),
        )

    return _tx(request, run)


@router.delete("/api/v1/maintenance/{window_id}", status_code=204, responses=_ERRORS)
def delete_window(
    request: Request, window_id: str, p: Principal = Depends(require_role("commander"))
) -> None:
    """Remove a window made through the API (config windows change in the config file)."""
    _tx(request, lambda s: flows.delete_window(s, p.tenant, window_id))
