"""Escalation: start paging when an incident opens, tick through the frozen policy, stop on ack.

The policy is frozen into a snapshot on the incident when paging starts. Ticks are durable jobs
carrying a fencing token; ``next_action(snapshot, state, now)`` (pure) says what to do, and the
state is stored with the new token before anyone is paged, so a duplicated or late tick pages
nobody twice. A tick that runs late (the process was down) runs on start and says how late.

Fencing (DESIGN §6.5): an acknowledgement or resolution bumps the escalation's token in the
transaction that changes the incident (``stop_paging``). A tick first locks the incident, then
claims the escalation with a compare-and-set on the token it carries (``_claim``); the claim, the
new state and the pages it queues commit together. So an acknowledgement that committed before
the claim makes it match nothing and the tick pages nobody, on SQLite (the claim takes the write
lock before anything is read for the decision) and on PostgreSQL (both sides lock the incident,
then the escalation: one order, no deadlock). A page queued before the acknowledgement is not
sent after it: the outbox checks the escalation again when it takes the delivery.

Ticks run in the ``page`` job lane at the incident's severity (P0 first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config
from opsbook.core.clock import Clock
from opsbook.escalation.policy import Done, NotifyLevel, Snapshot, State, Wait, apply, next_action
from opsbook.escalation.policy import acknowledge as ack_state
from opsbook.escalation.policy import resolve as resolve_state
from opsbook.escalation.schedules import Override
from opsbook.escalation.targets import UnknownSchedule, resolve_targets
from opsbook.flows.figures import note_level
from opsbook.incidents.models import EntryKind, Severity
from opsbook.jobs.worker import JobKind
from opsbook.storage import jobs, repos
from opsbook.storage.tables import Escalation, Incident, Job, ScheduleOverride, TimelineEntry

log = structlog.get_logger("opsbook.escalation")
ESCALATE_JOB = "escalate"
UNPAGED_LOOKBACK = timedelta(days=1)
"""How far back ``note_unpaged_breaches`` looks for deadlines that passed with nobody paged."""


class Pager(Protocol):
    """Queues the notifications of one page to one user (``flows.outbox.queue_page``)."""

    def __call__(
        self, s: Session, incident: Incident, user: str, level: int, seq: int, now: datetime
    ) -> object:
        """Queue the page; a list (the deliveries) when it can tell, empty if nobody is reached."""


def policy_name(
    config: Config, tenant: str, service: str, severity: str, route_index: int | None
) -> str | None:
    """The route's policy for this severity if it names one, else the service's."""
    if route_index is not None and 0 <= route_index < len(config.routes):
        override = config.routes[route_index].escalation_policy
        if isinstance(override, str):
            return override
        if isinstance(override, dict) and Severity(severity) in override:
            return override[Severity(severity)]
    svc = config.service(tenant, service)
    return svc.escalation_policy if svc else None


def paging_rows(
    config: Config,
    tenant: str,
    incident_id: str,
    service: str,
    severity: str,
    now: datetime,
    route_index: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The escalation row and its first tick for a new incident, or None when it pages nobody."""
    name = policy_name(config, tenant, service, severity, route_index)
    if not name:
        return None
    policy = config.policy(tenant, name)
    if policy is None:
        return None
    snap = Snapshot.freeze(
        policy, severity=severity, ack_window=config.ack_window(Severity(severity)), started_at=now
    )
    row = {
        "incident_id": incident_id,
        "tenant": tenant,
        "policy": policy.name,
        "snapshot": snap.model_dump(mode="json"),
        "state": State().model_dump(mode="json"),
        "token": 0,
        "started_at": now,
        "updated_at": now,
        "done_reason": None,
    }
    return row, jobs.job_row(
        tenant,
        ESCALATE_JOB,
        {"incident_id": incident_id, "token": 1},
        now,
        priority=jobs.severity_priority(severity),
        lane=jobs.PAGE_LANE,
        incident_id=incident_id,
    )


def nobody_paged_reason(
    config: Config, tenant: str, service: str, severity: str, route_index: int | None = None
) -> str:
    """Why an incident of ``service`` pages nobody, in words a person can act on."""
    name = policy_name(config, tenant, service, severity, route_index)
    if not name:
        return (
            f"service {service} has no escalation_policy in the config "
            "(add one, with a schedule, to page someone)"
        )
    return f"escalation policy {name!r} of service {service} does not exist in tenant {tenant}"


