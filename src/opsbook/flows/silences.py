"""Silence and maintenance use cases: create, list, expire, preview — and the intake hook.

The hook is :class:`Quiet`: built once per tenant and transaction (like intake's working set),
it answers "is this new alert silenced, and by what?" from the tenant's active silences and
maintenance windows, and keeps each silenced alert in ``silenced_alerts`` instead of opening an
incident, so nobody is paged and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.config.models import Config, Matcher
from opsbook.core.errors import Conflict, InputError, NotFound
from opsbook.core.ids import new_id
from opsbook.core.regex import MAX_PATTERN_CHARS
from opsbook.flows import audit
from opsbook.intake.models import AlertIn
from opsbook.intake.routing import matches
from opsbook.silences.guardrails import check_silence
from opsbook.silences.maintenance import Window, maintenance_for, windows_from_config
from opsbook.silences.models import Silence, parse_matchers, silenced_by
from opsbook.storage.tables import Alert
from opsbook.storage.tables_comms import MaintenanceRow, SilencedAlert, SilenceRow


def _matchers_json(ms: Sequence[Matcher]) -> list[dict[str, Any]]:
    return [{"name": m.name, "op": m.op, "value": m.value} for m in ms]


def to_silence(row: SilenceRow) -> Silence:
    """The domain value of a stored silence."""
    return Silence(
        id=row.id,
        tenant=row.tenant,
        matchers=tuple(Matcher(**m) for m in row.matchers),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        comment=row.comment,
    )


MAX_MATCHERS = 50  # per silence or preview (the API and the page say the same)
PREVIEW_SCAN = 2000  # a preview looks at the most recent firing alerts only
PREVIEW_BUDGET = 20_000_000  # characters of label values a preview's regexes may read


def parse_or_input_error(texts: Sequence[str]) -> tuple[Matcher, ...]:
    """A request's matchers; a bad one (or a regex RE2 refuses) is a 422 naming ``matchers[i]``."""
    if len(texts) > MAX_MATCHERS:
        raise InputError(f"at most {MAX_MATCHERS} matchers", field="matchers")
    out = []
    for i, text in enumerate(texts):
        try:
            out.append(parse_matchers([text], max_regex_chars=MAX_PATTERN_CHARS)[0])
        except ValueError as exc:
            raise InputError(f"matchers[{i}]: {exc}", field=f"matchers[{i}]") from None
    return tuple(out)


def create_silence(
    s: Session,
    config: Config,
    tenant: str,
    actor: str,
    role: str,
    now: datetime,
    *,
    matchers: Sequence[str],
    starts_at: datetime | None,
    ends_at: datetime,
    comment: str,
    force: bool = False,
) -> SilenceRow:
    """Store a silence after the guardrails (see ``silences.guardrails``) accept it."""
    parsed = parse_or_input_error(matchers)
    start = starts_at or now
    check_silence(
        parsed,
        start,
        ends_at,
        now,
        max_duration=config.status_page.silence_max_duration,
        force=force,
        role=role,
    )
    row = SilenceRow(
        id=new_id("sil"),
        tenant=tenant,
        matchers=_matchers_json(parsed),
        starts_at=start,
        ends_at=ends_at,
        created_by=actor,
        comment=comment,
        forced=force,
        created_at=now,
        updated_at=now,
        expired_by=None,
    )
    s.add(row)
    s.flush()
    audit.record(
        s, at=now, tenant=tenant, action="silence.created", actor=actor, target=row.id,
        data={"matchers": list(matchers), "ends_at": ends_at.isoformat(), "forced": force},
    )  # fmt: skip
    return row


def list_silences(s: Session, tenant: str) -> Sequence[SilenceRow]:
    q = select(SilenceRow).where(SilenceRow.tenant == tenant).order_by(SilenceRow.ends_at.desc())
    return s.scalars(q).all()


def get_silence(s: Session, tenant: str, silence_id: str) -> SilenceRow:
    row = s.get(SilenceRow, silence_id)
    if row is None or row.tenant != tenant:
        raise NotFound(f"no silence {silence_id} in this tenant")
    return row


