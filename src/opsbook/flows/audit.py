"""The audit trail over storage: append an entry inside the caller's transaction, verify the
chain, read it back (export, API pages) with people's names where they are not erased.

Writers serialise on the single ``audit_head`` row: the first statement of ``record`` updates
it, which takes SQLite's write lock and PostgreSQL's row lock until the act's transaction ends,
so two replicas can never both append after the same entry (the chain cannot fork).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsbook.audit.chain import GENESIS, Broken, Entry, Stored, link, verify
from opsbook.audit.people import is_system, pseudonym
from opsbook.storage.tables_audit import AuditEntryRow, AuditHead, AuditName
from opsbook.storage.tables_web import WebUser

ACTIONS = (
    "token.created",
    "token.revoked",
    "signin.succeeded",
    "signin.failed",
    "user.role_changed",
    "config.reloaded",
    "config.reload_failed",
    "step.approved",
    "step.rejected",
    "step.break_glass",
    "silence.created",
    "silence.expired",
    "erasure.done",
    "retention.purged",
)


def _head(s: Session, lock: bool) -> tuple[int, str, bytes]:
    """(seq, hash, pseudonym key) of the head; with ``lock`` it is held until commit."""
    if lock:
        bumped = s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
        if bumped.rowcount == 0:  # type: ignore[attr-defined]  # a database made without 0009a's row
            s.add(AuditHead(id=1, seq=0, hash=GENESIS, pseudonym_key=secrets.token_hex(32)))
            s.flush()
    seq, hash_, key = s.execute(
        select(AuditHead.seq, AuditHead.hash, AuditHead.pseudonym_key).where(AuditHead.id == 1)
    ).one()
    return int(seq), str(hash_), bytes.fromhex(key)


def key_of(s: Session) -> bytes:
    """The pseudonym key (kept in the database's head row, made when the schema was)."""
    return _head(s, lock=False)[2]


def person_ref(s: Session, tenant: str, identity: str) -> str:
    """The stable pseudonym of ``identity`` in ``tenant``."""
    return pseudonym(key_of(s), tenant, identity)


def _ref(s: Session, key: bytes, tenant: str, who: str | None) -> str | None:
    if who is None or is_system(who):
        return who
    ref = pseudonym(key, tenant, who)
    if s.get(AuditName, ref) is None:
        s.add(AuditName(ref=ref, tenant=tenant, display=who[:320]))
    return ref


def record(
    s: Session,
    *,
    at: datetime,
    tenant: str,
    action: str,
    actor: str,
    subject: str | None = None,
    target: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry in ``s``'s transaction (the act and its entry commit together);
    people (``actor``, ``subject``) are stored as pseudonyms. Returns the entry's number."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    seq, prev, key = _head(s, lock=True)
    entry = Entry(
        seq=seq + 1,
        at=at,
        tenant=tenant,
        action=action,
        actor=_ref(s, key, tenant, actor) or "system",
        subject=_ref(s, key, tenant, subject),
        target=target[:200] if target else None,
        data=dict(data or {}),
    )
    digest = link(prev, entry)
    s.add(
        AuditEntryRow(
            seq=entry.seq,
            at=at,
            tenant=tenant,
            action=action,
            actor=entry.actor,
            subject=entry.subject,
            target=entry.target,
            data=entry.data,
            prev_hash=prev,
            hash=digest,
        )
    )
    s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=entry.seq, hash=digest))
    return entry.seq


def signin_failed(s: Session, login: str, at: datetime) -> None:
    """A failed web sign-in, in the tenant of the user it named when exactly one has that name."""
    tenant, _, name = login.strip().rpartition("/")
    if not tenant:
        found = list(s.scalars(select(WebUser.tenant).where(WebUser.name == name).limit(2)))
        tenant = found[0] if len(found) == 1 else "*"
    record(
        s,
        at=at,
        tenant=tenant[:64],
        action="signin.failed",
        actor="system:web",
        subject=name or "(empty)",
    )


def _stored(row: AuditEntryRow) -> Stored:
    return Stored(
        Entry(
            seq=row.seq,
            at=row.at,
            tenant=row.tenant,
            action=row.action,
            actor=row.actor,
            subject=row.subject,
            target=row.target,
            data=row.data or {},
        ),
        row.prev_hash,
        row.hash,
    )


def _rows(s: Session, batch: int = 1000) -> Iterator[Stored]:
    after = 0
    while True:
        rows = list(
            s.scalars(
                select(AuditEntryRow)
                .where(AuditEntryRow.seq > after)
                .order_by(AuditEntryRow.seq)
                .limit(batch)
            )
        )
        if not rows:
            return
        for row in rows:
            yield _stored(row)
        after = rows[-1].seq
        s.expunge_all()


@dataclass(frozen=True)
class Verdict:
    checked: int
    broken: Broken | None
    head: int


def verify_log(s: Session) -> Verdict:
    """Walk the whole chain against the head; the first broken entry, if any."""
    seq, hash_, _ = _head(s, lock=False)
    checked, broken = verify(_rows(s), head=(seq, hash_))
    return Verdict(checked, broken, seq)


def _names(s: Session, refs: set[str]) -> dict[str, str]:
    if not refs:
        return {}
    return {n.ref: n.display for n in s.scalars(select(AuditName).where(AuditName.ref.in_(refs)))}


def to_json(row: AuditEntryRow, names: Mapping[str, str]) -> dict[str, Any]:
    """An entry as exported: the pseudonym, and the person's name while they are not erased."""
    out: dict[str, Any] = {
        "seq": row.seq,
        "at": row.at.isoformat().replace("+00:00", "Z"),
        "tenant": row.tenant,
        "action": row.action,
        "actor": row.actor,
        "subject": row.subject,
        "target": row.target,
        "data": row.data or {},
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }
    for field in ("actor", "subject"):
        if (row_val := out[field]) and row_val in names:
            out[f"{field}_name"] = names[row_val]
    return out


def page(
    s: Session,
    *,
    tenant: str | None,
    after: int = 0,
    limit: int = 100,
    since: datetime | None = None,
    action: str | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` entries after sequence number ``after`` (keyset), oldest first."""
    q = select(AuditEntryRow).where(AuditEntryRow.seq > after)
    if tenant is not None:
        q = q.where(AuditEntryRow.tenant == tenant)
    if since is not None:
        q = q.where(AuditEntryRow.at >= since)
    if action is not None:
        q = q.where(AuditEntryRow.action == action)
    rows = list(s.scalars(q.order_by(AuditEntryRow.seq).limit(limit)))
    names = _names(s, {r for row in rows for r in (row.actor, row.subject) if r})
    return [to_json(row, names) for row in rows]


def export(
    s: Session, *, since: datetime | None = None, tenant: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every entry from ``since`` on, oldest first, in pages (JSON lines for auditors)."""
    after = 0
    while True:
        items = page(s, tenant=tenant, after=after, limit=1000, since=since)
        if not items:
            return
        yield from items
        after = items[-1]["seq"]