def start_paging(s: Session, config: Config, inc: Incident, now: datetime) -> bool:
    """Freeze the service's policy onto ``inc`` and queue the first tick (ORM path, e.g. declare)."""
    rows = paging_rows(config, inc.tenant, inc.id, inc.service, inc.severity, now)
    if rows is None:
        return False
    s.add(Escalation(**rows[0]))
    s.add(Job(**rows[1]))
    return True


def stop_paging(s: Session, tenant: str, incident_id: str, reason: str, now: datetime) -> None:
    """Acknowledged or resolved: mark the state so every scheduled tick is stale."""
    esc = s.scalars(
        select(Escalation)
        .where(Escalation.tenant == tenant, Escalation.incident_id == incident_id)
        .with_for_update()
    ).first()
    if esc is None or esc.done_reason is not None:
        return
    state = State.model_validate(esc.state)
    new = ack_state(state) if reason == "acknowledged" else resolve_state(state)
    esc.state, esc.token, esc.updated_at, esc.done_reason = (
        new.model_dump(mode="json"),
        new.token,
        now,
        reason,
    )


def overrides_for(s: Session, tenant: str) -> list[Override]:
    # in creation order: where overrides overlap, the later one wins
    rows = s.scalars(
        select(ScheduleOverride)
        .where(ScheduleOverride.tenant == tenant)
        .order_by(ScheduleOverride.created_at, ScheduleOverride.id)
    )
    return [
        Override(
            schedule=o.schedule,
            user=o.user_name,
            start=o.starts_at,
            end=o.ends_at,
            replaces=o.replaces,
        )
        for o in rows
    ]


