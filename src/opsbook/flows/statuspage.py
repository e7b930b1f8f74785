"""Status-page use cases: build a tenant's public page, publish updates, overrides, subscribers.

The page is assembled from three sources only: the config (component names), incidents reduced
to (service, severity, opened, resolved), and the comms tables (published updates, overrides,
maintenance). Incident titles, alerts, timelines and step results are never read here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Select, Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.errors import InputError, NotFound
from opsbook.core.ids import new_id
from opsbook.flows.silences import all_windows, components_of_service
from opsbook.incidents.models import Severity, Status
from opsbook.silences.maintenance import Notice, components_in_maintenance, upcoming_notices
from opsbook.statuspage.derive import (
    DayBar,
    IncidentSpan,
    OpenIncident,
    Override,
    daily_history,
    derive_states,
    indicator,
    invert,
    state_for_severity,
)
from opsbook.statuspage.feed import (
    Page,
    PublicIncident,
    PublicUpdate,
    ScheduledMaintenance,
)
from opsbook.statuspage.models import ComponentState, UpdateStatus
from opsbook.statuspage.templates import TEMPLATES, Draft, PublicFacts, draft
from opsbook.storage import repos
from opsbook.storage.tables import Incident
from opsbook.storage.tables_comms import (
    ComponentOverrideRow,
    StatusNoticeRow,
    StatusUpdateRow,
    SubscriberRow,
)

STATUS_UPDATE_ENTRY = "status_update"  # timeline kind; EntryKind.STATUS_UPDATE once added there
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
RECENT = timedelta(days=7)


def enabled_tenant(config: Config, tenant: str) -> None:
    """NotFound unless ``tenant`` exists and the public page is on (unknown and off look alike)."""
    if not config.status_page.enabled or config.tenant(tenant) is None:
        raise NotFound(f"no status page {tenant!r}")


def component_names(config: Config, tenant: str) -> list[str]:
    return list(invert(components_of_service(config, tenant)))


def _overrides(s: Session, tenant: str) -> dict[str, Override]:
    rows = s.scalars(select(ComponentOverrideRow).where(ComponentOverrideRow.tenant == tenant))
    return {r.component: Override(ComponentState(r.state), r.expires_at) for r in rows}


def auto_publish(config: Config, tenant: str) -> dict[str, dict[str, Severity]]:
    """service → component → least severity shown without a person (``services[].auto_publish``)."""
    return {
        sv.name: dict(sv.auto_publish)
        for sv in config.services
        if sv.tenant == tenant and sv.auto_publish
    }


def _published(
    s: Session,
    tenant: str,
    incident_ids: Sequence[str] | Select[Any] | CompoundSelect[Any],
    *,
    latest_only: bool,
) -> dict[str, dict[str, ComponentState]]:
    """incident → component → impact its public updates announced: the latest update's (none if
    it closed the incident) or, for history, the worst of all of them."""
    out: dict[str, dict[str, ComponentState]] = {}
    seen: set[str] = set()
    for u in _updates(s, tenant, incident_ids):  # newest first
        if latest_only:
            if u.incident_id in seen:
                continue
            seen.add(u.incident_id)
            if UpdateStatus(u.status).closes:
                continue
        mine = out.setdefault(u.incident_id, {})
        impact = ComponentState(u.impact)
        for c in u.components:
            if c not in mine or impact.rank > mine[c].rank:
                mine[c] = impact
    return out


def _open_incidents(s: Session, tenant: str) -> list[OpenIncident]:
    q = select(Incident.id, Incident.service, Incident.severity).where(
        Incident.tenant == tenant,
        Incident.status.in_([Status.TRIGGERED.value, Status.ACKNOWLEDGED.value]),
    )
    rows = list(s.execute(q))
    published = _published(s, tenant, [r[0] for r in rows], latest_only=True)
    return [OpenIncident(svc, Severity(sev), published.get(iid, {})) for iid, svc, sev in rows]


def current_states(
    s: Session, config: Config, tenant: str, now: datetime
) -> dict[str, ComponentState]:
    """Every component of the tenant and its state now: overrides, what people published on
    open incidents (or opted-in components' incidents by themselves), maintenance."""
    comps = components_of_service(config, tenant)
    in_maint = components_in_maintenance(all_windows(s, config, tenant, now), tenant, comps, now)
    return derive_states(
        comps,
        _open_incidents(s, tenant),
        in_maint,
        _overrides(s, tenant),
        now,
        auto_publish(config, tenant),
    )


def history(s: Session, config: Config, tenant: str, now: datetime) -> dict[str, list[DayBar]]:
    """Per component, one bar per day for ``status_page.history_days`` days (incidents count
    where they were published, as on the live page)."""
    days = config.status_page.history_days
    since = now - timedelta(days=days + 1)
    # still open, or resolved within the window: two index ranges (ix_incidents_tenant_resolved),
    # never the tenant's whole history
    closed_ok = or_(Incident.closed_at.is_(None), Incident.closed_at >= since)
    parts = (
        (Incident.tenant == tenant, Incident.resolved_at.is_(None), closed_ok),
        (Incident.tenant == tenant, Incident.resolved_at >= since, closed_ok),
    )
    cols = (
        Incident.id,
        Incident.service,
        Incident.severity,
        Incident.created_at,
        Incident.resolved_at,
        Incident.closed_at,
    )
    ids = select(Incident.id).where(*parts[0]).union_all(select(Incident.id).where(*parts[1]))
    published = _published(s, tenant, ids, latest_only=False)
    # only incidents someone published, or of services shown automatically, colour a bar
    auto = auto_publish(config, tenant)
    shown = [
        Incident.id.in_(select(StatusUpdateRow.incident_id).where(StatusUpdateRow.tenant == tenant))
    ]
    if auto:
        shown.append(Incident.service.in_(sorted(auto)))
    rows = [r for where in parts for r in s.execute(select(*cols).where(*where, or_(*shown)))]
    spans = [
        IncidentSpan(svc, Severity(sev), created, resolved or closed, published.get(iid, {}))
        for iid, svc, sev, created, resolved, closed in rows
    ]
    comps = components_of_service(config, tenant)
    return daily_history(comps, spans, now, days, auto_publish(config, tenant))


def _updates(
    s: Session,
    tenant: str,
    incident_ids: Sequence[str] | Select[Any] | CompoundSelect[Any] | None = None,
) -> list[StatusUpdateRow]:
    q = select(StatusUpdateRow).where(StatusUpdateRow.tenant == tenant)
    if incident_ids is not None:
        q = q.where(StatusUpdateRow.incident_id.in_(incident_ids))
    return list(s.scalars(q.order_by(StatusUpdateRow.created_at.desc(), StatusUpdateRow.id.desc())))


def public_incidents(
    s: Session, tenant: str, since: datetime | None = None, limit: int = 50
) -> list[PublicIncident]:
    """Incidents with at least one published update, newest activity first; only published text."""
    q = select(StatusUpdateRow.incident_id).where(StatusUpdateRow.tenant == tenant)
    if since is not None:
        q = q.where(StatusUpdateRow.created_at >= since)
    ids = list(dict.fromkeys(s.scalars(q.order_by(StatusUpdateRow.created_at.desc()))))[:limit]
    grouped: dict[str, list[StatusUpdateRow]] = {}
    for u in _updates(s, tenant, ids):
        grouped.setdefault(u.incident_id, []).append(u)
    out = []
    for inc_id in ids:
        ups = grouped[inc_id]
        latest = ups[0]
        out.append(
            PublicIncident(
                id=_public_id(tenant, inc_id),
                name=latest.title,
                status=UpdateStatus(latest.status),
                components=list(latest.components),
                created_at=ups[-1].created_at,
                updated_at=latest.created_at,
                updates=[
                    PublicUpdate(u.id, UpdateStatus(u.status), u.body, u.created_at) for u in ups
                ],
                impact=ComponentState(latest.impact),
            )
        )
    return out


def _public_id(tenant: str, incident_id: str) -> str:
    """A stable public id that does not reveal the internal incident id."""
    return "pi_" + hashlib.sha256(f"{tenant}\x00{incident_id}".encode()).hexdigest()[:16]


def scheduled(s: Session, config: Config, tenant: str, now: datetime) -> list[ScheduledMaintenance]:
    """Active and upcoming (next 14 days) maintenance occurrences, soonest first."""
    comps = components_of_service(config, tenant)
    out = []
    for w in all_windows(s, config, tenant, now):
        names = list(
            dict.fromkeys([*w.components, *(c for sv in w.services for c in comps.get(sv, []))])
        )
        for start, end in w.occurrences(now, now + timedelta(days=14))[:5]:
            out.append(
                ScheduledMaintenance(
                    id=hashlib.sha256(f"{tenant}/{w.id or w.name}/{start}".encode()).hexdigest()[
                        :16
                    ],
                    name=w.description or f"Scheduled maintenance ({w.name})",
                    status="in_progress" if start <= now else "scheduled",
                    scheduled_for=start,
                    scheduled_until=end,
                    components=names,
                    description=w.description,
                )
            )
    return sorted(out, key=lambda m: (m.scheduled_for, m.id))


def build_page(s: Session, config: Config, tenant: str, now: datetime, url: str) -> Page:
    """The whole public page of ``tenant``: states, indicator, ongoing incidents, maintenance."""
    enabled_tenant(config, tenant)
    states = current_states(s, config, tenant, now)
    ind, desc = indicator(states.values())
    ongoing = [i for i in public_incidents(s, tenant) if not i.status.closes]
    return Page(
        tenant=tenant,
        title=config.status_page.title.replace("{tenant}", tenant),
        url=url,
        updated_at=now,
        indicator=ind,
        description=desc,
        components=states,
        incidents=ongoing,
        maintenances=scheduled(s, config, tenant, now),
    )


def recent_resolved(s: Session, tenant: str, now: datetime) -> list[PublicIncident]:
    """Public incidents closed in the last week, for the "past incidents" list."""
    return [i for i in public_incidents(s, tenant, since=now - RECENT) if i.status.closes]


# -- commanders: overrides and public updates -----------------------------------------------------


def set_override(
    s: Session,
    config: Config,
    tenant: str,
    component: str,
    state: ComponentState | None,
    expires_at: datetime | None,
    actor: str,
    now: datetime,
) -> None:
    """Pin a component's state (until ``expires_at``), or clear the pin with ``state=None``."""
    if component not in component_names(config, tenant):
        raise NotFound(f"no status-page component {component!r} in this tenant")
    if expires_at is not None and expires_at <= now:
        raise InputError("expires_at is in the past", field="expires_at")
    row = s.get(ComponentOverrideRow, (tenant, component))
    if state is None:
        if row is not None:
            s.delete(row)
        return
    if row is None:
        row = ComponentOverrideRow(tenant=tenant, component=component)
        s.add(row)
    row.state, row.expires_at, row.set_by, row.set_at = state.value, expires_at, actor, now


def overrides_out(s: Session, tenant: str, now: datetime) -> dict[str, dict[str, Any]]:
    rows = s.scalars(select(ComponentOverrideRow).where(ComponentOverrideRow.tenant == tenant))
    return {
        r.component: {"state": r.state, "expires_at": r.expires_at, "set_by": r.set_by}
        for r in rows
        if r.expires_at is None or r.expires_at > now
    }


def _facts(config: Config, inc: Incident) -> PublicFacts:
    comps = components_of_service(config, inc.tenant).get(inc.service, [])
    return PublicFacts(
        components=comps,
        impact=state_for_severity(Severity(inc.severity)),
        started_at=inc.created_at,
    )


def draft_update(s: Session, config: Config, tenant: str, incident_id: str, template: str) -> Draft:
    """A prefilled public update for an incident; only public facts go in (see templates)."""
    if template not in TEMPLATES:
        raise InputError(
            f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}", field="template"
        )
    inc = repos.get_incident(s, tenant, incident_id)
    return draft(template, _facts(config, inc))


