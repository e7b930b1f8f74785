"""Query helpers per aggregate. Every function takes the tenant: there is no unscoped read."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, func, literal, select, tuple_
from sqlalchemy.orm import Session

from opsbook.core.errors import InputError, NotFound
from opsbook.storage.tables import Alert, Incident, TimelineEntry, Token, UTCDateTime


def get_incident(
    s: Session, tenant: str, incident_id: str, *, for_update: bool = False
) -> Incident:
    """The incident, or NotFound (also for another tenant's id: it must look nonexistent)."""
    q = select(Incident).where(Incident.tenant == tenant, Incident.id == incident_id)
    if for_update:
        q = q.with_for_update()
    row = s.scalars(q).first()
    if row is None:
        raise NotFound(f"no incident {incident_id!r}")
    return row


def open_incident_for_group(s: Session, tenant: str, group_key: str) -> Incident | None:
    q = select(Incident).where(Incident.tenant == tenant, Incident.open_key == group_key)
    return s.scalars(q).first()


def current_alert(s: Session, tenant: str, fingerprint: str) -> Alert | None:
    """The occurrence of this alert that belongs to an open incident, if any."""
    q = (
        select(Alert)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(
            Alert.tenant == tenant, Alert.fingerprint == fingerprint, Incident.open_key.is_not(None)
        )
        .order_by(Alert.first_received_at.desc())
        .limit(1)
    )
    return s.scalars(q).first()


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def current_alerts(s: Session, tenant: str, fingerprints: Sequence[str]) -> dict[str, Alert]:
    """For each fingerprint, its occurrence in an open incident (one query per 500 fingerprints)."""
    out: dict[str, Alert] = {}
    for chunk in _chunks(fingerprints):
        q = (
            select(Alert)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(
                Alert.tenant == tenant, Alert.fingerprint.in_(chunk), Incident.open_key.is_not(None)
            )
            .order_by(Alert.first_received_at)
        )
        out.update((a.fingerprint, a) for a in s.scalars(q))
    return out


def incidents_by_id(s: Session, tenant: str, ids: Sequence[str]) -> dict[str, Incident]:
    out: dict[str, Incident] = {}
    for chunk in _chunks(ids):
        q = select(Incident).where(Incident.tenant == tenant, Incident.id.in_(chunk))
        out.update((i.id, i) for i in s.scalars(q))
    return out


def open_incidents_by_group(s: Session, tenant: str, keys: Sequence[str]) -> dict[str, Incident]:
    out: dict[str, Incident] = {}
    for chunk in _chunks(keys):
        q = select(Incident).where(Incident.tenant == tenant, Incident.open_key.in_(chunk))
        out.update((i.group_key, i) for i in s.scalars(q))
    return out


def firing_counts(s: Session, tenant: str, incident_ids: Sequence[str]) -> dict[str, int]:
    """Firing alerts per incident, for the incidents given (absent = 0)."""
    out: dict[str, int] = {}
    for chunk in _chunks(incident_ids):
        q = (
            select(Alert.incident_id, func.count())
            .where(Alert.tenant == tenant, Alert.incident_id.in_(chunk), Alert.status == "firing")
            .group_by(Alert.incident_id)
        )
        out.update((i, int(n)) for i, n in s.execute(q).all())
    return out


def incident_alerts(
    s: Session, tenant: str, incident_id: str, *, limit: int | None = None
) -> Sequence[Alert]:
    """The incident's alerts, oldest first (the first ``limit`` of them when given)."""
    q = (
        select(Alert)
        .where(Alert.tenant == tenant, Alert.incident_id == incident_id)
        .order_by(Alert.first_received_at, Alert.id)
        .limit(limit)
    )
    return s.scalars(q).all()


Cursor = tuple[datetime, str]
"""Where a keyset page ends: the (time, id) of its last row; the next page starts after it."""


def encode_cursor(at: datetime, row_id: int | str) -> str:
    """An opaque, URL-safe cursor for (time, id)."""
    raw = f"{at.astimezone(UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, field: str = "cursor") -> Cursor:
    """The (time, id) of a cursor from :func:`encode_cursor`; InputError naming ``field`` else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        at, row_id = raw.split("|", 1)
        when = datetime.fromisoformat(at)
    except (ValueError, UnicodeDecodeError):
        raise InputError(
            "not a cursor this API gave out; start again without it", field=field
        ) from None
    if when.tzinfo is None or not row_id:
        raise InputError("not a cursor this API gave out; start again without it", field=field)
    return when, row_id


def alerts_page(
    s: Session, tenant: str, incident_id: str, limit: int, after: Cursor | None = None
) -> tuple[Sequence[Alert], str | None]:
    """One page of the incident's alerts, oldest first, and the cursor of the next (or None).

    Keyset on (first_received_at, id) over ``ix_alerts_incident_received``: page 100 of an
    incident with a million alerts costs what page 1 does."""
    q = select(Alert).where(Alert.tenant == tenant, Alert.incident_id == incident_id)
    if after is not None:
        at, alert_id = after
        q = q.where(
            tuple_(Alert.first_received_at, Alert.id)
            > tuple_(literal(at, UTCDateTime()), literal(alert_id, String()))
        )
    rows = s.scalars(q.order_by(Alert.first_received_at, Alert.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].first_received_at, rows[-1].id) if more else None


def timeline_page(
    s: Session, tenant: str, incident_id: str, limit: int, after: Cursor | None = None
) -> tuple[Sequence[TimelineEntry], str | None]:
    """One page of the incident's timeline, oldest first, and the cursor of the next (or None)."""
    q = select(TimelineEntry).where(
        TimelineEntry.tenant == tenant, TimelineEntry.incident_id == incident_id
    )
    if after is not None:
        at, entry_id = after
        if not entry_id.isdigit():
            raise InputError(
                "not a cursor this API gave out; start again without it", field="cursor"
            )
        q = q.where(
            tuple_(TimelineEntry.at, TimelineEntry.id)
            > tuple_(literal(at, UTCDateTime()), literal(int(entry_id), Integer()))
        )
    rows = s.scalars(q.order_by(TimelineEntry.at, TimelineEntry.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].at, rows[-1].id) if more else None


def firing_count(s: Session, tenant: str, incident_id: str) -> int:
    q = (
        select(func.count())
        .select_from(Alert)
        .where(Alert.tenant == tenant, Alert.incident_id == incident_id, Alert.status == "firing")
    )
    return int(s.scalar(q) or 0)


def timeline(s: Session, tenant: str, incident_id: str) -> Sequence[TimelineEntry]:
    q = (
        select(TimelineEntry)
        .where(TimelineEntry.tenant == tenant, TimelineEntry.incident_id == incident_id)
        .order_by(TimelineEntry.at, TimelineEntry.id)
    )
    return s.scalars(q).all()


def add_entry(
    s: Session,
    incident: Incident,
    at: datetime,
    actor: str,
    kind: str,
    message: str,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(
        tenant=incident.tenant,
        incident_id=incident.id,
        at=at,
        actor=actor,
        kind=kind,
        message=message,
        data=data or {},
    )
    s.add(entry)
    return entry


SEVERITIES = ("P0", "P1", "P2", "P3")
OPEN_CAP = 10_000
"""Open incidents considered for one page at most (they are sorted in memory: few, normally)."""


def list_incidents(
    s: Session,
    tenant: str,
    *,
    statuses: Sequence[str] = (),
    severities: Sequence[str] = (),
    service: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Incident], int]:
    """A page of incidents, open ones first, then by severity and newest; and the total count."""
    rows, total, _ = incidents_page(
        s, tenant, statuses=statuses, severities=severities, service=service, limit=limit,
        offset=offset,
    )  # fmt: skip
    return rows, total


def incidents_page(
    s: Session,
    tenant: str,
    *,
    statuses: Sequence[str] = (),
    severities: Sequence[str] = (),
    service: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
) -> tuple[list[Incident], int, str | None]:
    """A page of incidents in list order, the total count, and the cursor of the next page.

    List order: open incidents first, then by severity, newest first. Open ones are few and
    sorted here; closed ones are read per severity newest first along
    ``ix_incidents_tenant_severity`` (or ``…_service``), keyset after the cursor, so no page
    sorts the tenant's whole history. ``offset`` (without a cursor) is kept for old clients.
    """
    where: list[Any] = [Incident.tenant == tenant]
    if statuses:
        where.append(Incident.status.in_(statuses))
    if service:
        where.append(Incident.service == service)
    sevs = [x for x in SEVERITIES if not severities or x in severities]
    if severities:
        where.append(Incident.severity.in_(severities))
    total = int(s.scalar(select(func.count()).select_from(Incident).where(*where)) or 0)
    part, sev0, at0, id0 = _list_cursor(after) if after else ("o", "", None, "")
    out: list[Incident] = []
    if part == "o":
        # every open one of the tenant along the open-key index, filtered here: a filter in SQL
        # would lead the planner down that filter's index, over the whole history
        q = select(Incident).where(Incident.tenant == tenant, Incident.open_key.is_not(None))
        opened = sorted(
            (
                i
                for i in s.scalars(q.limit(OPEN_CAP))
                if (not statuses or i.status in statuses)
                and (not severities or i.severity in severities)
                and (not service or i.service == service)
            ),
            key=_open_order,
        )
        if id0:
            opened = [i for i in opened if _open_order(i) > _open_order_of(sev0, at0, id0)]
        skip = min(offset, len(opened))
        offset -= skip
        out = opened[skip : skip + limit + 1]  # one more: is there a next page?
    for sev in sevs:
        if len(out) > limit:
            break
        if part == "c" and sev < sev0:
            continue
        # closed: "open_key IS NULL" spelt so no planner walks the open-key index for it
        closed = func.coalesce(Incident.open_key, "") == ""
        q = select(Incident).where(*where, closed, Incident.severity == sev)
        if part == "c" and sev == sev0 and at0 is not None:
            q = q.where(
                tuple_(Incident.created_at, Incident.id)
                < tuple_(literal(at0, UTCDateTime()), literal(id0, String()))
            )
        if offset:
            n = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
            if n <= offset:
                offset -= n
                continue
        q = q.order_by(Incident.created_at.desc(), Incident.id.desc())
        out += s.scalars(q.offset(offset).limit(limit - len(out) + 1)).all()
        offset = 0
    more = len(out) > limit
    out = out[:limit]
    nxt = None
    if out and more:
        last = out[-1]
        tag = "o" if last.open_key is not None else "c"
        nxt = encode_cursor(last.created_at, f"{tag}|{last.severity}|{last.id}")
    return out, total, nxt


def _open_order(i: Incident) -> tuple[str, float, str]:
    return _open_order_of(i.severity, i.created_at, i.id)


def _open_order_of(sev: str, at: datetime | None, row_id: str) -> tuple[str, float, str]:
    """Severity, newest first, then id descending (as the closed part's index order)."""
    stamp = at.timestamp() if at else 0.0
    return (sev, -stamp, "".join(chr(0x10FFFF - ord(c)) for c in row_id))


def _list_cursor(text: str) -> tuple[str, str, datetime, str]:
    at, rest = decode_cursor(text)
    parts = rest.split("|")
    if len(parts) != 3 or parts[0] not in ("o", "c") or parts[1] not in SEVERITIES:
        raise InputError("not a cursor this API gave out; start again without it", field="cursor")
    return parts[0], parts[1], at, parts[2]


def token_by_hash(s: Session, secret_hash: str) -> Token | None:
    return s.scalars(select(Token).where(Token.secret_hash == secret_hash)).first()


def list_tokens(s: Session, tenant: str | None = None) -> Sequence[Token]:
    q = select(Token).order_by(Token.created_at)
    if tenant:
        q = q.where(Token.tenant == tenant)
    return s.scalars(q).all()


def open_counts(s: Session) -> Sequence[tuple[str, str, str, int]]:
    """(tenant, service, severity, count) of open incidents, for the open-incidents gauge;
    drill incidents (rehearsals) are left out."""
    # the open rows along ix_incidents_open_gauge, counted here: a GROUP BY in SQL would lead
    # the planner down an index in that order, over the whole history
    q = select(Incident.tenant, Incident.service, Incident.severity).where(
        Incident.open_key.is_not(None), Incident.drill_run_id.is_(None)
    )
    counts = Counter((t, sv, sev) for t, sv, sev in s.execute(q))
    return [(t, sv, sev, n) for (t, sv, sev), n in sorted(counts.items())]
