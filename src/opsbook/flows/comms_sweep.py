"""The periodic sweep for communications: maintenance notices, subscriber emails, post-mortem reminders.

Runs every few seconds in each server process (and `opsbook worker`). Each notice is claimed with a
compare-and-set on its ``sent_at`` before it is sent, so two processes never send the same one;
a failed send releases the claim and the next sweep tries again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config
from opsbook.core.settings import Settings
from opsbook.flows.outbox import queue_page
from opsbook.flows.postmortems import collect_reminders
from opsbook.flows.statuspage import queue_maintenance_notices
from opsbook.flows.subscriptions import CONFIRM_KIND
from opsbook.incidents.models import EntryKind
from opsbook.notify.apprise_channel import DeliveryResult
from opsbook.notify.apprise_channel import send as apprise_send
from opsbook.storage import repos
from opsbook.storage.tables_comms import StatusNoticeRow, SubscriberRow

log = structlog.get_logger("opsbook.comms")
Send = Callable[[str, str, str, float], DeliveryResult]


def _with_recipient(url: str, email: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}to={email}"


def remind(s: Session, config: Config, settings: Settings, now: datetime) -> int:
    """Post-mortems that are due: a timeline note and a message to the incident's commander."""
    reminders = collect_reminders(s, now, config.postmortems.policy())
    for r in reminders:
        inc = repos.get_incident(s, r.tenant, r.incident_id)
        repos.add_entry(
            s,
            inc,
            now,
            "opsbook",
            EntryKind.NOTIFICATION,
            r.message,
            {"reminder": "postmortem", "to": r.to},
        )
        if r.to:
            seq = int(hashlib.sha256(f"pm:{now.isoformat()}".encode()).hexdigest()[:8], 16)
            queue_page(
                s,
                config,
                settings,
                incident=inc,
                user=r.to,
                reason="update",
                update_seq=seq,
                now=now,
            )
    return len(reminders)


def send_notices(
    sessions: sessionmaker[Session],
    config: Config,
    now: datetime,
    send: Send = apprise_send,
    limit: int = 100,
) -> int:
    """Email pending status notices to subscribers through ``notify.status_email``; returns how many went."""
    url = config.notify.status_email
    if not url:
        return 0
    with sessions.begin() as s:
        rows = list(
            s.execute(
                select(
                    StatusNoticeRow.id,
                    StatusNoticeRow.subject,
                    StatusNoticeRow.body,
                    SubscriberRow.email,
                )
                .join(SubscriberRow, SubscriberRow.id == StatusNoticeRow.subscriber_id)
                .where(
                    StatusNoticeRow.sent_at.is_(None),
                    SubscriberRow.unsubscribed_at.is_(None),
                    # double opt-in: a pending address is sent its confirmation link only
                    or_(
                        SubscriberRow.confirmed_at.is_not(None),
                        StatusNoticeRow.kind == CONFIRM_KIND,
                    ),
                )
                .limit(limit)
            )
        )
    sent = 0
    for notice_id, subject, body, email in rows:
        with sessions.begin() as s:  # claim it: only one process sends it
            res = s.execute(
                update(StatusNoticeRow)
                .where(StatusNoticeRow.id == notice_id, StatusNoticeRow.sent_at.is_(None))
                .values(sent_at=now)
                .execution_options(synchronize_session=False)
            )
            claimed = res.rowcount == 1  # type: ignore[attr-defined]
        if not claimed:
            continue
        result = send(
            _with_recipient(url, email), subject, body, config.notify.send_timeout.total_seconds()
        )
        if result.ok:
            sent += 1
            continue
        log.warning("status_notice_failed", notice=notice_id, detail=result.detail)
        with sessions.begin() as s:  # release the claim: the next sweep tries again
            s.execute(
                update(StatusNoticeRow)
                .where(StatusNoticeRow.id == notice_id)
                .values(sent_at=None)
                .execution_options(synchronize_session=False)
            )
    return sent


def sweep(
    sessions: sessionmaker[Session],
    config: Config,
    settings: Settings,
    now: datetime,
    send: Send = apprise_send,
) -> dict[str, int]:
    """One pass: queue maintenance notices, remind about post-mortems, send subscriber emails."""
    with sessions.begin() as s:
        maintenance = queue_maintenance_notices(s, config, now)
        reminders = remind(s, config, settings, now)
    return {
        "maintenance_notices": maintenance,
        "reminders": reminders,
        "notices_sent": send_notices(sessions, config, now, send),
    }