@dataclass(frozen=True)
class Published:
    update: StatusUpdateRow
    notices: int


def post_update(
    s: Session,
    config: Config,
    tenant: str,
    incident_id: str,
    actor: str,
    now: datetime,
    *,
    status: UpdateStatus,
    title: str,
    body: str,
    components: Sequence[str] | None,
    impact: ComponentState | None,
) -> Published:
    """Publish a public update exactly as typed; note it on the timeline; queue subscriber notices."""
    inc = repos.get_incident(s, tenant, incident_id)
    known = component_names(config, tenant)
    chosen = list(components) if components is not None else _facts(config, inc).components
    for c in chosen:
        if c not in known:
            raise InputError(f"no status-page component {c!r} in this tenant", field="components")
    if not title.strip() or not body.strip():
        raise InputError("a public update needs a title and a body", field="body")
    row = StatusUpdateRow(
        id=new_id("upd"),
        tenant=tenant,
        incident_id=inc.id,
        status=status.value,
        title=title.strip(),
        body=body.strip(),
        components=list(chosen),
        impact=(impact or state_for_severity(Severity(inc.severity))).value,
        author=actor,
        created_at=now,
    )
    s.add(row)
    repos.add_entry(
        s,
        inc,
        now,
        actor,
        STATUS_UPDATE_ENTRY,
        f"public status update ({status.value}): {row.title}",
        {"status_update_id": row.id, "status": status.value, "title": row.title, "body": row.body},
    )
    s.flush()
    subject = f"[{config.status_page.title.replace('{tenant}', tenant)}] {row.title} — {status.value.replace('_', ' ')}"
    n = queue_notices(s, tenant, "update", f"update:{row.id}", subject, row.body, now)
    return Published(row, n)


