"""The inbox channel wired to storage: deliver ``inbox://`` pages, list, count and mark them read.

``InboxSender`` has the outbox's sender shape: an ``inbox://`` contact is stored as an
:class:`InboxItem` keyed by the delivery id (a second attempt of one delivery stores nothing
new), any other URL goes on to Apprise. The web UI shows the items at ``/ui/inbox`` and the
unread count (``unread_count``) in its navigation; the API gives it at ``GET /api/v1/inbox``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config
from opsbook.core.clock import Clock
from opsbook.core.errors import InputError, NotFound
from opsbook.core.ids import new_id
from opsbook.flows.outbox import Sender
from opsbook.notify import apprise_channel
from opsbook.notify.apprise_channel import DeliveryResult
from opsbook.notify.inbox import fit_title, is_inbox
from opsbook.storage.tables import Delivery, Incident
from opsbook.storage.tables_inbox import InboxItem

PAGE_SIZE = 50


@dataclass(frozen=True)
class Counts:
    """How many messages a person has, and how many they have not read."""

    unread: int
    total: int


def store(
    s: Session,
    *,
    item_id: str,
    tenant: str,
    user: str,
    title: str,
    body: str,
    now: datetime,
    incident_id: str | None = None,
    severity: str | None = None,
) -> bool:
    """Put one message in ``user``'s inbox; False if ``item_id`` is already there (a retry)."""
    if s.get(InboxItem, item_id) is not None:
        return False
    s.add(
        InboxItem(
            id=item_id,
            tenant=tenant,
            user_name=user,
            incident_id=incident_id,
            severity=severity,
            title=fit_title(title) or "(no title)",
            body=body,
            created_at=now,
            read_at=None,
        )
    )
    s.flush()
    return True


class InboxSender:
    """The outbox's sender: ``inbox://`` into the database, everything else through Apprise."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        fallback: Sender = apprise_channel.send,
    ) -> None:
        self.sessions, self.clock, self.fallback = sessions, clock, fallback

    def __call__(
        self,
        url: str,
        title: str,
        body: str,
        timeout: float = 10.0,
        *,
        delivery_id: str | None = None,
    ) -> DeliveryResult:
        if not is_inbox(url):
            return self.fallback(url, title, body, timeout, delivery_id=delivery_id)
        with self.sessions.begin() as s:
            d = s.get(Delivery, delivery_id) if delivery_id else None
            if d is None:
                return DeliveryResult(False, False, "an inbox message needs its delivery")
            inc = s.get(Incident, d.incident_id) if d.incident_id else None
            user = d.user_name
            store(
                s,
                item_id=d.id,
                tenant=d.tenant,
                user=d.user_name,
                title=title,
                body=body,
                now=self.clock.now(),
                incident_id=d.incident_id,
                severity=inc.severity if inc is not None else None,
            )
        return DeliveryResult(True, False, f"in {user}'s opsbook inbox")


def counts(s: Session, tenant: str, user: str) -> Counts:
    """Unread and total messages of one person."""
    mine = (InboxItem.tenant == tenant, InboxItem.user_name == user)
    total = s.scalar(select(func.count()).select_from(InboxItem).where(*mine)) or 0
    unread = (
        s.scalar(
            select(func.count()).select_from(InboxItem).where(*mine, InboxItem.read_at.is_(None))
        )
        or 0
    )
    return Counts(unread=unread, total=total)


def unread_count(s: Session, tenant: str, user: str) -> int:
    """How many of ``user``'s inbox messages are unread (the UI shows it in the navigation)."""
    return counts(s, tenant, user).unread


def items(
    s: Session, tenant: str, user: str, *, unread_only: bool = False, limit: int = PAGE_SIZE
) -> list[InboxItem]:
    """The person's messages, newest first."""
    q = select(InboxItem).where(InboxItem.tenant == tenant, InboxItem.user_name == user)
    if unread_only:
        q = q.where(InboxItem.read_at.is_(None))
    q = q.order_by(InboxItem.created_at.desc(), InboxItem.id.desc()).limit(max(1, min(limit, 500)))
    return list(s.scalars(q))


def mark_read(s: Session, tenant: str, user: str, now: datetime, item_id: str | None = None) -> int:
    """Mark one message (``item_id``) or all of them read; returns how many changed."""
    q = update(InboxItem).where(
        InboxItem.tenant == tenant, InboxItem.user_name == user, InboxItem.read_at.is_(None)
    )
    if item_id is not None:
        if (
            s.scalar(
                select(InboxItem.id).where(
                    InboxItem.id == item_id,
                    InboxItem.tenant == tenant,
                    InboxItem.user_name == user,
                )
            )
            is None
        ):
            raise NotFound(f"no inbox message {item_id!r}", field="id")
        q = q.where(InboxItem.id == item_id)
    res = s.execute(q.values(read_at=now).execution_options(synchronize_session=False))
    return int(res.rowcount)  # type: ignore[attr-defined]


def test_message(
    s: Session, config: Config, user: str, title: str, body: str, now: datetime
) -> tuple[str, str]:
    """``opsbook notify test inbox://USER``: a message in USER's inbox; (tenant, item id)."""
    found = [u for u in config.users if u.name == user]
    if not found:
        known = ", ".join(sorted({u.name for u in config.users})) or "none"
        raise InputError(f"no user {user!r} in the config; users: {known}", field="contact")
    if len(found) > 1:
        raise InputError(
            f"user {user!r} is in several tenants; name one of theirs in the config",
            field="contact",
        )
    item_id = new_id("ntf_test")
    store(s, item_id=item_id, tenant=found[0].tenant, user=user, title=title, body=body, now=now)
    return found[0].tenant, item_id
