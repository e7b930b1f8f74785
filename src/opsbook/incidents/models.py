"""Incident vocabulary: severities, states and the kinds of timeline entries."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """P0 is the worst: customer-facing outage. P3 is informational."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @property
    def rank(self) -> int:
        return int(self.value[1])


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self in (Status.TRIGGERED, Status.ACKNOWLEDGED)


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    CLOSE = "close"


class EntryKind(StrEnum):
    """What a timeline entry records."""

    OPENED = "opened"
    ALERT_FIRING = "alert_firing"
    ALERT_RESOLVED = "alert_resolved"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"
    SEVERITY_CHANGED = "severity_changed"
    COMMANDER_ASSIGNED = "commander_assigned"
    COMMENT = "comment"
    RUNBOOK_MATCHED = "runbook_matched"
    STEP = "step"
    ESCALATION = "escalation"
    NOTIFICATION = "notification"
    STATUS_UPDATE = "status_update"


CLOSE_REASONS = ("resolved", "false_positive", "duplicate", "wont_fix", "other")
