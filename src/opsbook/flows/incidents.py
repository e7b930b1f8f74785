"""Incident use cases driven by people: acknowledge, resolve, close, comment, change, declare."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.errors import InputError, NotFound
from opsbook.core.ids import new_id
from opsbook.flows.escalation import start_paging, stop_paging
from opsbook.flows.ingest import DIAGNOSE_JOB
from opsbook.flows.postmortems import draft_on_resolve
from opsbook.incidents.lifecycle import ack_deadline, check_close_reason, next_status
from opsbook.incidents.models import Action, EntryKind, Severity, Status
from opsbook.intake.routing import group_key
from opsbook.postmortem.policy import DEFAULT_POLICY
from opsbook.storage import jobs, repos
from opsbook.storage.tables import Incident


def acknowledge(s: Session, tenant: str, incident_id: str, actor: str, now: datetime) -> Incident:
    inc = repos.get_incident(s, tenant, incident_id, for_update=True)
    inc.status = next_status(Status(inc.status), Action.ACKNOWLEDGE).value
    inc.acknowledged_at, inc.acknowledged_by, inc.updated_at = now, actor, now
    stop_paging(s, tenant, inc.id, "acknowledged", now)
    met = "within" if now <= inc.ack_deadline else "after"
    repos.add_entry(
        s,
        inc,
        now,
        actor,
        EntryKind.ACKNOWLEDGED,
        f"acknowledged by {actor} ({met} the {inc.severity} window)",
        {"deadline_met": now <= inc.ack_deadline},
    )
    return inc


def resolve(
    s: Session,
    tenant: str,
    incident_id: str,
    actor: str,
    now: datetime,
    note: str = "",
    config: Config | None = None,
) -> Incident:
    """Resolve; the section's validate-phase steps are queued to confirm recovery."""
    inc = repos.get_incident(s, tenant, incident_id, for_update=True)
    inc.status = next_status(Status(inc.status), Action.RESOLVE).value
    inc.open_key = None
    inc.resolved_at, inc.resolved_by, inc.updated_at = now, actor, now
    stop_paging(s, tenant, inc.id, "resolved", now)
    draft_on_resolve(s, inc, now, config.postmortems.policy() if config else DEFAULT_POLICY)
    svc = config.service(tenant, inc.service) if config else None
    if svc and inc.section_id and svc.execution.auto_run and svc.execution.validate_on_resolve:
        jobs.enqueue(
            s,
            tenant,
            DIAGNOSE_JOB,
            {"incident_id": inc.id, "phases": ["validate"], "reason": "resolved"},
            now,
            incident_id=inc.id,
        )
    repos.add_entry(
        s,
        inc,
        now,
        actor,
        EntryKind.RESOLVED,
        f"resolved by {actor}" + (f": {note}" if note else ""),
    )
    return inc


def close(
    s: Session,
    tenant: str,
    incident_id: str,
    actor: str,
    now: datetime,
    reason: str,
    note: str = "",
    config: Config | None = None,
) -> Incident:
    check_close_reason(reason)
    inc = repos.get_incident(s, tenant, incident_id, for_update=True)
    inc.status = next_status(Status(inc.status), Action.CLOSE).value
    inc.open_key = None
    if inc.resolved_at is None:
        inc.resolved_at, inc.resolved_by = now, actor
    inc.closed_at, inc.close_reason, inc.updated_at = now, reason, now
    stop_paging(s, tenant, inc.id, "resolved", now)
    if reason == "resolved":  # a false positive or a duplicate needs no post-mortem
        draft_on_resolve(s, inc, now, config.postmortems.policy() if config else DEFAULT_POLICY)
    text = f"closed by {actor} as {reason.replace('_', ' ')}" + (f": {note}" if note else "")
    repos.add_entry(s, inc, now, actor, EntryKind.CLOSED, text, {"reason": reason})
    return inc


def comment(
    s: Session, tenant: str, incident_id: str, actor: str, now: datetime, text: str
) -> Incident:
    inc = repos.get_incident(s, tenant, incident_id)
    inc.updated_at = now
    repos.add_entry(s, inc, now, actor, EntryKind.COMMENT, text)
    return inc


def update(
    s: Session,
    config: Config,
    tenant: str,
    incident_id: str,
    actor: str,
    now: datetime,
    *,
    severity: Severity | None = None,
    commander: str | None = None,
) -> Incident:
    """Change severity and/or commander; each change is its own timeline entry."""
    inc = repos.get_incident(s, tenant, incident_id, for_update=True)
    if severity is not None and severity.value != inc.severity:
        repos.add_entry(
            s,
            inc,
            now,
            actor,
            EntryKind.SEVERITY_CHANGED,
            f"severity changed from {inc.severity} to {severity} by {actor}",
            {"from": inc.severity, "to": severity.value},
        )
        inc.severity = severity.value
        jobs.follow_severity(s, tenant, inc.id, inc.severity)  # queued work takes the new priority
        if inc.acknowledged_at is None:
            inc.ack_deadline = ack_deadline(inc.created_at, config.ack_window(severity))
    if commander is not None and commander != inc.commander:
        known = {u.name for u in config.users if u.tenant == tenant}
        if commander not in known:
            raise InputError(
                f"unknown user {commander!r} in this tenant; users are declared in opsbook.yaml",
                field="commander",
            )
        repos.add_entry(
            s,
            inc,
            now,
            actor,
            EntryKind.COMMANDER_ASSIGNED,
            f"{commander} is now incident commander",
            {"commander": commander, "previous": inc.commander},
        )
        inc.commander = commander
    inc.updated_at = now
    return inc


def declare(
    s: Session,
    config: Config,
    tenant: str,
    actor: str,
    now: datetime,
    *,
    service: str,
    severity: Severity,
    title: str,
    commander: str | None = None,
) -> Incident:
    """A person opens an incident with no alert behind it."""
    if config.service(tenant, service) is None:
        raise NotFound(f"no service {service!r} in this tenant", field="service")
    iid = new_id("inc")
    key, _ = group_key(service, ["__declared__"], {"__declared__": iid})
    inc = Incident(
        id=iid,
        tenant=tenant,
        service=service,
        group_key=key,
        open_key=key,
        group_labels={},
        title=title,
        severity=severity.value,
        status=Status.TRIGGERED.value,
        source="manual",
        auto_resolve=False,
        created_at=now,
        updated_at=now,
        ack_deadline=ack_deadline(now, config.ack_window(severity)),
        first_alert_at=None,
        alert_count=0,
    )
    s.add(inc)
    s.flush()
    repos.add_entry(
        s,
        inc,
        now,
        actor,
        EntryKind.OPENED,
        f"{severity} incident declared on {service} by {actor}",
    )
    start_paging(s, config, inc, now)
    if commander:
        update(s, config, tenant, iid, actor, now, commander=commander)
    return inc