def expire_silence(
    s: Session, tenant: str, silence_id: str, actor: str, now: datetime
) -> SilenceRow:
    """End a silence now (a pending one never starts); expiring an expired one is a conflict."""
    row = get_silence(s, tenant, silence_id)
    if row.ends_at <= now:
        raise Conflict(f"silence {silence_id} has already expired")
    row.starts_at = min(row.starts_at, now)  # a pending silence ends before it ever starts
    row.ends_at = now
    row.updated_at, row.expired_by = now, actor
    audit.record(
        s, at=now, tenant=tenant, action="silence.expired", actor=actor, target=row.id
    )  # fmt: skip
    return row


@dataclass(frozen=True)
class Preview:
    """What a preview found; ``complete`` is False when it stopped at its work bound."""

    alerts: list[dict[str, Any]]
    scanned: int
    complete: bool


def preview(
    s: Session, tenant: str, matchers: Sequence[str], limit: int = 200
) -> list[dict[str, Any]]:
    """Firing alerts of the tenant that a silence with ``matchers`` would match right now."""
    return preview_bounded(s, tenant, matchers, limit).alerts


def preview_bounded(s: Session, tenant: str, matchers: Sequence[str], limit: int = 200) -> Preview:
    """:func:`preview` with its bounds told: at most PREVIEW_SCAN alerts, PREVIEW_BUDGET
    characters read by regexes; equality matchers are tried first, so they prune for free."""
    parsed = sorted(parse_or_input_error(matchers), key=lambda m: m.op in ("=~", "!~"))
    q = (
        select(Alert)
        .where(Alert.tenant == tenant, Alert.status == "firing")
        .order_by(Alert.last_received_at.desc())
        .limit(PREVIEW_SCAN)
    )
    out: list[dict[str, Any]] = []
    budget, scanned, complete = PREVIEW_BUDGET, 0, True
    for a in s.scalars(q):
        if budget <= 0 or len(out) >= limit:
            complete = False
            break
        scanned += 1
        budget -= sum(len(a.labels.get(m.name, "")) + 1 for m in parsed if m.op in ("=~", "!~"))
        if all(matches(m, a.labels) for m in parsed):
            out.append(
                {
                    "fingerprint": a.fingerprint,
                    "alertname": a.alertname,
                    "labels": a.labels,
                    "incident_id": a.incident_id,
                    "starts_at": a.starts_at,
                }
            )
    return Preview(out, scanned, complete and scanned < PREVIEW_SCAN)


# -- maintenance windows made through the API (one-off) ------------------------------------------


def to_window(row: MaintenanceRow) -> Window:
    return Window(
        name=row.name,
        tenant=row.tenant,
        services=tuple(row.services),
        components=tuple(row.components),
        start=row.starts_at,
        end=row.ends_at,
        notify_before=timedelta(seconds=row.notify_before_s),
        description=row.description,
        id=row.id,
    )


