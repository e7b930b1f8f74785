"""The on-call page of the web UI: ``/ui/oncall``, and its override forms.

For each schedule of the tenant: who is on call now and who is next, a two-week view (one row
per local day of the schedule's time zone, with that day's shifts), the overrides that have not
ended, with a remove button each, and a form to add one. The shifts come from
``opsbook.escalation.schedules.shifts`` with the stored overrides (``overrides_for``), exactly as
the API and the escalation engine see them.

The forms are for responders and above (the API's ``require_role("responder")``); viewers see
none. Every post checks the session's CSRF token first, then applies the API's rules: the
schedule exists in the tenant, the user (and the person replaced) exist in the tenant, the end
is after the start and an override lasts at most 90 days. ``datetime-local`` inputs carry no
zone, so they are read in the schedule's time zone, which the form says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from opsbook.api.auth import state_of
from opsbook.api.routes.oncall import OverrideIn, check_override_times
from opsbook.api.state import AppState
from opsbook.config.oncall import Schedule
from opsbook.core.clock import utc
from opsbook.core.errors import InputError, NotFound, OpsbookError
from opsbook.core.ids import new_id
from opsbook.escalation.schedules import OVERRIDE_LAYER, Override, Shift, oncall_at, shifts
from opsbook.flows.escalation import overrides_for
from opsbook.storage.db import translate_errors
from opsbook.storage.tables import ScheduleOverride
from opsbook.web.auth import CsrfRejected, check_csrf, read_form, require, signed_in
from opsbook.web.pages import base, error_page, status_of, to_login
from opsbook.web.render import page
from opsbook.web.sessions import SignedIn

router = APIRouter()

DAYS = 14
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
"""What a ``datetime-local`` input holds (seconds are accepted on input too)."""


@dataclass(frozen=True)
class Segment:
    """Part of one shift within one local day: ``user`` from ``start`` to ``end`` (``HH:MM``)."""

    user: str
    start: str
    end: str
    layer: str
    is_override: bool
    is_now: bool


@dataclass(frozen=True)
class Day:
    """One row of the two-week view."""

    day: date
    is_today: bool
    segments: list[Segment]


@dataclass(frozen=True)
class OverrideRow:
    """A stored override that has not ended."""

    id: str
    user: str
    replaces: str | None
    start: datetime
    end: datetime
    start_local: str
    end_local: str
    created_by: str
    active: bool


@dataclass
class ScheduleView:
    """Everything shown for one schedule."""

    name: str
    timezone: str
    now: list[str]
    until: datetime | None
    until_local: str | None
    next: Shift | None
    next_local: str | None
    days: list[Day]
    overrides: list[OverrideRow] = field(default_factory=list)


def local(t: datetime, zone: ZoneInfo) -> str:
    """``2026-01-05 09:00`` in the schedule's zone."""
    return t.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def two_weeks(
    sch: Schedule, now: datetime, overrides: list[Override], days: int = DAYS
) -> list[Day]:
    """``days`` local days from today, each with the shifts that touch it (clipped to the day)."""
    zone = sch.zone
    today = now.astimezone(zone).date()
    first, last = _midnight(today, zone), _midnight(today + timedelta(days=days), zone)
    timeline = shifts(sch, first, last, overrides)
    out: list[Day] = []
    for n in range(days):
        day = today + timedelta(days=n)
        lo, hi = _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
        segments = [
            Segment(
                user=x.user,
                start=max(x.start, lo).astimezone(zone).strftime("%H:%M"),
                end="24:00" if x.end >= hi else x.end.astimezone(zone).strftime("%H:%M"),
                layer=x.layer,
                is_override=x.layer == OVERRIDE_LAYER,
                is_now=x.start <= now < x.end,
            )
            for x in timeline
            if x.start < hi and x.end > lo
        ]
        out.append(Day(day=day, is_today=n == 0, segments=segments))
    return out


