"""build_postmortem: the document from an incident's facts, timeline, alerts, step runs and what people wrote."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from opsbook.postmortem.models import (
    ActionItem,
    AlertFacts,
    EventFacts,
    Impact,
    IncidentFacts,
    Mitigation,
    PostMortem,
    StepFacts,
    TimelineItem,
    Written,
)

STATUS_UPDATE_KINDS = frozenset({"status_update", "public_update", "statuspage"})
"""Timeline kinds that record a public status-page update (written by the status page)."""

FINISHED = frozenset({"ok", "failed", "error", "timeout", "unavailable"})


def fmt_duration(seconds: float | None) -> str:
    """``1h 05m 30s`` style (``-`` for unknown): what people write in a post-mortem."""
    if seconds is None:
        return "-"
    secs = round(seconds)
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h {m:02d}m {s:02d}s"
    return f"{m}m {s:02d}s" if m else f"{s}s"


def as_utc(at: datetime) -> datetime:
    """The same instant in UTC (a naive time is taken as UTC): the document speaks UTC only."""
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def utc(at: datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%d %H:%M:%S UTC")


def _status_page_seconds(
    events: Sequence[EventFacts], resolved_at: datetime | None
) -> float | None:
    """From the first public update to the one that says resolved (or the incident's resolution)."""
    updates = [e for e in events if e.kind in STATUS_UPDATE_KINDS]
    if not updates:
        return None
    start = updates[0].at
    end = next((e.at for e in updates if str(e.data.get("status", "")).lower() == "resolved"), None)
    end = end or resolved_at
    return (end - start).total_seconds() if end else None


def timeline(
    events: Sequence[EventFacts], alerts: Sequence[AlertFacts]
) -> tuple[TimelineItem, ...]:
    """Every timeline entry in order, plus each alert's own start (``startsAt``) so detection
    time shows; stable: entries at the same instant keep their stored order."""
    items = [
        (
            as_utc(a.starts_at),
            0,
            i,
            TimelineItem(
                as_utc(a.starts_at),
                "alert_started",
                "source",
                f"alert {a.alertname} started firing",
            ),
        )
        for i, a in enumerate(alerts)
        if a.starts_at is not None
    ]
    items += [
        (as_utc(e.at), 1, i, TimelineItem(as_utc(e.at), e.kind, e.actor, e.message))
        for i, e in enumerate(events)
    ]
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    return tuple(t[3] for t in items)


def mitigations(steps: Sequence[StepFacts]) -> tuple[Mitigation, ...]:
    """The steps that ran (any outcome), in the order they finished."""
    ran = [r for r in steps if r.status in FINISHED]
    ran.sort(key=lambda r: (r.finished_at is None, r.finished_at or datetime.max, r.step_index))
    return tuple(
        Mitigation(
            at=r.finished_at,
            step=f"{r.step_index}. {r.step_title}",
            command=r.command,
            safety=r.safety,
            status=r.status,
            summary=r.summary,
            by="opsbook (automatic)" if r.automatic else r.requested_by,
        )
        for r in ran
    )


def default_summary(inc: IncidentFacts, impact: Impact) -> str:
    """A first sentence so the draft is never blank; people rewrite it."""
    text = f"{inc.severity} incident on {inc.service}: {inc.title}. Opened {utc(inc.created_at)}"
    if inc.acknowledged_at:
        ack = (inc.acknowledged_at - inc.created_at).total_seconds()
        text += f", acknowledged after {fmt_duration(ack)}"
        if inc.acknowledged_by:
            text += f" by {inc.acknowledged_by}"
    if inc.resolved_at:
        text += f", resolved after {fmt_duration(impact.duration_seconds)}"
    if inc.close_reason:
        text += f", closed as {inc.close_reason.replace('_', ' ')}"
    return text + "."


def build_postmortem(
    inc: IncidentFacts,
    events: Sequence[EventFacts],
    alerts: Sequence[AlertFacts],
    steps: Sequence[StepFacts],
    *,
    components: Sequence[str] = (),
    written: Written | None = None,
    action_items: Sequence[ActionItem] = (),
) -> PostMortem:
    """The full document; ``written`` None means nothing is stored yet (a preview)."""
    started = min([inc.created_at, *(a.starts_at for a in alerts if a.starts_at)])
    duration = (inc.resolved_at - inc.created_at).total_seconds() if inc.resolved_at else None
    impact = Impact(
        started_at=started,
        detected_at=inc.created_at,
        resolved_at=inc.resolved_at,
        duration_seconds=duration,
        severity=inc.severity,
        services=(inc.service,),
        components=tuple(components),
        status_page_seconds=_status_page_seconds(events, inc.resolved_at),
    )
    w = written or Written()
    return PostMortem(
        incident=inc,
        exists=written is not None,
        written=w,
        summary=w.summary or default_summary(inc, impact),
        impact=impact,
        timeline=timeline(events, alerts),
        mitigations=mitigations(steps),
        action_items=tuple(sorted(action_items, key=lambda a: (a.created_at, a.id))),
    )