def list_updates(s: Session, tenant: str, incident_id: str) -> list[StatusUpdateRow]:
    repos.get_incident(s, tenant, incident_id)
    return _updates(s, tenant, [incident_id])


# -- subscribers and notices ----------------------------------------------------------------------


def _insert_ignore(s: Session, row: dict[str, Any]) -> bool:
    table: Table = StatusNoticeRow.__table__  # type: ignore[assignment]
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"])
    else:
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"])
    return s.execute(stmt.values(row).returning(table.c.id)).first() is not None


def queue_notices(
    s: Session, tenant: str, kind: str, source_key: str, subject: str, body: str, now: datetime
) -> int:
    """One notice per confirmed subscriber, idempotent on (source, subscriber); returns how many are new."""
    subs = s.scalars(
        select(SubscriberRow).where(
            SubscriberRow.tenant == tenant,
            SubscriberRow.unsubscribed_at.is_(None),
            SubscriberRow.confirmed_at.is_not(None),  # double opt-in: pending gets nothing
        )
    ).all()
    new = 0
    for sub in subs:
        nid = hashlib.sha256(f"{source_key}\x00{sub.id}".encode()).hexdigest()[:64]
        new += _insert_ignore(
            s,
            {
                "id": nid,
                "tenant": tenant,
                "subscriber_id": sub.id,
                "kind": kind,
                "source_key": source_key,
                "subject": subject[:300],
                "body": body,
                "queued_at": now,
                "sent_at": None,
            },
        )
    return new


