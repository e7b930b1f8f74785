"""The notification outbox: queue a page as durable deliveries, then deliver them at least once.

Two halves, both wired to storage here (DESIGN §3, §6.4):

``queue_page`` runs inside the caller's transaction (an escalation tick, an incident update). It
picks the person's contacts for the severity and the time (``notify.rules``), renders one message
per contact (``notify.render``, sandboxed templates) and inserts one ``Delivery`` row per contact
plus a ``deliver`` job. The delivery id is ``notification_id(incident, update_seq, contact)``:
*one message per incident update, not per alert* — the caller passes the incident's update
sequence (a new alert grouped into an open incident is not an update; an escalation level, an
acknowledgement or a resolution is), and queueing the same update again inserts nothing, so a
retried escalation tick never pages twice.

``Deliverer`` runs the ``deliver`` jobs in the worker: it looks the contact URL up in the
*current* config at send time (the database keeps only ``(user, contact index)`` and a masked
form: secrets stay in opsbook.yaml), sends outside any transaction, and records the attempt.
Failures that may pass (5xx, 429, timeouts, connection errors) are retried with exponential
backoff and full jitter; others (400, an unknown URL) are dead at once; a message still failing
``dead_letter_after`` after it was queued is dead-lettered and raises ``OpsbookNotificationFailed``
on opsbook itself, as an alert through the normal intake flow. Every attempt is a timeline entry.

Delivery is *at least once*: a worker killed between sending and recording hands its job back
(``on_expired`` requeues it) and the message may go out twice. Both copies carry the same
delivery id (the ``X-Opsbook-Delivery`` header on webhooks and email, ``id`` in webhook bodies),
so a receiver that cares drops the duplicate by it.

Severity first (DESIGN §6.10): a delivery has its incident's ``priority`` (0 = P0) and its job
runs in the ``page`` lane at that priority, so a P0 is taken before any queued P3. The rate
limit never holds a P0: it is sent at once and only counted against the limit. A person with
at least ``notify.digest.DIGEST_AFTER`` pending non-P0 messages on one contact gets them as one
digest (``_fold``); the P0 is never folded. A page (``reason="page"``) whose escalation was
acknowledged or resolved after it was queued is not sent: it is ``cancelled`` with a timeline
note, checked when the delivery is taken for an attempt (the fence of DESIGN §6.5).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import structlog
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config, User
from opsbook.core.clock import Clock
from opsbook.core.ids import new_id
from opsbook.core.settings import Settings
from opsbook.flows.ingest import IngestBatch, ingest_many
from opsbook.incidents.models import Severity, Status
from opsbook.intake.models import AlertIn, EventAction
from opsbook.jobs.worker import JobKind
from opsbook.notify import apprise_channel, backoff, links
from opsbook.notify.apprise_channel import DeliveryResult
from opsbook.notify.digest import DIGEST_AFTER, Item, render_digest
from opsbook.notify.models import Diagnostic, Links, Notification
from opsbook.notify.redact import mask_url, scrub
from opsbook.notify.render import render_safe
from opsbook.notify.rules import contacts_for, scheme
from opsbook.notify.templates import channel_kind
from opsbook.storage import jobs, repos
from opsbook.storage.tables import Delivery, Escalation, Incident, Job, StepRun, TimelineEntry

log = structlog.get_logger("opsbook.outbox")

DELIVER_JOB = "deliver"
"""Job kind of one delivery attempt; payload ``{"delivery_id": …, "attempt": n}``."""

TIMELINE_KIND = "notification"
"""Timeline entry kind of pages queued and of every delivery attempt."""

SELF_ALERT = "OpsbookNotificationFailed"
"""Alert name opsbook raises on itself when a message is dead-lettered."""

RATE_LIMIT_PER_MINUTE = 30
"""At most this many sends per channel scheme per minute per ``Deliverer`` (one per process):
a storm of pages is held back and spread out instead of getting a Slack app or a mail relay
throttled or banned. Over the limit a delivery waits a few seconds; that is not a failure."""

RATE_LIMIT_WINDOW = timedelta(minutes=1)

DIGEST_REASON = "digest"
"""``Delivery.reason`` of a digest (its members are ``digested`` with its id in ``digest_id``)."""

DIGEST_MAX = 10_000
"""Messages folded into one digest at most; more pending make the next digest."""

DIGEST_P0_WINDOW = timedelta(minutes=30)
"""A digest counts the P0 pages the contact got on their own since its last digest, or this long."""
LINK_ACTIONS_PATH = "/api/v1/links/"
_ROLE_RANK = {"viewer": 0, "responder": 1, "commander": 2, "admin": 3}
_DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]


# ---------------------------------------------------------------- queueing (caller's transaction)


def _secret(settings: Settings) -> tuple[str | None, str]:
    """(link secret, why links are off) from the settings."""
    if settings.secret_key is None:
        return None, "one-tap acknowledge links are off: the server has no OPSBOOK_SECRET_KEY"
    key = settings.secret_key.get_secret_value()
    if len(key.encode()) < 16:
        return (
            None,
            "one-tap acknowledge links are off: OPSBOOK_SECRET_KEY is shorter than 16 characters",
        )
    return key, ""


def _links(
    config: Config,
    settings: Settings,
    incident: Incident,
    user: User,
    now: datetime,
) -> tuple[Links, str]:
    """The page link and the signed actions this user may take now; plus why links are off."""
    base = config.notify.base_url.rstrip("/")
    page = f"{base}/incidents/{incident.id}"
    key, why = _secret(settings)
    if key is None:
        return Links(page), why
    expires = now + config.notify.link_ttl
    rank = _ROLE_RANK.get(user.role, 0)
    ack = res = None
    if incident.status == Status.TRIGGERED and rank >= _ROLE_RANK["responder"]:
        ack = (
            base
            + LINK_ACTIONS_PATH
            + links.sign("acknowledge", incident.id, user.name, expires, key)
        )
    if Status(incident.status).is_open and rank >= _ROLE_RANK["commander"]:
        res = base + LINK_ACTIONS_PATH + links.sign("resolve", incident.id, user.name, expires, key)
    return Links(page, ack, res), ""


def incident_diagnostics(s: Session, incident: Incident, limit: int = 10) -> list[Diagnostic]:
    """The results of the incident's automatic runbook steps (diagnostics at open), oldest first."""
    q = (
        select(StepRun)
        .where(
            StepRun.tenant == incident.tenant,
            StepRun.incident_id == incident.id,
            StepRun.automatic.is_(True),
            StepRun.result.is_not(None),
        )
        .order_by(StepRun.requested_at, StepRun.id)
        .limit(limit)
    )
    out = []
    for run in s.scalars(q):
        result = run.result or {}
        out.append(
            Diagnostic(
                run.step_title,
                str(result.get("status", run.status)),
                str(result.get("summary", "")),
            )
        )
    return out