def now_and_next(
    sch: Schedule, now: datetime, overrides: list[Override], days: int = DAYS
) -> tuple[list[str], datetime | None, Shift | None]:
    """(who is on call now, until when, the next shift of someone else) within ``days``.

    ``until`` is None when nobody is on call now; a hand-off beyond the horizon shows as the
    horizon itself."""
    current = oncall_at(sch, now, overrides)
    ahead = shifts(sch, now, now + timedelta(days=days), overrides)
    i, until = 0, None
    if current and ahead and ahead[0].start <= now:
        until = ahead[0].end
        i = 1
        while i < len(ahead) and ahead[i].user == current[0] and ahead[i].start == until:
            until, i = ahead[i].end, i + 1
    return current, until, ahead[i] if i < len(ahead) else None


def _override_rows(
    st: AppState, tenant: str, now: datetime
) -> tuple[list[Override], dict[str, list[OverrideRow]]]:
    """The overrides as the schedule code reads them, and the stored rows that have not ended."""
    zones = {x.name: x.zone for x in st.config.schedules if x.tenant == tenant}
    with translate_errors(), st.sessions() as s:
        mine = overrides_for(s, tenant)
        rows = s.scalars(
            select(ScheduleOverride)
            .where(ScheduleOverride.tenant == tenant, ScheduleOverride.ends_at > now)
            .order_by(ScheduleOverride.starts_at, ScheduleOverride.id)
        ).all()
    listed: dict[str, list[OverrideRow]] = {}
    for o in rows:
        zone = zones.get(o.schedule)
        if zone is None:  # a schedule removed from the config since
            continue
        start, end = o.starts_at.astimezone(UTC), o.ends_at.astimezone(UTC)
        listed.setdefault(o.schedule, []).append(
            OverrideRow(
                id=o.id,
                user=o.user_name,
                replaces=o.replaces,
                start=start,
                end=end,
                start_local=local(start, zone),
                end_local=local(end, zone),
                created_by=o.created_by,
                active=start <= now,
            )
        )
    return mine, listed


def oncall_context(st: AppState, who: SignedIn) -> dict[str, Any]:
    """The page: a view per schedule of the tenant, the tenant's users for the forms."""
    now = st.clock.now()
    overrides, listed = _override_rows(st, who.tenant, now)
    views = []
    for sch in (x for x in st.config.schedules if x.tenant == who.tenant):
        mine = [o for o in overrides if o.schedule == sch.name]
        current, until, upcoming = now_and_next(sch, now, mine)
        views.append(
            ScheduleView(
                name=sch.name,
                timezone=sch.timezone,
                now=current,
                until=until,
                until_local=local(until, sch.zone) if until else None,
                next=upcoming,
                next_local=local(upcoming.start, sch.zone) if upcoming else None,
                days=two_weeks(sch, now, mine),
                overrides=listed.get(sch.name, []),
            )
        )
    return {
        **base(who),
        "now": now,
        "schedules": views,
        "users": sorted(u.name for u in st.config.users if u.tenant == who.tenant),
        "default_start": {
            v.name: now.astimezone(ZoneInfo(v.timezone)).strftime(LOCAL_FORMAT) for v in views
        },
        "horizon": now + timedelta(days=DAYS),
        "days": DAYS,
    }


def _schedule(st: AppState, tenant: str, name: str) -> Schedule:
    sch = st.config.schedule(tenant, name)
    if sch is None:
        raise NotFound(
            f"no schedule {name!r}; schedules are declared in opsbook.yaml", field="schedule"
        )
    return sch


def _check_user(st: AppState, tenant: str, user: str | None, field: str) -> None:
    if user is not None and st.config.user(tenant, user) is None:
        raise InputError(f"unknown user {user!r} in this tenant", field=field)


def _when(form: dict[str, str], key: str, label: str, zone: ZoneInfo) -> datetime:
    """A ``datetime-local`` value read as wall time in the schedule's zone."""
    raw = form.get(key, "").strip()
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(
            f"{label}: give a date and time, like 2026-01-05T09:00", field=key
        ) from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=zone)


