"""Erase a person: remove their account rows and replace every mention of them (name, full
name, emails, contact addresses) in every table with one stable pseudonym.

The scan is driven by the schema itself (every text and JSON column of every table in
``Base.metadata``), so a table added later is covered without touching this file. Whole rows
that only exist for the person (web user, sessions, subscriptions) are deleted; rows that are
part of an incident's history stay and read "person-3f2a…" where the person was. The audit log
never held names (its people are pseudonyms from the start), so it is not rewritten: only the
pseudonym's display name is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Table, Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from opsbook.audit.people import pseudonym
from opsbook.config.models import Config
from opsbook.core.errors import InputError, NotFound
from opsbook.core.ids import new_id
from opsbook.flows import audit
from opsbook.storage.tables import (
    Approval,
    Base,
    Delivery,
    Incident,
    ScheduleOverride,
    StepRun,
    TimelineEntry,
    Token,
)
from opsbook.storage.tables_audit import AuditName, ErasureRow
from opsbook.storage.tables_comms import StatusNoticeRow, SubscriberRow
from opsbook.storage.tables_web import WebSession, WebUser

SKIP_TABLES = {"audit_log", "audit_head", "alembic_version", "erasures"}
"""Never rewritten: the append-only log (holds pseudonyms only), its head, erasure records."""


@dataclass
class Person:
    """Who is erased in one tenant: the names and addresses that identify them."""

    tenant: str
    pseudonym: str
    names: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)

    def terms(self) -> list[str]:
        """Longest first, so an address is replaced whole before the name inside it."""
        seen = {t for t in [*self.contacts, *self.emails, *self.names] if t and len(t) >= 2}
        return sorted(seen, key=len, reverse=True)


@dataclass
class Erasure:
    """What an erasure changed (or, dry run, would change): table → rows."""

    pseudonym: str
    tenant: str
    changes: dict[str, int]
    dry_run: bool
    config_mentions: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pseudonym": self.pseudonym,
            "tenant": self.tenant,
            "changes": self.changes,
            "rows": sum(self.changes.values()),
            "dry_run": self.dry_run,
            "config_mentions": self.config_mentions,
        }


def _emails(contacts: list[str]) -> list[str]:
    out = []
    for c in contacts:
        found = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", c)
        if found:
            out.append(found.group(0))
    return out


def find_person(s: Session, config: Config, tenant: str, who: str) -> Person:
    """Resolve ``who`` (a user name or an email) to everything that names them in ``tenant``."""
    who = who.strip()
    if not who:
        raise InputError("name the person: a user name or an email address", field="person")
    is_email = "@" in who
    names: list[str] = []
    emails: list[str] = [who] if is_email else []
    contacts: list[str] = []
    for u in config.users:
        if u.tenant != tenant:
            continue
        mine = u.name.lower() == who.lower() or (
            is_email and any(who.lower() in c.lower() for c in u.contacts)
        )
        if mine:
            names += [u.name, *([u.full_name] if u.full_name else [])]
            contacts += u.contacts
            emails += _emails(u.contacts)
    if not is_email:
        names.append(who)
    web = s.scalars(
        select(WebUser.name).where(WebUser.tenant == tenant, WebUser.name.in_(names or [who]))
    ).all()
    subs = s.scalars(
        select(SubscriberRow.email).where(
            SubscriberRow.tenant == tenant, SubscriberRow.email.in_(emails or [who])
        )
    ).all()
    known = bool(web or subs or contacts or config.user(tenant, who))
    if not known and not _acted(s, tenant, who):
        raise NotFound(f"nobody called {who!r} appears in tenant {tenant!r}", field="person")
    key = audit.key_of(s)
    ident = names[0] if names else who
    return Person(
        tenant=tenant,
        pseudonym=pseudonym(key, tenant, ident),
        names=sorted(set(names), key=str.lower),
        emails=sorted({e for e in emails}, key=str.lower),
        contacts=sorted(set(contacts)),
    )


def _text_columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, (String, Text, JSON)) or _is_json(c)]


def _is_json(col: Any) -> bool:
    impl = getattr(col.type, "impl", None)
    return isinstance(col.type, JSON) or isinstance(impl, JSON) or "JSON" in type(col.type).__name__


def _filters(table: Table, tenant: str, terms: list[str]) -> list[Any]:
    """Rows of ``tenant`` (where the table has tenants) with a term in any text column."""
    cols = _text_columns(table)
    likes = []
    for col in cols:
        expr = cast(col, Text) if _is_json(col) else col
        likes += [expr.icontains(t, autoescape=True) for t in terms]
    where = [or_(*likes)] if likes else []
    if "tenant" in table.columns:
        where.append(table.columns["tenant"].in_([tenant, "*"]))
    return where


def _acted(s: Session, tenant: str, who: str) -> bool:
    """Whether ``who`` is exactly the name of someone who acted in ``tenant`` (a former user no
    longer in the config): never a mere word of some text, so erasing "a" cannot rewrite prose."""
    for col in (
        TimelineEntry.actor,
        Approval.actor,
        StepRun.requested_by,
        Incident.acknowledged_by,
        Incident.resolved_by,
        Incident.commander,
        Delivery.user_name,
        ScheduleOverride.user_name,
    ):
        table = col.class_
        q = select(col).where(table.tenant == tenant, col == who).limit(1)
        if s.execute(q).first():
            return True
    return False


def _replacer(person: Person) -> Callable[[str], str]:
    parts = []
    for t in person.terms():
        core = re.escape(t)
        # a bare name is replaced as a word ("ann" never turns "annual" into "person-…al")
        parts.append(core if ("@" in t or ":" in t) else rf"(?<![\w]){core}(?![\w])")
    rx = re.compile("|".join(parts), re.IGNORECASE)
    return lambda text: rx.sub(person.pseudonym, text)


def _scrub(value: Any, sub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return sub(value)
    if isinstance(value, list):
        return [_scrub(v, sub) for v in value]
    if isinstance(value, dict):
        return {sub(k) if isinstance(k, str) else k: _scrub(v, sub) for k, v in value.items()}
    return value


def _delete_accounts(s: Session, person: Person, now: datetime, changes: dict[str, int]) -> None:
    """The rows that exist only for the person: web user and sessions, subscriptions."""
    t = person.tenant
    n = s.execute(
        delete(WebSession).where(WebSession.tenant == t, WebSession.user_name.in_(person.names))
    ).rowcount  # type: ignore[attr-defined]
    changes["web_sessions"] = changes.get("web_sessions", 0) + n
    n = s.execute(
        delete(WebUser).where(WebUser.tenant == t, WebUser.name.in_(person.names))
    ).rowcount  # type: ignore[attr-defined]
    changes["web_users"] = changes.get("web_users", 0) + n
    lowered = [e.lower() for e in person.emails]
    subs = [
        sid
        for sid, email in s.execute(
            select(SubscriberRow.id, SubscriberRow.email).where(SubscriberRow.tenant == t)
        )
        if email.lower() in lowered
    ]
    if subs:
        n = s.execute(
            delete(StatusNoticeRow).where(StatusNoticeRow.subscriber_id.in_(subs))
        ).rowcount  # type: ignore[attr-defined]
        changes["status_notices"] = changes.get("status_notices", 0) + n
        n = s.execute(delete(SubscriberRow).where(SubscriberRow.id.in_(subs))).rowcount  # type: ignore[attr-defined]
        changes["status_subscribers"] = changes.get("status_subscribers", 0) + n
    # tokens named after the person stop working (their rows are pseudonymised by the scan)
    sub = _replacer(person)
    for tok in s.scalars(select(Token).where(Token.tenant == t, Token.revoked_at.is_(None))):
        if sub(tok.name) != tok.name:
            tok.revoked_at = now
            changes["tokens_revoked"] = changes.get("tokens_revoked", 0) + 1
    s.flush()


def _pseudonymise(s: Session, person: Person, changes: dict[str, int]) -> None:
    """Rewrite every mention in every other table, row by row, keyed by primary key."""
    terms, sub = person.terms(), _replacer(person)
    for table in Base.metadata.sorted_tables:
        if table.name in SKIP_TABLES or not _text_columns(table):
            continue
        pk = list(table.primary_key.columns)
        cols = [c for c in _text_columns(table) if c not in pk]
        if table.name == AuditName.__tablename__:  # a display name: drop it, keep the pseudonym
            rows = s.execute(select(table).where(*_filters(table, person.tenant, terms))).all()
            hits = [r.ref for r in rows if sub(r.display) != r.display]
            if hits:
                s.execute(delete(AuditName).where(AuditName.ref.in_(hits)))
                changes[table.name] = changes.get(table.name, 0) + len(hits)
            continue
        changed = 0
        for row in s.execute(select(table).where(*_filters(table, person.tenant, terms))).all():
            values = {}
            for col in cols:
                old = getattr(row, col.key)
                new = _scrub(old, sub)
                if new != old:
                    values[col.key] = new
            if values:
                s.execute(
                    update(table).where(*[c == getattr(row, c.key) for c in pk]).values(**values)
                )
                changed += 1
        if changed:
            changes[table.name] = changes.get(table.name, 0) + changed


def config_mentions(config: Config, person: Person) -> list[str]:
    """Where opsbook.yaml still names the person (the operator removes them and reloads)."""
    sub = _replacer(person)
    out = [
        f"users[{i}]"
        for i, u in enumerate(config.users)
        if u.tenant == person.tenant and sub(u.name) != u.name
    ]
    for i, sch in enumerate(config.schedules):
        if sch.tenant == person.tenant and sub(sch.model_dump_json()) != sch.model_dump_json():
            out.append(f"schedules[{i}] ({sch.name})")
    for i, pol in enumerate(config.escalation_policies):
        if pol.tenant == person.tenant and sub(pol.model_dump_json()) != pol.model_dump_json():
            out.append(f"escalation_policies[{i}] ({pol.name})")
    return out


def erase_person(
    s: Session,
    config: Config,
    *,
    tenant: str,
    who: str,
    actor: str,
    now: datetime,
    dry_run: bool = False,
) -> Erasure:
    """Erase ``who`` in ``tenant`` inside ``s``'s transaction (all or nothing); with ``dry_run``
    the caller rolls back and nothing changes. The erasure is audited and recorded."""
    if config.tenant(tenant) is None:
        raise InputError(f"unknown tenant {tenant!r}", field="tenant")
    person = find_person(s, config, tenant, who)
    changes: dict[str, int] = {}
    _delete_accounts(s, person, now, changes)
    _pseudonymise(s, person, changes)
    changes = {k: v for k, v in sorted(changes.items()) if v}
    result = Erasure(person.pseudonym, tenant, changes, dry_run, config_mentions(config, person))
    if not dry_run:
        s.add(
            ErasureRow(
                id=new_id("era"),
                tenant=tenant,
                pseudonym=person.pseudonym,
                requested_by=actor
                if actor.startswith(("system", "cli", "operator"))
                else pseudonym(audit.key_of(s), tenant, actor),
                at=now,
                changes=changes,
                note="",
            )
        )
        audit.record(
            s,
            at=now,
            tenant=tenant,
            action="erasure.done",
            actor=actor,
            subject=person.pseudonym,
            data={"changes": changes},
        )
    return result