def create_window(
    s: Session,
    config: Config,
    tenant: str,
    actor: str,
    now: datetime,
    *,
    name: str,
    description: str,
    services: Sequence[str],
    components: Sequence[str],
    start: datetime,
    end: datetime,
    notify_before: timedelta,
) -> MaintenanceRow:
    """A one-off window over services and/or components of the caller's tenant."""
    if not services and not components:
        raise InputError("a maintenance window needs services and/or components", field="services")
    if end <= start:
        raise InputError("end must be after start", field="end")
    if end <= now:
        raise InputError("end is in the past", field="end")
    known = {sv.name for sv in config.services if sv.tenant == tenant}
    for svc in services:
        if svc not in known:
            raise InputError(f"no service {svc!r} in this tenant", field="services")
    comps = {c for sv in config.services if sv.tenant == tenant for c in sv.components}
    for c in components:
        if c not in comps:
            raise InputError(f"no status-page component {c!r} in this tenant", field="components")
    row = MaintenanceRow(
        id=new_id("mnt"),
        tenant=tenant,
        name=name,
        description=description,
        services=list(services),
        components=list(components),
        starts_at=start,
        ends_at=end,
        notify_before_s=int(notify_before.total_seconds()),
        created_by=actor,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return row


def api_windows(s: Session, tenant: str, since: datetime | None = None) -> Sequence[MaintenanceRow]:
    q = select(MaintenanceRow).where(MaintenanceRow.tenant == tenant)
    if since is not None:
        q = q.where(MaintenanceRow.ends_at > since)
    return s.scalars(q.order_by(MaintenanceRow.starts_at)).all()


def delete_window(s: Session, tenant: str, window_id: str) -> None:
    row = s.get(MaintenanceRow, window_id)
    if row is None or row.tenant != tenant:
        raise NotFound(f"no maintenance window {window_id} in this tenant")
    s.delete(row)


def all_windows(s: Session, config: Config, tenant: str, now: datetime) -> list[Window]:
    """The tenant's config windows and its API windows that have not ended."""
    from_config = [w for w in windows_from_config(config.maintenance) if w.tenant == tenant]
    return from_config + [to_window(r) for r in api_windows(s, tenant, since=now)]


def components_of_service(config: Config, tenant: str) -> dict[str, list[str]]:
    """service → its status-page components, for the tenant's services in config order."""
    return {sv.name: list(sv.components) for sv in config.services if sv.tenant == tenant}


# -- the intake hook -----------------------------------------------------------------------------


class Quiet:
    """One tenant's silences and windows during one intake transaction.

    ``check`` is pure over what ``load`` read; ``record`` keeps a silenced alert (one row per
    fingerprint and silencer, re-sends count up) in the caller's transaction.
    """

    def __init__(
        self,
        s: Session,
        tenant: str,
        now: datetime,
        silences: Sequence[Silence],
        windows: Sequence[Window],
        components: Mapping[str, Sequence[str]],
    ) -> None:
        self.s, self.tenant, self.now = s, tenant, now
        self.silences, self.windows, self.components = silences, windows, components
        self._rows: dict[tuple[str, str], SilencedAlert] = {}

    @classmethod
    def load(cls, s: Session, config: Config, tenant: str, now: datetime) -> Quiet:
        q = select(SilenceRow).where(
            SilenceRow.tenant == tenant, SilenceRow.starts_at <= now, SilenceRow.ends_at > now
        )
        return cls(
            s,
            tenant,
            now,
            [to_silence(r) for r in s.scalars(q)],
            all_windows(s, config, tenant, now),
            components_of_service(config, tenant),
        )

    def check(self, labels: Mapping[str, str], service: str) -> str | None:
        """``"silence:<id>"`` or ``"maintenance:<name>"`` when the alert must stay quiet, else None."""
        hit = silenced_by(self.silences, labels, self.now)
        if hit is not None:
            return f"silence:{hit.id}"
        w = maintenance_for(
            self.windows, self.tenant, service, self.components.get(service, ()), self.now
        )
        return f"maintenance:{w.id or w.name}" if w is not None else None

    def record(self, alert: AlertIn, service: str, reason: str) -> None:
        key = (alert.fingerprint, reason)
        row = self._rows.get(key)
        if row is None:
            row = self.s.scalars(
                select(SilencedAlert).where(
                    SilencedAlert.tenant == self.tenant,
                    SilencedAlert.fingerprint == alert.fingerprint,
                    SilencedAlert.silenced_by == reason,
                )
            ).first()
        if row is None:
            row = SilencedAlert(
                id=new_id("sla"),
                tenant=self.tenant,
                fingerprint=alert.fingerprint,
                alertname=alert.alertname[:300],
                service=service,
                silenced_by=reason,
                labels=alert.labels,
                annotations=alert.annotations,
                starts_at=alert.starts_at,
                first_received_at=self.now,
                last_received_at=self.now,
                receive_count=1,
            )
            self.s.add(row)
        else:
            row.last_received_at = self.now
            row.receive_count += 1
        self._rows[key] = row


def silenced_alerts(s: Session, tenant: str, limit: int = 200) -> Sequence[SilencedAlert]:
    q = (
        select(SilencedAlert)
        .where(SilencedAlert.tenant == tenant)
        .order_by(SilencedAlert.last_received_at.desc())
        .limit(limit)
    )
    return s.scalars(q).all()