def parse_override(st: AppState, tenant: str, sch: Schedule, form: dict[str, str]) -> OverrideIn:
    """The form as the API's ``OverrideIn``, checked by the same rules as the API route."""
    user = form.get("user", "").strip()
    replaces = form.get("replaces", "").strip() or None
    if not user:
        raise InputError("choose who covers the shift", field="user")
    start = _when(form, "start", "from", sch.zone)
    end = _when(form, "end", "to", sch.zone)
    try:
        body = OverrideIn(user=user, replaces=replaces, start=start, end=end)
    except ValidationError as exc:
        msg = str(exc.errors()[0].get("msg", "invalid override")).removeprefix("Value error, ")
        raise InputError(msg) from None
    check_override_times(body, st.clock.now())
    _check_user(st, tenant, body.user, "user")
    _check_user(st, tenant, body.replaces, "replaces")
    return body


def render_oncall(
    request: Request,
    who: SignedIn,
    *,
    error: str | None = None,
    error_schedule: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The page, with an optional error shown at the schedule whose form failed."""
    try:
        ctx = oncall_context(state_of(request), who)
    except OpsbookError as exc:
        return error_page(request, who, exc)
    ctx.update(error=error, error_schedule=error_schedule, form=form or {})
    return page("oncall.html", ctx, status=status)


@router.get("/oncall")
async def oncall_page(request: Request) -> Response:
    """Who is on call now and next for each schedule, the next two weeks, overrides."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    return await run_in_threadpool(render_oncall, request, who)


Change = Callable[[AppState, SignedIn, str, Schedule, dict[str, str]], None]
"""A form's effect: (state, who, actor, schedule, form); raises an OpsbookError to refuse."""


async def _post(request: Request, name: str, change: Change) -> Response:
    """Session, CSRF, role (responder), the change in one transaction, then back to the page."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    form = await read_form(request)
    try:
        check_csrf(who, form)
    except CsrfRejected:
        return page("forbidden.html", {"who": who}, status=403)
    st = state_of(request)
    schedule = name[:128]

    def run() -> None:
        p = require(who, "responder")
        sch = _schedule(st, who.tenant, schedule)
        change(st, who, p.actor, sch, form)

    try:
        await run_in_threadpool(run)
    except OpsbookError as exc:
        detail, code = exc.detail, status_of(exc)
        if code == 403:
            return error_page(request, who, exc)
        return await run_in_threadpool(
            lambda: render_oncall(
                request, who, error=detail, error_schedule=schedule, form=form, status=code
            )
        )
    return RedirectResponse(f"/ui/oncall#schedule-{schedule}", status_code=303)


@router.post("/oncall/{name}/overrides")
async def add_override(request: Request, name: str) -> Response:
    """Someone covers a shift: the same override ``POST /api/v1/schedules/{name}/overrides`` adds."""

    def change(
        st: AppState, who: SignedIn, actor: str, sch: Schedule, form: dict[str, str]
    ) -> None:
        body = parse_override(st, who.tenant, sch, form)
        with translate_errors(), st.sessions.begin() as s:
            s.add(
                ScheduleOverride(
                    id=new_id("ovr"),
                    tenant=who.tenant,
                    schedule=sch.name,
                    user_name=body.user,
                    replaces=body.replaces,
                    starts_at=utc(body.start),
                    ends_at=utc(body.end),
                    created_by=actor,
                    created_at=st.clock.now(),
                )
            )

    return await _post(request, name, change)


@router.post("/oncall/{name}/overrides/{override_id}/remove")
async def remove_override(request: Request, name: str, override_id: str) -> Response:
    """Remove one override of this tenant's schedule (another tenant's id is not found)."""

    def change(
        st: AppState, who: SignedIn, actor: str, sch: Schedule, form: dict[str, str]
    ) -> None:
        with translate_errors(), st.sessions.begin() as s:
            row = s.scalars(
                select(ScheduleOverride).where(
                    ScheduleOverride.tenant == who.tenant,
                    ScheduleOverride.schedule == sch.name,
                    ScheduleOverride.id == override_id[:64],
                )
            ).first()
            if row is None:
                raise NotFound(f"no override {override_id[:64]!r} on schedule {sch.name!r}")
            s.delete(row)

    return await _post(request, name, change)
