"""On call: who is on call now or at any time, the shifts ahead, overrides, an iCalendar feed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from starlette.responses import Response

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.params import check_time
from opsbook.config.oncall import Schedule
from opsbook.core.clock import utc
from opsbook.core.errors import InputError, NotFound
from opsbook.core.ids import new_id
from opsbook.escalation.ics import ics
from opsbook.escalation.schedules import Override, oncall_at, shifts
from opsbook.flows.escalation import overrides_for
from opsbook.storage.db import translate_errors
from opsbook.storage.tables import ScheduleOverride

router = APIRouter(prefix="/api/v1", tags=["on-call"])


class ShiftOut(BaseModel):
    user: str
    start: datetime
    end: datetime
    layer: str


class OnCallOut(BaseModel):
    schedule: str
    timezone: str
    at: datetime
    on_call: list[str]
    next: list[ShiftOut]


class OverrideIn(BaseModel):
    user: str = Field(min_length=1, max_length=128)
    replaces: str | None = Field(
        default=None, max_length=128, description="only this person's time"
    )
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _order(self) -> OverrideIn:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a time zone, e.g. 2026-01-05T09:00:00Z")
        try:
            length = self.end - self.start
        except OverflowError:  # zone offsets past year 1 or 9999
            raise ValueError("start or end is out of range") from None
        if length <= timedelta(0):
            raise ValueError("end must be after start")
        if length > timedelta(days=90):
            raise ValueError("an override lasts at most 90 days")
        return self


def check_override_times(body: OverrideIn, now: datetime) -> None:
    """Both ends within the request bounds (a year-9999 override would break every read)."""
    check_time(body.start, "start", now)
    check_time(body.end, "end", now)


class OverrideOut(OverrideIn):
    id: str
    schedule: str
    created_by: str


def _schedule(request: Request, tenant: str, name: str) -> Schedule:
    sch = state_of(request).config.schedule(tenant, name)
    if sch is None:
        raise NotFound(
            f"no schedule {name!r}; schedules are declared in opsbook.yaml", field="schedule"
        )
    return sch


def _overrides(request: Request, tenant: str) -> list[Override]:
    with translate_errors(), state_of(request).sessions() as s:
        return overrides_for(s, tenant)


@router.get("/oncall", response_model=list[OnCallOut])
def who_is_on_call(
    request: Request,
    schedule: Annotated[str | None, Query(max_length=128)] = None,
    at: Annotated[datetime | None, Query(description="default: now")] = None,
    days: Annotated[int, Query(ge=0, le=90, description="shifts to list ahead")] = 14,
    p: Principal = Depends(require_role("viewer")),
) -> list[OnCallOut]:
    """Who is on call at ``at`` for each schedule (or one), and the shifts in the next ``days``."""
    st = state_of(request)
    now = st.clock.now()
    when = check_time(at, "at", now) if at else now
    chosen = (
        [_schedule(request, p.tenant, schedule)]
        if schedule
        else [x for x in st.config.schedules if x.tenant == p.tenant]
    )
    overrides = _overrides(request, p.tenant)
    out = []
    for sch in chosen:
        mine = [o for o in overrides if o.schedule == sch.name]
        ahead = shifts(sch, when, when + timedelta(days=days), mine) if days else []
        out.append(
            OnCallOut(
                schedule=sch.name,
                timezone=sch.timezone,
                at=when,
                on_call=oncall_at(sch, when, mine),
                next=[
                    ShiftOut(user=x.user, start=x.start, end=x.end, layer=x.layer) for x in ahead
                ],
            )
        )
    return out


@router.get(
    "/schedules/{name}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def calendar(
    request: Request,
    name: str,
    user: Annotated[str | None, Query(max_length=128)] = None,
    days: Annotated[int, Query(ge=1, le=180)] = 60,
    p: Principal = Depends(require_role("viewer")),
) -> Response:
    """An iCalendar feed of the schedule's shifts (or one person's) to subscribe to."""
    st = state_of(request)
    sch = _schedule(request, p.tenant, name)
    now = st.clock.now()
    mine = [o for o in _overrides(request, p.tenant) if o.schedule == name]
    text = ics(
        sch, shifts(sch, now - timedelta(days=7), now + timedelta(days=days), mine), user, stamp=now
    )
    return Response(text, media_type="text/calendar; charset=utf-8")


def _check_user(request: Request, tenant: str, user: str | None, field: str) -> None:
    if user is not None and state_of(request).config.user(tenant, user) is None:
        raise InputError(f"unknown user {user!r} in this tenant", field=field)


@router.post("/schedules/{name}/overrides", response_model=OverrideOut, status_code=201)
def add_override(
    request: Request, name: str, body: OverrideIn, p: Principal = Depends(require_role("responder"))
) -> OverrideOut:
    """Someone covers a shift: "bob covers alice from … to …"."""
    st = state_of(request)
    _schedule(request, p.tenant, name)
    check_override_times(body, st.clock.now())
    _check_user(request, p.tenant, body.user, "user")
    _check_user(request, p.tenant, body.replaces, "replaces")
    row = ScheduleOverride(
        id=new_id("ovr"),
        tenant=p.tenant,
        schedule=name,
        user_name=body.user,
        replaces=body.replaces,
        starts_at=utc(body.start),
        ends_at=utc(body.end),
        created_by=p.actor,
        created_at=st.clock.now(),
    )
    with translate_errors(), st.sessions.begin() as s:
        s.add(row)
    return OverrideOut(
        id=row.id,
        schedule=name,
        created_by=p.actor,
        user=body.user,
        replaces=body.replaces,
        start=row.starts_at,
        end=row.ends_at,
    )


@router.get("/schedules/{name}/overrides", response_model=list[OverrideOut])
def list_overrides(
    request: Request, name: str, p: Principal = Depends(require_role("viewer"))
) -> list[OverrideOut]:
    _schedule(request, p.tenant, name)
    with translate_errors(), state_of(request).sessions() as s:
        rows = s.scalars(
            select(ScheduleOverride)
            .where(ScheduleOverride.tenant == p.tenant, ScheduleOverride.schedule == name)
            .order_by(ScheduleOverride.starts_at)
        )
        return [
            OverrideOut(
                id=o.id,
                schedule=name,
                created_by=o.created_by,
                user=o.user_name,
                replaces=o.replaces,
                start=o.starts_at,
                end=o.ends_at,
            )
            for o in rows
        ]


@router.delete(
    "/schedules/{name}/overrides/{override_id}", status_code=204, response_class=Response
)
def delete_override(
    request: Request, name: str, override_id: str, p: Principal = Depends(require_role("responder"))
) -> Response:
    with translate_errors(), state_of(request).sessions.begin() as s:
        row = s.scalars(
            select(ScheduleOverride).where(
                ScheduleOverride.tenant == p.tenant,
                ScheduleOverride.schedule == name,
                ScheduleOverride.id == override_id,
            )
        ).first()
        if row is None:
            raise NotFound(f"no override {override_id!r} on schedule {name!r}")
        s.delete(row)
    return Response(status_code=204)