class Escalator:
    """Runs escalation ticks (the ``escalate`` job)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        clock: Clock,
        page: Pager,
    ) -> None:
        self.sessions, self.config, self.clock, self.page = sessions, config, clock, page

    def job_kinds(self) -> dict[str, JobKind]:
        # a tick is fenced by its token: running it again after a crash is always safe
        return {ESCALATE_JOB: JobKind(run=self.tick, on_expired=lambda _s, _j: True)}

    def tick(self, payload: Mapping[str, Any]) -> None:
        """Run the tick ``payload["token"]`` of one incident: page a level, wait, or stop."""
        incident_id, token = str(payload["incident_id"]), int(payload["token"])
        now = self.clock.now()
        config = self.config()
        with self.sessions.begin() as s:
            # lock order: the incident, then the escalation (as acknowledge/resolve take them)
            found = s.scalars(
                select(Incident).where(Incident.id == incident_id).with_for_update(key_share=True)
            ).first()
            if found is None or not _claim(s, incident_id, token, now):
                return  # stale or duplicated tick: someone acknowledged, or a level already fired
            esc = s.get(Escalation, incident_id, populate_existing=True)
            if esc is None:  # pragma: no cover - the claim matched the row
                return
            inc = found
            s.refresh(inc)  # read again under the claim (SQLite read it before the write lock)
            state, snap = State.model_validate(esc.state), Snapshot.model_validate(esc.snapshot)
            if inc.status != "triggered":  # acknowledged or over, whatever path got it there
                esc.done_reason, esc.updated_at = (
                    "acknowledged" if inc.status == "acknowledged" else "resolved",
                    now,
                )
                return
            action = next_action(snap, state, now)
            if isinstance(action, Done):
                esc.done_reason, esc.updated_at = action.reason, now
                if action.reason == "exhausted":
                    repos.add_entry(
                        s,
                        inc,
                        now,
                        "opsbook",
                        EntryKind.ESCALATION,
                        "escalation ended: every level was paged and nobody acknowledged",
                        {"reason": action.reason},
                    )
                return
            if isinstance(action, Wait):
                _next_tick(s, inc, action.token, now, run_after=action.until)
                return
            self._fire(s, config, esc, inc, state, action, now)

    def _fire(
        self,
        s: Session,
        config: Config,
        esc: Escalation,
        inc: Incident,
        state: State,
        action: NotifyLevel,
        now: datetime,
    ) -> None:
        new = apply(state, action, action.token)
        esc.state, esc.token, esc.updated_at = new.model_dump(mode="json"), new.token, now
        schedules = {sch.name: sch for sch in config.schedules if sch.tenant == esc.tenant}
        try:
            users = resolve_targets(action.targets, schedules, now, overrides_for(s, esc.tenant))
        except UnknownSchedule as exc:
            users, why = [], str(exc)
        else:
            why = "nobody is on call there" if not users else ""
        label = f"level {action.level + 1}" + (f", repeat {action.round}" if action.round else "")
        notes = []
        if action.breached:
            notes.append(f"the {inc.severity} acknowledgement window passed")
        if action.late.total_seconds() >= 1:
            notes.append(f"this tick ran {int(action.late.total_seconds())} s late")
        message = (
            f"escalation {label}: paging {', '.join(users)}"
            if users
            else f"escalation {label} reached nobody: {why}"
        )
        if notes:
            message += " (" + "; ".join(notes) + ")"
        repos.add_entry(
            s,
            inc,
            now,
            "opsbook",
            EntryKind.ESCALATION,
            message,
            {
                "level": action.level,
                "round": action.round,
                "users": users,
                "breached": action.breached,
                "late_seconds": action.late.total_seconds(),
            },
        )
        note_level(s, esc.tenant, inc.id, action.level)  # the report's "escalated"
        unreached = [
            user for user in users if self.page(s, inc, user, action.level, new.token, now) == []
        ]
        if unreached:
            repos.add_entry(
                s,
                inc,
                now,
                "opsbook",
                EntryKind.ESCALATION,
                f"escalation {label}: nobody was paged for {', '.join(unreached)}: no contact "
                f"takes a {inc.severity} page now (no contacts in the config, or their "
                "notification rules hold it back)",
                {"level": action.level, "reason": "unreachable", "users": unreached},
            )
        _next_tick(s, inc, new.token + 1, now)


def note_unpaged_breaches(s: Session, config: Config, now: datetime) -> int:
    """Say on the timeline of each unacknowledged incident whose acknowledgement deadline passed
    and that pages nobody (no escalation: its service has no usable policy) that nobody was paged,
    and why; once per incident. Run by the server's sweep; returns how many it noted."""
    due = s.scalars(
        select(Incident.id)
        .outerjoin(Escalation, Escalation.incident_id == Incident.id)
        .where(
            Incident.status == "triggered",
            Incident.ack_deadline <= now,
            Incident.ack_deadline > now - UNPAGED_LOOKBACK,
            Escalation.incident_id.is_(None),
        )
        .limit(500)
    ).all()
    noted = 0
    for incident_id in due:
        inc = s.scalars(
            select(Incident).where(Incident.id == incident_id).with_for_update(key_share=True)
        ).first()
        if inc is None or inc.status != "triggered":
            continue
        entries = s.scalars(
            select(TimelineEntry.data).where(
                TimelineEntry.incident_id == inc.id, TimelineEntry.kind == EntryKind.ESCALATION
            )
        )
        if any((d or {}).get("reason") == "nobody_paged" for d in entries):
            continue  # said already (by this replica or another)
        why = nobody_paged_reason(config, inc.tenant, inc.service, inc.severity)
        repos.add_entry(
            s,
            inc,
            now,
            "opsbook",
            EntryKind.ESCALATION,
            f"the {inc.severity} acknowledgement window ({config_window(config, inc.severity)}) "
            f"passed and nobody was paged: {why}",
            {"reason": "nobody_paged", "why": why, "breached": True},
        )
        noted += 1
    return noted


def config_window(config: Config, severity: str) -> str:
    """The severity's acknowledgement window as a person writes it: ``5m``, ``1h``, ``90s``."""
    secs = int(config.ack_window(Severity(severity)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def _claim(s: Session, incident_id: str, token: int, now: datetime) -> bool:
    """Claim the escalation for the tick carrying ``token``: a compare-and-set on the fencing
    token, which takes the row's lock (PostgreSQL) or the write lock (SQLite) before the tick
    decides anything. False when the escalation is over or its token moved on."""
    res = s.execute(
        update(Escalation)
        .where(
            Escalation.incident_id == incident_id,
            Escalation.token == token - 1,
            Escalation.done_reason.is_(None),
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount == 1)  # type: ignore[attr-defined]


def _next_tick(
    s: Session, inc: Incident, token: int, now: datetime, run_after: datetime | None = None
) -> None:
    """Queue the incident's next tick in the page lane, at its severity."""
    jobs.enqueue(
        s,
        inc.tenant,
        ESCALATE_JOB,
        {"incident_id": inc.id, "token": token},
        now,
        run_after=run_after,
        priority=jobs.severity_priority(inc.severity),
        lane=jobs.PAGE_LANE,
        incident_id=inc.id,
    )
