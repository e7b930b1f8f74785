"""Post-mortem use cases: draft on resolution, read, edit, action items, reminders.

The only place that turns incident rows into the pure post-mortem records (``opsbook.postmortem``)
and stores what people write. Every read and write is scoped to the caller's tenant: another
tenant's incident or action item is NotFound, exactly like an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.errors import InputError, NotFound
from opsbook.core.ids import new_id
from opsbook.postmortem.build import build_postmortem
from opsbook.postmortem.models import (
    ActionItem,
    AlertFacts,
    EventFacts,
    IncidentFacts,
    PostMortem,
    StepFacts,
    Written,
)
from opsbook.postmortem.policy import DEFAULT_POLICY, PostmortemPolicy
from opsbook.postmortem.reminders import Reminder, ReminderState, reminders_due
from opsbook.storage import repos
from opsbook.storage.tables import Incident, StepRun
from opsbook.storage.tables_learning import ActionItemRow, Postmortem

ITEM_STATUSES = ("open", "done")
PM_STATUSES = ("draft", "complete")


class Resolved(Protocol):
    """What drafting needs of the incident: an ``Incident`` row, or ingest's not-yet-mapped row."""

    @property
    def id(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def resolved_at(self) -> datetime | None: ...


def draft_on_resolve(
    s: Session, incident: Resolved, now: datetime, policy: PostmortemPolicy = DEFAULT_POLICY
) -> Postmortem:
    """Create the incident's post-mortem draft if it has none; called when it resolves.

    Idempotent: a second call (re-resolution, a retried request, auto-resolve after a manual
    resolve) returns the existing row untouched, so nothing people wrote is overwritten. The due
    time counts from the resolution; P0/P1 (``policy.required_for``) are marked required.
    """
    found = s.get(Postmortem, incident.id)
    if found is not None:
        return found
    resolved = incident.resolved_at or now
    row = Postmortem(
        incident_id=incident.id,
        tenant=incident.tenant,
        status="draft",
        required=policy.required(incident.severity),
        due_at=policy.due_at(incident.severity, resolved),
        summary="",
        root_cause="",
        contributing_factors=[],
        lessons="",
        created_at=now,
        updated_at=now,
        updated_by=None,
        last_reminded_at=None,
    )
    s.add(row)
    s.flush()  # ingest inserts its incidents with Core before calling this: the FK holds
    return row


def _facts(inc: Incident) -> IncidentFacts:
    return IncidentFacts(
        id=inc.id,
        tenant=inc.tenant,
        title=inc.title,
        service=inc.service,
        severity=inc.severity,
        status=inc.status,
        created_at=inc.created_at,
        acknowledged_at=inc.acknowledged_at,
        acknowledged_by=inc.acknowledged_by,
        resolved_at=inc.resolved_at,
        resolved_by=inc.resolved_by,
        closed_at=inc.closed_at,
        close_reason=inc.close_reason,
        commander=inc.commander,
        first_alert_at=inc.first_alert_at,
        runbook_path=inc.runbook_path,
        section_heading=inc.section_heading,
    )


def _written(row: Postmortem) -> Written:
    return Written(
        status="complete" if row.status == "complete" else "draft",
        summary=row.summary,
        root_cause=row.root_cause,
        contributing_factors=tuple(str(x) for x in row.contributing_factors or []),
        lessons=row.lessons,
        required=row.required,
        due_at=row.due_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _item(row: ActionItemRow) -> ActionItem:
    return ActionItem(
        id=row.id,
        incident_id=row.incident_id,
        title=row.title,
        owner=row.owner,
        due_date=row.due_date,
        status="done" if row.status == "done" else "open",
        created_at=row.created_at,
    )


def _steps(s: Session, tenant: str, incident_id: str) -> list[StepFacts]:
    q = select(StepRun).where(StepRun.tenant == tenant, StepRun.incident_id == incident_id)
    return [
        StepFacts(
            step_index=r.step_index,
            step_title=r.step_title,
            kind=r.kind,
            safety=r.safety,
            status=r.status,
            command=r.command,
            requested_by=r.requested_by,
            automatic=r.automatic,
            finished_at=r.finished_at,
            summary=str((r.result or {}).get("summary", "")),
        )
        for r in s.scalars(q)
    ]


def _items(s: Session, tenant: str, incident_id: str) -> list[ActionItem]:
    q = select(ActionItemRow).where(
        ActionItemRow.tenant == tenant, ActionItemRow.incident_id == incident_id
    )
    return [_item(r) for r in s.scalars(q)]


def _stored(s: Session, tenant: str, incident_id: str) -> Postmortem | None:
    row = s.get(Postmortem, incident_id)
    return row if row is not None and row.tenant == tenant else None


def get_postmortem(s: Session, config: Config, tenant: str, incident_id: str) -> PostMortem:
    """The document of the incident (a preview with ``exists`` false before one is drafted)."""
    inc = repos.get_incident(s, tenant, incident_id)
    s.flush()
    svc = config.service(tenant, inc.service)
    row = _stored(s, tenant, incident_id)
    return build_postmortem(
        _facts(inc),
        [
            EventFacts(e.at, e.actor, e.kind, e.message, dict(e.data or {}))
            for e in repos.timeline(s, tenant, incident_id)
        ],
        [
            AlertFacts(a.alertname, a.starts_at, a.fingerprint)
            for a in repos.incident_alerts(s, tenant, incident_id)
        ],
        _steps(s, tenant, incident_id),
        components=svc.components if svc else (),
        written=_written(row) if row else None,
        action_items=_items(s, tenant, incident_id),
    )


def _ensure(s: Session, tenant: str, incident_id: str, now: datetime) -> Postmortem:
    """The stored post-mortem, drafted now if the incident has none yet (people may start early)."""
    inc = repos.get_incident(s, tenant, incident_id)
    return draft_on_resolve(s, inc, now)


def edit(
    s: Session, tenant: str, incident_id: str, actor: str, now: datetime, changes: dict[str, Any]
) -> Postmortem:
    """Apply the given fields (summary, root_cause, contributing_factors, lessons, status)."""
    row = _ensure(s, tenant, incident_id, now)
    if "status" in changes and changes["status"] not in PM_STATUSES:
        raise InputError(f"status must be one of {PM_STATUSES}", field="status")
    for name in ("summary", "root_cause", "lessons", "status"):
        if changes.get(name) is not None:
            setattr(row, name, changes[name])
    if changes.get("contributing_factors") is not None:
        row.contributing_factors = [str(x) for x in changes["contributing_factors"]]
    row.updated_at, row.updated_by = now, actor
    return row


def add_action_item(
    s: Session,
    tenant: str,
    incident_id: str,
    actor: str,
    now: datetime,
    *,
    title: str,
    owner: str | None = None,
    due_date: date | None = None,
) -> ActionItem:
    _ensure(s, tenant, incident_id, now)
    row = ActionItemRow(
        id=new_id("act"),
        tenant=tenant,
        incident_id=incident_id,
        title=title,
        owner=owner,
        due_date=due_date,
        status="open",
        created_at=now,
        created_by=actor,
        updated_at=now,
        done_at=None,
    )
    s.add(row)
    s.flush()
    return _item(row)


def update_action_item(
    s: Session, tenant: str, item_id: str, now: datetime, changes: dict[str, Any]
) -> ActionItem:
    """Change title, owner, due date or status (``done`` stamps when it was done)."""
    q = select(ActionItemRow).where(ActionItemRow.tenant == tenant, ActionItemRow.id == item_id)
    row = s.scalars(q.with_for_update()).first()
    if row is None:
        raise NotFound(f"no action item {item_id!r}")
    status = changes.get("status")
    if status is not None:
        if status not in ITEM_STATUSES:
            raise InputError(f"status must be one of {ITEM_STATUSES}", field="status")
        if status != row.status:
            row.done_at = now if status == "done" else None
        row.status = status
    for name in ("title", "owner", "due_date"):
        if name in changes and (changes[name] is not None or name != "title"):
            setattr(row, name, changes[name])
    row.updated_at = now
    s.flush()
    return _item(row)


def list_action_items(
    s: Session, tenant: str, *, status: str | None = None, owner: str | None = None
) -> list[ActionItem]:
    """Action items across the tenant's incidents: open ones due soonest first."""
    q = select(ActionItemRow).where(ActionItemRow.tenant == tenant)
    if status is not None:
        q = q.where(ActionItemRow.status == status)
    if owner is not None:
        q = q.where(ActionItemRow.owner == owner)
    items = [_item(r) for r in s.scalars(q)]
    return sorted(
        items, key=lambda a: (a.due_date is None, a.due_date or date.max, a.created_at, a.id)
    )


def collect_reminders(
    s: Session, now: datetime, policy: PostmortemPolicy = DEFAULT_POLICY
) -> Sequence[Reminder]:
    """Reminders due now across tenants, stamped as sent so the next sweep stays quiet.

    The caller (a worker tick) queues one message per reminder in the same transaction, so a
    reminder is stamped if and only if its message is queued.
    """
    q = (
        select(Postmortem, Incident)
        .join(Incident, Incident.id == Postmortem.incident_id)
        .where(Postmortem.required.is_(True), Postmortem.status != "complete")
    )
    rows = {pm.incident_id: (pm, inc) for pm, inc in s.execute(q)}
    states = [
        ReminderState(
            incident_id=pm.incident_id,
            tenant=pm.tenant,
            title=inc.title,
            commander=inc.commander,
            required=pm.required,
            status=pm.status,
            due_at=pm.due_at,
            last_reminded_at=pm.last_reminded_at,
        )
        for pm, inc in rows.values()
    ]
    due = reminders_due(states, now, policy)
    for r in due:
        rows[r.incident_id][0].last_reminded_at = now
    return due
