"""SQLAlchemy 2 tables. Every row carries its tenant; every query filters on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always hands back timezone-aware UTC (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Token(Base):
    """An API token (role) or intake token (integration); only a hash of the secret is kept."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # "api" | "intake"
    role: Mapped[str | None] = mapped_column(String(16))
    integration: Mapped[str | None] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Incident(Base):
    """An incident; ``open_key`` is the group key while open and NULL after, so a unique
    constraint guarantees one open incident per group even with several writers."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("tenant", "open_key", name="uq_incidents_open_group"),
        Index("ix_incidents_tenant_status", "tenant", "status"),
        Index("ix_incidents_tenant_created", "tenant", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(128))
    group_key: Mapped[str] = mapped_column(String(64))
    open_key: Mapped[str | None] = mapped_column(String(64))
    group_labels: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    auto_resolve: Mapped[bool] = mapped_column(Boolean, default=True)
    commander: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ack_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    first_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    # the runbook section found for the first alert, and which rule found it
    runbook_id: Mapped[str | None] = mapped_column(String(32), default=None)
    runbook_path: Mapped[str | None] = mapped_column(Text, default=None)
    section_id: Mapped[str | None] = mapped_column(String(200), default=None)
    section_heading: Mapped[str | None] = mapped_column(Text, default=None)
    match_rule: Mapped[str | None] = mapped_column(String(16), default=None)
    match_score: Mapped[float | None] = mapped_column(Float, default=None)
    # one incident holding the new alerts of a storming service (``incidents.storm``)
    storm: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # set when the incident is a rehearsal (``storage.tables_drills.DrillRun``): pages say so, the
    # status page is never touched, reports leave it out unless asked
    drill_run_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)


class Alert(Base):
    """One alert occurrence inside one incident; re-sends update it instead of adding rows."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("tenant", "fingerprint", "incident_id", name="uq_alerts_occurrence"),
        Index("ix_alerts_tenant_fingerprint", "tenant", "fingerprint"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(32))
    integration: Mapped[str] = mapped_column(String(128))
    alertname: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(4))
    labels: Mapped[dict[str, Any]] = mapped_column(JSONType)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSONType)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    generator_url: Mapped[str] = mapped_column(Text, default="")
    first_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    receive_count: Mapped[int] = mapped_column(Integer, default=1)
    # declared so the unit of work inserts the incident before rows that point at it
    incident: Mapped[Incident] = relationship(lazy="raise")


class TimelineEntry(Base):
    """An append-only record of something that happened to an incident, with actor and UTC time."""

    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    incident: Mapped[Incident] = relationship(lazy="raise")


class StepRun(Base):
    """One request to run one runbook step for an incident: its gate, its approvals and its result."""

    __tablename__ = "step_runs"
    __table_args__ = (Index("ix_step_runs_incident", "tenant", "incident_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    runbook_id: Mapped[str] = mapped_column(String(32))
    section_id: Mapped[str] = mapped_column(String(200))
    step_index: Mapped[int] = mapped_column(Integer)  # 1-based position among the section's steps
    step_title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    safety: Mapped[str] = mapped_column(String(16))
    command: Mapped[str] = mapped_column(Text)  # resolved, secrets masked
    binding: Mapped[str] = mapped_column(String(64))  # sha256 of step text + resolved variables
    variables: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict
    )  # values given by people
    status: Mapped[str] = mapped_column(String(24))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(String(160))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approval_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # what the approver is shown (flows.step_review.Review as JSON) and its sha256, at request time
    shown_hash: Mapped[str | None] = mapped_column(String(64))
    review: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Approval(Base):
    """An approval (or rejection) of a step run, bound to the exact command it saw."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    step_run_id: Mapped[str] = mapped_column(ForeignKey("step_runs.id"), index=True)
    actor: Mapped[str] = mapped_column(String(160))
    role: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    binding: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    shown_hash: Mapped[str | None] = mapped_column(String(64))  # the review the approver saw
    self_approved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Job(Base):
    """A durable unit of background work; workers claim it with a lease (SKIP LOCKED on PostgreSQL)."""

    __tablename__ = "jobs"
    __table_args__ = (
        # claim: ready jobs of one lane, P0 first, then by due time (storage.jobs.claim)
        Index("ix_jobs_claim", "status", "lane", "priority", "run_after", "id"),
        # an incident's severity changed: its queued jobs follow (storage.jobs.follow_severity)
        Index("ix_jobs_incident", "incident_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # 0 = P0 … 3 = P3: the severity of the incident the job works for; taken first
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # "page" (escalation ticks, deliveries) or "work" (steps, diagnostics, checks): each lane
    # has its own worker thread, so a slow step never holds a page
    lane: Mapped[str] = mapped_column(String(8), default="work", server_default="work")
    incident_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(
        String(16)
    )  # queued | running | done | failed | interrupted
    run_after: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class Escalation(Base):
    """The escalation of one incident: the policy frozen when paging started, and its state."""

    __tablename__ = "escalations"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    policy: Mapped[str] = mapped_column(String(128))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    token: Mapped[int] = mapped_column(Integer, default=0)  # fencing token, mirrors state["token"]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_reason: Mapped[str | None] = mapped_column(String(32))


class Delivery(Base):
    """One notification to one contact, in the outbox: retried with backoff, dead-lettered at last.

    The contact is kept as (user, index into the user's contacts), never as the URL, so tokens in
    notification URLs stay in the config and out of the database.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_incident", "tenant", "incident_id"),
        # a person's recent messages on one contact: is this a storm, what joins the digest
        Index("ix_deliveries_contact", "tenant", "user_name", "contact_index", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # stable: retries reuse it
    tenant: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"))
    user_name: Mapped[str] = mapped_column(String(128))
    contact_index: Mapped[int] = mapped_column(Integer)
    contact_display: Mapped[str] = mapped_column(Text)  # masked
    channel: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))  # page | update | test | digest
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # pending | sent | dead | digested (folded into digest_id) | cancelled (a page acknowledged first)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # 0 = P0 … 3 = P3 (a digest: its most severe member); P0 is never held or digested
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    digest_id: Mapped[str | None] = mapped_column(String(64))


class UsedLink(Base):
    """Nonces of signed acknowledge/resolve links already used: each link works once."""

    __tablename__ = "used_links"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduleOverride(Base):
    """ "bob covers alice from … to …", made at run time and kept in the database."""

    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_overrides_schedule", "tenant", "schedule"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    schedule: Mapped[str] = mapped_column(String(128))
    user_name: Mapped[str] = mapped_column(String(128))
    replaces: Mapped[str | None] = mapped_column(String(128))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# the feature modules' tables join Base.metadata when this module loads (Alembic and create_all see them)
from opsbook.storage import (  # noqa: E402
    tables_audit,
    tables_checks,
    tables_comms,
    tables_drills,
    tables_heartbeats,
    tables_inbox,
    tables_learning,
    tables_pressure,
    tables_rollouts,
    tables_summary,
    tables_verify,
    tables_web,
)

FEATURE_TABLES = (
    tables_audit,
    tables_checks,
    tables_comms,
    tables_drills,
    tables_heartbeats,
    tables_inbox,
    tables_learning,
    tables_pressure,
    tables_rollouts,
    tables_summary,
    tables_verify,
    tables_web,
)
