"""Which of a person's contacts a page goes to, given its severity and the time.

Defaults (when no rule names the severity): P0 and P1 reach every contact at once; P2 and P3
only the first (usually email). Quiet hours hold back everything but ``except_severities``
(P0 by default): the escalation moves on to the next level instead of waking the person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

from opsbook.config.oncall import NotificationRule, QuietHours, parse_clock
from opsbook.incidents.models import Severity

DEFAULT_RULES: tuple[NotificationRule, ...] = (
    NotificationRule(severities=[Severity.P0, Severity.P1], channels="all"),
    NotificationRule(severities=[Severity.P2, Severity.P3], channels="first"),
)


class HasContacts(Protocol):
    """A person with contact URLs, like ``config.models.User``."""

    @property
    def contacts(self) -> Sequence[str]: ...


def scheme(contact: str) -> str:
    """``slack://T/B/C`` → ``slack``."""
    return (
        contact.split("://", 1)[0].lower() if "://" in contact else contact.split(":", 1)[0].lower()
    )


def in_quiet_hours(quiet: QuietHours, now: datetime) -> bool:
    """Whether ``now`` falls in the daily window (which may run past midnight)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local: time = now.astimezone(ZoneInfo(quiet.timezone)).time().replace(tzinfo=None)
    start, end = parse_clock(quiet.start), parse_clock(quiet.end)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def rule_for(severity: Severity, rules: Sequence[NotificationRule]) -> NotificationRule:
    """The first of the person's rules naming ``severity``, else the default one."""
    for rule in (*rules, *DEFAULT_RULES):
        if severity in rule.severities:
            return rule
    raise LookupError(severity)  # pragma: no cover - DEFAULT_RULES name every severity


def contacts_for(
    user: HasContacts,
    severity: Severity,
    now: datetime,
    rules: Sequence[NotificationRule] = (),
) -> list[str]:
    """The contacts to notify now, in the person's order; ``[]`` when held by quiet hours."""
    rule = rule_for(severity, rules)
    if (
        rule.quiet_hours is not None
        and severity not in rule.except_severities
        and in_quiet_hours(rule.quiet_hours, now)
    ):
        return []
    contacts = list(user.contacts)
    if rule.channels == "all":
        return contacts
    if rule.channels == "first":
        return contacts[:1]
    wanted = set(rule.channels)
    return [c for c in contacts if scheme(c) in wanted]