def _maintenance_text(n: Notice, title: str) -> tuple[str, str]:
    when = f"{n.starts_at:%Y-%m-%d %H:%M} – {n.ends_at:%Y-%m-%d %H:%M} UTC"
    what = ", ".join(n.components) or "some of our services"
    subject = f"[{title}] Planned maintenance {when}"
    body = f"Planned maintenance of {what} from {when}. {n.description}".strip()
    return subject, body


def queue_maintenance_notices(s: Session, config: Config, now: datetime) -> int:
    """Queue "maintenance starts soon" notices due at ``now`` for every tenant (call each tick)."""
    total = 0
    for t in config.tenants:
        title = config.status_page.title.replace("{tenant}", t.name)
        comps = components_of_service(config, t.name)
        for n in upcoming_notices(all_windows(s, config, t.name, now), now):
            names = tuple(dict.fromkeys([*n.components]))
            w_services = [w for w in all_windows(s, config, t.name, now) if w.name == n.window]
            for w in w_services:
                names = tuple(
                    dict.fromkeys([*names, *(c for sv in w.services for c in comps.get(sv, []))])
                )
            subject, body = _maintenance_text(
                Notice(n.key, n.tenant, n.window, n.starts_at, n.ends_at, names, n.description),
                title,
            )
            total += queue_notices(
                s, t.name, "maintenance", f"maintenance:{n.key}", subject, body, now
            )
    return total


def pending_notices(s: Session, tenant: str, limit: int = 100) -> Sequence[StatusNoticeRow]:
    q = (
        select(StatusNoticeRow)
        .where(StatusNoticeRow.tenant == tenant, StatusNoticeRow.sent_at.is_(None))
        .order_by(StatusNoticeRow.queued_at, StatusNoticeRow.id)
        .limit(limit)
    )
    return s.scalars(q).all()
