"""reminders_due(postmortems, now): which commanders to remind of a required post-mortem, pure.

A required draft is reminded from ``remind_before`` its due time on, then every ``remind_every``
until it is complete; ``last_reminded_at`` (stored) makes a repeated sweep send nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from opsbook.postmortem.policy import DEFAULT_POLICY, PostmortemPolicy


@dataclass(frozen=True)
class ReminderState:
    incident_id: str
    tenant: str
    title: str
    commander: str | None
    required: bool
    status: str
    due_at: datetime | None
    last_reminded_at: datetime | None


@dataclass(frozen=True)
class Reminder:
    incident_id: str
    tenant: str
    to: str | None  # the commander; None: nobody is commander, tell the tenant's admins
    due_at: datetime
    overdue: bool
    message: str


def reminders_due(
    postmortems: Iterable[ReminderState], now: datetime, policy: PostmortemPolicy = DEFAULT_POLICY
) -> list[Reminder]:
    out = []
    for p in postmortems:
        if not p.required or p.status == "complete" or p.due_at is None:
            continue
        if now < p.due_at - policy.remind_before:
            continue
        if p.last_reminded_at is not None and now - p.last_reminded_at < policy.remind_every:
            continue
        overdue = now >= p.due_at
        when = p.due_at.strftime("%Y-%m-%d %H:%M UTC")
        text = (
            f"post-mortem of {p.incident_id} ({p.title}) is overdue since {when}"
            if overdue
            else f"post-mortem of {p.incident_id} ({p.title}) is due by {when}"
        )
        out.append(Reminder(p.incident_id, p.tenant, p.commander, p.due_at, overdue, text))
    return sorted(out, key=lambda r: (r.due_at, r.incident_id))