def _summary(s: Session, incident: Incident) -> str:
    """The first alert's summary (the incident title is ``alertname: summary``)."""
    for alert in repos.incident_alerts(s, incident.tenant, incident.id, limit=1):
        a = alert.annotations or {}
        text = a.get("summary") or a.get("description") or a.get("message")
        if isinstance(text, str) and text.strip():
            return text
    return incident.title


def _kind(incident: Incident, reason: str, level: int | None) -> str:
    if reason == "page":
        return "escalated" if level is not None and level > 1 else "triggered"
    return {"acknowledged": "acknowledged", "resolved": "resolved", "closed": "resolved"}.get(
        incident.status, "updated"
    )


def _insert_ignore(s: Session, row: dict[str, Any]) -> bool:
    """Insert a delivery unless its id exists (race-safe: ON CONFLICT DO NOTHING); True if new.

    RETURNING tells whether the row went in (psycopg reports no rowcount for this statement).
    """
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(_DELIVERIES).on_conflict_do_nothing(index_elements=["id"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(_DELIVERIES).on_conflict_do_nothing(index_elements=["id"])
    else:  # pragma: no cover - opsbook supports SQLite and PostgreSQL
        if s.get(Delivery, row["id"]) is not None:
            return False
        stmt = insert(_DELIVERIES)
    return s.execute(stmt.values(row).returning(_DELIVERIES.c.id)).first() is not None


def queue_page(
    s: Session,
    config: Config,
    settings: Settings,
    *,
    incident: Incident,
    user: str,
    reason: Literal["page", "update"],
    update_seq: int,
    now: datetime,
    level: int | None = None,
    diagnostics: Sequence[Diagnostic] = (),
    summary: str | None = None,
) -> list[Delivery]:
    """Queue one message per contact of ``user`` about update ``update_seq`` of ``incident``.

    Runs in the caller's transaction; nothing is sent here (the ``deliver`` jobs do that after
    the commit). ``update_seq`` numbers the incident's updates (level 1 page, level 2 page,
    acknowledged, …): one message per update, not per alert. The same (incident, update_seq,
    contact) yields the same delivery id, and an existing id is left alone, so calling this
    twice for one update queues nothing the second time.

    ``diagnostics`` are the results shown in the message; empty means "read the incident's
    automatic step results". Returns the deliveries of this update for this user (new and
    already queued); an empty list means nobody can be reached now: the user is not in this
    tenant, has no contacts, or their rules hold this severity back (quiet hours) — the
    escalation should move on.

    ``summary`` replaces the first alert's summary in the message (a break-glass notice says
    what was approved and why).
    """
    person = config.user(incident.tenant, user)
    if person is None:
        log.warning("page_unknown_user", incident=incident.id, user=user)
        return []
    severity = Severity(incident.severity)
    chosen = contacts_for(person, severity, now, person.notify)
    if not chosen:
        return []
    link_set, links_off = _links(config, settings, incident, person, now)
    diags = tuple(diagnostics) or tuple(incident_diagnostics(s, incident))
    summary = summary or _summary(s, incident)
    overrides: Mapping[str, Any] | None = {
        str(k): v for k, v in config.notify.templates.items()
    } or None
    kind = _kind(incident, reason, level)
    priority = jobs.severity_priority(incident.severity)
    new: list[str] = []
    new_channels: list[str] = []
    ids: list[str] = []
    fallbacks: set[str] = set()
    for contact in chosen:
        index = person.contacts.index(contact)
        note = Notification(
            incident_id=incident.id,
            update_seq=update_seq,
            contact=contact,
            kind=kind,
            tenant=incident.tenant,
            service=incident.service,
            severity=incident.severity,
            status=incident.status,
            summary=summary,
            title=incident.title,
            links=link_set,
            diagnostics=diags,
        )
        ids.append(note.id)
        channel = scheme(contact)
        title, body, fallback = render_safe(kind, channel, note.context(), overrides)
        if fallback:
            fallbacks.add(fallback)
        if links_off and channel_kind(channel) != "webhook":  # webhook bodies must stay JSON
            body = f"{body}\n\n({links_off}; open the incident page to act.)"
        row = {
            "id": note.id,
            "tenant": incident.tenant,
            "incident_id": incident.id,
            "user_name": person.name,
            "contact_index": index,
            "contact_display": mask_url(contact),
            "channel": channel,
            "reason": reason,
            "title": title,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            "sent_at": None,
            "last_error": None,
            "priority": priority,
            "digest_id": None,
        }
        if _insert_ignore(s, row):
            new.append(note.id)
            new_channels.append(channel)
            jobs.enqueue(
                s,
                incident.tenant,
                DELIVER_JOB,
                {"delivery_id": note.id, "attempt": 0},
                now,
                priority=priority,
                lane=jobs.PAGE_LANE,
                incident_id=incident.id,
            )
    if new:
        channels = ", ".join(dict.fromkeys(new_channels))
        what = f"paging {person.name}" + (f" (level {level})" if level is not None else "")
        if reason == "update":
            what = f"notifying {person.name} of the update"
        message = f"{what} via {channels}"
        if links_off:
            message += f" ({links_off})"
        for why in sorted(fallbacks):
            message += f"; default template used: {why}"
        repos.add_entry(
            s,
            incident,
            now,
            "opsbook",
            TIMELINE_KIND,
            message,
            {"user": person.name, "level": level, "update_seq": update_seq, "deliveries": new},
        )
    s.flush()
    rows = s.scalars(select(Delivery).where(Delivery.id.in_(ids))).all()
    order = {d: i for i, d in enumerate(ids)}
    return sorted(rows, key=lambda d: order[d.id])


# ---------------------------------------------------------------- delivering (the worker)


class Sender(Protocol):
    """``notify.apprise_channel.send``'s shape: deliver one message, say whether to retry."""

    def __call__(
        self,
        url: str,
        title: str,
        body: str,
        timeout: float = ...,
        *,
        delivery_id: str | None = None,
    ) -> DeliveryResult: ...


class RateLimiter:
    """At most ``limit`` sends per key (channel scheme) in any ``window``; thread-safe.

    Time comes from the caller (the injected clock), so tests drive it without sleeping.
    """

    def __init__(
        self, limit: int = RATE_LIMIT_PER_MINUTE, window: timedelta = RATE_LIMIT_WINDOW
    ) -> None:
        self.limit, self.window = limit, window
        self._sent: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, now: datetime, *, force: bool = False) -> datetime | None:
        """Take a slot (None) or say when one frees up (a time after ``now``).

        ``force`` (a P0) always takes one, over the limit if need be: the send is counted, so
        lower severities wait longer, but it is never held.
        """
        with self._lock:
            q = self._sent.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if force or len(q) < self.limit:
                q.append(now)
                return None
            return q[0] + self.window


@dataclass(frozen=True)
class _Attempt:
    """What a delivery job needs outside the transaction."""

    delivery_id: str
    attempt: int
    url: str
    title: str
    body: str
    channel: str
    priority: int = jobs.DEFAULT_PRIORITY
    reason: str = "page"


class Deliverer:
    """Runs ``deliver`` jobs: one attempt per job, recorded on the delivery and the timeline.

    ``config`` is a callable so a reload (SIGHUP) is seen at the next attempt: a contact URL
    fixed in opsbook.yaml is used by the retry. ``send`` is injectable for tests; the default
    goes through Apprise.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        clock: Clock,
        send: Sender = apprise_channel.send,
        *,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.sessions, self.config, self.clock, self.send = sessions, config, clock, send
        self.limiter = limiter or RateLimiter()

    def job_kinds(self) -> dict[str, JobKind]:
        """``{"deliver": …}`` for the worker; a delivery job whose worker died is run again."""
        return {
            DELIVER_JOB: JobKind(
                run=self.deliver, on_expired=requeue_expired, lease=timedelta(minutes=2)
            )
        }

    def deliver(self, payload: Mapping[str, Any]) -> None:
        """One attempt at the delivery ``payload["delivery_id"]``; a no-op if it is settled.

        ``payload["attempt"]`` is the number of attempts recorded when the job was queued: a
        job left over from an attempt that was already recorded (a duplicate) does nothing.
        """
        delivery_id = str(payload["delivery_id"])
        expected = payload.get("attempt")
        cfg = self.config()
        prepared = self._prepare(cfg, delivery_id, expected if isinstance(expected, int) else None)
        if prepared is None:
            return
        if prepared.priority > 0 and prepared.reason != DIGEST_REASON and self._fold(cfg, prepared):
            return  # folded into a digest, which is queued as its own delivery
        now = self.clock.now()
        later = self.limiter.acquire(prepared.channel, now, force=prepared.priority == 0)
        if later is not None:
            self._postpone(prepared, later + timedelta(seconds=1))
            return
        timeout = cfg.notify.send_timeout.total_seconds()
        try:
            result = self.send(
                prepared.url, prepared.title, prepared.body, timeout, delivery_id=delivery_id
            )
        except Exception as exc:  # noqa: BLE001 - a channel bug is a failed attempt, not a lost page
            result = DeliveryResult(False, True, f"{type(exc).__name__}: {exc}")
        self._record(cfg, prepared, result)

    # -- steps of one attempt, each its own short transaction

    def _prepare(self, cfg: Config, delivery_id: str, expected: int | None) -> _Attempt | None:
        now = self.clock.now()
        with self.sessions.begin() as s:
            d = s.get(Delivery, delivery_id)
            if d is None or d.status != "pending":
                return None
            if expected is not None and expected != d.attempts:
                log.info(
                    "delivery_job_stale", delivery=d.id, expected=expected, attempts=d.attempts
                )
                return None
            fenced = _fenced(s, d)
            if fenced is not None:
                _cancel(s, d, fenced, now)
                return None
            url, problem = _contact_url(cfg, d)
            if url is None:
                self._finish_dead(s, cfg, d, now, problem, attempted=False)
                return None
            return _Attempt(d.id, d.attempts, url, d.title, d.body, d.channel, d.priority, d.reason)

    def _fold(self, cfg: Config, a: _Attempt) -> bool:
        """Fold the contact's pending non-P0 messages into one digest if enough wait; True if so.

        The members are marked ``digested`` by one conditional UPDATE (pages of an escalation
        that was stopped are left to be cancelled by their own jobs), the digest row and its
        ``deliver`` job are inserted in the same transaction; each member's incident gets one
        timeline entry. The members' own jobs then find nothing pending and do nothing.
        """
        now = self.clock.now()
        with self.sessions.begin() as s:
            d = s.get(Delivery, a.delivery_id)
            if d is None or d.status != "pending":
                return False
            contact = (
                Delivery.tenant == d.tenant,
                Delivery.user_name == d.user_name,
                Delivery.contact_index == d.contact_index,
            )
            waiting = (
                *contact,
                Delivery.status == "pending",
                Delivery.priority > 0,
                Delivery.reason.in_(("page", "update")),
            )
            count = s.scalar(
                select(func.count()).select_from(
                    select(Delivery.id).where(*waiting).limit(DIGEST_AFTER).subquery()
                )
            )
            if int(count or 0) < DIGEST_AFTER:
                return False
            digest_id = new_id("dgst")
            stopped = (
                select(Escalation.incident_id)
                .where(
                    Escalation.incident_id == Delivery.incident_id,
                    Escalation.done_reason.in_(("acknowledged", "resolved")),
                )
                .exists()
            )
            chosen = (
                select(Delivery.id)
                .where(
                    *waiting,
                    ~((Delivery.reason == "page") & stopped),
                )
                .order_by(Delivery.created_at, Delivery.id)
                .limit(DIGEST_MAX)
                .correlate(None)  # its own scan of deliveries, not the row being updated
                .scalar_subquery()
            )
            s.execute(
                update(Delivery)
                .where(Delivery.id.in_(chosen), Delivery.status == "pending")
                .values(status="digested", digest_id=digest_id)
                .execution_options(synchronize_session=False)
            )
            rows = s.execute(
                select(
                    Delivery.id,
                    Delivery.incident_id,
                    Delivery.priority,
                    Incident.service,
                    Incident.severity,
                    Incident.title,
                )
                .join(Incident, Incident.id == Delivery.incident_id, isouter=True)
                .where(Delivery.digest_id == digest_id)
                .order_by(Delivery.priority, Delivery.created_at, Delivery.id)
            ).all()
            if not rows:  # another worker folded them meanwhile (this one too, or it is fenced)
                return s.scalar(select(Delivery.status).where(Delivery.id == d.id)) != "pending"
            folded_this = any(r.id == d.id for r in rows)
            # the members' queued attempts would find nothing to do: retire them in one go, so a
            # storm's thousands of jobs do not each cost a claim
            members = select(Delivery.id).where(Delivery.digest_id == digest_id).scalar_subquery()
            s.execute(
                update(Job)
                .where(
                    Job.status == "queued",
                    Job.lane == jobs.PAGE_LANE,
                    Job.kind == DELIVER_JOB,
                    Job.tenant == d.tenant,
                    Job.payload["delivery_id"].as_string().in_(members),
                )
                .values(status="done", finished_at=now)
                .execution_options(synchronize_session=False)
            )
            base = cfg.notify.base_url.rstrip("/")
            items = [
                Item(
                    incident_id=r.incident_id or "",
                    service=r.service or "opsbook",
                    severity=r.severity or f"P{r.priority}",
                    title=r.title or "",
                    link=f"{base}/incidents/{r.incident_id}" if r.incident_id else base,
                )
                for r in rows
            ]
            last_digest = s.scalar(
                select(func.max(Delivery.created_at)).where(
                    *contact, Delivery.reason == DIGEST_REASON
                )
            )
            since = max(filter(None, (last_digest, now - DIGEST_P0_WINDOW)))
            services = sorted({i.service for i in items})
            p0_alone = int(  # P0 pages this contact got on their own, about the same services
                s.scalar(
                    select(func.count(func.distinct(Delivery.incident_id)))
                    .join(Incident, Incident.id == Delivery.incident_id)
                    .where(
                        *contact,
                        Delivery.priority == 0,
                        Delivery.reason == "page",
                        Delivery.status.in_(("pending", "sent")),
                        Delivery.created_at >= since,
                        Incident.service.in_(services),
                    )
                )
                or 0
            )
            rendered = render_digest(
                digest_id, d.channel, items, p0_alone=p0_alone, more_link=f"{base}/incidents"
            )
            priority = min(r.priority for r in rows)
            s.add(
                Delivery(
                    id=digest_id,
                    tenant=d.tenant,
                    incident_id=None,
                    user_name=d.user_name,
                    contact_index=d.contact_index,
                    contact_display=d.contact_display,
                    channel=d.channel,
                    reason=DIGEST_REASON,
                    title=rendered.title,
                    body=rendered.body,
                    status="pending",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                    sent_at=None,
                    last_error=None,
                    priority=priority,
                    digest_id=None,
                )
            )
            jobs.enqueue(
                s,
                d.tenant,
                DELIVER_JOB,
                {"delivery_id": digest_id, "attempt": 0},
                now,
                priority=priority,
                lane=jobs.PAGE_LANE,
            )
            per_incident: dict[str, int] = {}
            for r in rows:
                if r.incident_id is not None and r.service is not None:
                    per_incident[r.incident_id] = per_incident.get(r.incident_id, 0) + 1
            if per_incident:
                s.execute(
                    insert(TimelineEntry),
                    [
                        {
                            "tenant": d.tenant,
                            "incident_id": inc_id,
                            "at": now,
                            "actor": "opsbook",
                            "kind": TIMELINE_KIND,
                            "message": f"notification to {d.user_name} via {d.channel} joins "
                            f"a digest of {len(rows)} messages ({rendered.title})",
                            "data": {"digest_id": digest_id, "messages": n},
                        }
                        for inc_id, n in per_incident.items()
                    ],
                )
        log.info(
            "delivery_digest",
            digest=digest_id,
            user=d.user_name,
            channel=a.channel,
            messages=len(rows),
        )
        return folded_this  # if not (acknowledged meanwhile), this attempt goes on as it is

    def _postpone(self, a: _Attempt, when: datetime) -> None:
        """Over the rate limit: try again at ``when``; not an attempt, not a failure."""
        now = self.clock.now()
        with self.sessions.begin() as s:
            d = s.get(Delivery, a.delivery_id, with_for_update=True)
            if d is None or d.status != "pending" or d.attempts != a.attempt:
                return
            d.next_attempt_at = when
            _requeue(s, d, now, when)
        log.info(
            "delivery_rate_limited",
            delivery=a.delivery_id,
            channel=a.channel,
            until=when.isoformat(),
        )

    def _record(self, cfg: Config, a: _Attempt, result: DeliveryResult) -> None:
        now = self.clock.now()
        detail = scrub(result.detail, a.url)[:1000]
        with self.sessions.begin() as s:
            d = s.get(Delivery, a.delivery_id, with_for_update=True)
            if d is None or d.status != "pending" or d.attempts != a.attempt:
                return  # someone else recorded this attempt (a duplicate job); ours changes nothing
            d.attempts += 1
            n = d.attempts
            inc = _incident(s, d)
            outcome = (
                "delivered"
                if result.ok
                else ("failed, will retry" if result.retryable else "failed")
            )
            if inc is not None:
                repos.add_entry(
                    s,
                    inc,
                    now,
                    "opsbook",
                    TIMELINE_KIND,
                    f"notification to {d.user_name} via {d.channel}, attempt {n}: {outcome} — {detail}",
                    {
                        "delivery_id": d.id,
                        "attempt": n,
                        "ok": result.ok,
                        "retryable": result.retryable,
                    },
                )
            log.info(
                "delivery_attempt",
                delivery=d.id,
                attempt=n,
                ok=result.ok,
                retryable=result.retryable,
                detail=detail,
            )
            if result.ok:
                d.status, d.sent_at, d.last_error = "sent", now, None
                return
            d.last_error = detail
            give_up = cfg.notify.dead_letter_after
            if not result.retryable:
                self._finish_dead(s, cfg, d, now, f"not retryable: {detail}", attempted=True)
            elif backoff.dead_letter(d.created_at, now, give_up):
                self._finish_dead(
                    s, cfg, d, now, f"still failing after {_age(give_up)}: {detail}", attempted=True
                )
            else:
                later = backoff.next_attempt(
                    n - 1, now, cfg.notify.retry_base, cfg.notify.retry_cap
                )
                # the last try comes at the dead-letter age, not up to retry_cap after it
                later = min(later, d.created_at + give_up)
                d.next_attempt_at = later
                _requeue(s, d, now, later)

    def _finish_dead(
        self, s: Session, cfg: Config, d: Delivery, now: datetime, why: str, *, attempted: bool
    ) -> None:
        """Dead-letter ``d`` and raise ``OpsbookNotificationFailed`` in its tenant."""
        d.status, d.last_error = "dead", why[:1000]
        inc = _incident(s, d)
        summary = (
            f"notifications to {d.user_name} via {d.channel} ({d.contact_display}) cannot be "
            f"delivered: {why}"
        )
        if inc is not None:
            repos.add_entry(
                s,
                inc,
                now,
                "opsbook",
                TIMELINE_KIND,
                f"notification to {d.user_name} via {d.channel} dead-lettered after "
                f"{d.attempts} attempt(s); {SELF_ALERT} raised",
                {"delivery_id": d.id, "dead": True, "attempted": attempted},
            )
        alert = AlertIn(
            source="opsbook",
            fingerprint=f"delivery-dead:{d.user_name}:{d.contact_index}",
            action=EventAction.TRIGGER,
            labels={
                "alertname": SELF_ALERT,
                "severity": "critical",
                "user": d.user_name,
                "channel": d.channel,
            },
            annotations={
                "summary": summary[:500],
                "description": (
                    f"Fix contact #{d.contact_index + 1} of {d.user_name} in opsbook.yaml "
                    f"(check it with `opsbook notify test CONTACT`), then reload. "
                    f"Delivery {d.id}" + (f" for incident {d.incident_id}" if d.incident_id else "")
                ),
            },
        )
        s.flush()
        ingest_many(s, cfg, [IngestBatch(d.tenant, "opsbook", [alert])], now)
        log.warning("delivery_dead", delivery=d.id, user=d.user_name, channel=d.channel, why=why)


def requeue_expired(_s: Session, _job: Job) -> bool:
    """A delivery job whose worker died is run again (True).

    The message may then go out twice; both carry the same delivery id (``X-Opsbook-Delivery``
    header, ``id`` in webhook bodies) so receivers can drop the duplicate. Losing a page is worse.
    """
    return True


def _requeue(s: Session, d: Delivery, now: datetime, when: datetime) -> None:
    """The delivery's next attempt at ``when``: page lane, the delivery's priority."""
    jobs.enqueue(
        s,
        d.tenant,
        DELIVER_JOB,
        {"delivery_id": d.id, "attempt": d.attempts},
        now,
        when,
        priority=d.priority,
        lane=jobs.PAGE_LANE,
        incident_id=d.incident_id,
    )


def _fenced(s: Session, d: Delivery) -> str | None:
    """Why the page ``d`` must not go out any more, or None: its escalation was stopped.

    Acknowledging or resolving stops the escalation in the transaction that changes the
    incident (``flows.escalation.stop_paging``), so what is read here is committed fact.
    Updates, tests and digests are not fenced: only pages wake people up.
    """
    if d.reason != "page" or d.incident_id is None:
        return None
    esc = s.get(Escalation, d.incident_id, populate_existing=True)
    if esc is None or esc.done_reason not in ("acknowledged", "resolved"):
        return None
    inc = _incident(s, d)
    if inc is not None and inc.acknowledged_by and esc.done_reason == "acknowledged":
        return f"acknowledged by {inc.acknowledged_by}"
    return str(esc.done_reason)


def _cancel(s: Session, d: Delivery, why: str, now: datetime) -> None:
    """Mark the pending page ``d`` cancelled (compare-and-set) and say so on the timeline."""
    res = s.execute(
        update(Delivery)
        .where(Delivery.id == d.id, Delivery.status == "pending")
        .values(status="cancelled", last_error=f"not sent: the incident was {why} first")
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        return
    inc = _incident(s, d)
    if inc is not None:
        repos.add_entry(
            s,
            inc,
            now,
            "opsbook",
            TIMELINE_KIND,
            f"page to {d.user_name} via {d.channel} not sent: the incident was {why} first",
            {"delivery_id": d.id, "cancelled": True},
        )
    log.info("delivery_cancelled", delivery=d.id, user=d.user_name, why=why)


def _incident(s: Session, d: Delivery) -> Incident | None:
    if d.incident_id is None:
        return None
    return s.scalars(
        select(Incident).where(Incident.tenant == d.tenant, Incident.id == d.incident_id)
    ).first()


def _contact_url(cfg: Config, d: Delivery) -> tuple[str | None, str]:
    """The contact URL from the current config, or (None, what to fix).

    The index is trusted while the contact there still masks to what was queued; after an
    edit that reordered contacts, the contact with the same masked form is used instead.
    """
    person = cfg.user(d.tenant, d.user_name)
    if person is None:
        return None, f"user {d.user_name} is no longer in opsbook.yaml"
    contacts = person.contacts
    if (
        0 <= d.contact_index < len(contacts)
        and mask_url(contacts[d.contact_index]) == d.contact_display
    ):
        return contacts[d.contact_index], ""
    same = [c for c in contacts if mask_url(c) == d.contact_display]
    if same:
        return same[0], ""
    return None, (
        f"contact #{d.contact_index + 1} of {d.user_name} ({d.contact_display}) was removed or "
        "changed in opsbook.yaml after the message was queued"
    )


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"
