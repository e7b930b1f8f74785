"""Which contacts a page reaches: severity rules, channel schemes and quiet hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from opsbook.config.oncall import NotificationRule
from opsbook.incidents.models import Severity
from opsbook.notify.rules import contacts_for

MAIL, SLACK, NTFY = "mailto://alice@example.com", "slack://T1/B1/C1", "ntfy://ntfy.sh/alice"


@dataclass
class Person:
    contacts: list[str] = field(default_factory=lambda: [MAIL, SLACK, NTFY])


NIGHT = {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}
RULES = [
    NotificationRule(severities=[Severity.P0], channels="all"),
    NotificationRule(severities=[Severity.P1], channels=["slack", "ntfy"], quiet_hours=NIGHT),
    NotificationRule(
        severities=[Severity.P2],
        channels=["mailto"],
        quiet_hours=NIGHT,
        except_severities=[],
    ),
]
DAY = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)  # 14:00 Berlin
LATE = datetime(2025, 6, 2, 23, 30, tzinfo=UTC)  # 01:30 Berlin


@pytest.mark.parametrize(
    ("severity", "now", "rules", "expected"),
    [
        # defaults: P0/P1 every contact, P2/P3 the first only
        (Severity.P0, DAY, [], [MAIL, SLACK, NTFY]),
        (Severity.P1, LATE, [], [MAIL, SLACK, NTFY]),
        (Severity.P2, DAY, [], [MAIL]),
        (Severity.P3, LATE, [], [MAIL]),
        # own rules
        (Severity.P0, LATE, RULES, [MAIL, SLACK, NTFY]),
        (Severity.P1, DAY, RULES, [SLACK, NTFY]),
        (Severity.P1, LATE, RULES, []),  # quiet hours
        (Severity.P2, DAY, RULES, [MAIL]),
        (Severity.P2, LATE, RULES, []),
        (Severity.P3, LATE, RULES, [MAIL]),  # no rule names P3: the default
    ],
)
def test_contacts_for(
    severity: Severity, now: datetime, rules: list[NotificationRule], expected: list[str]
) -> None:
    assert contacts_for(Person(), severity, now, rules) == expected


def test_p0_breaks_through_quiet_hours_by_default() -> None:
    rule = NotificationRule.model_validate(
        {"severities": ["P0", "P1"], "quiet_hours": NIGHT, "channels": "first"}
    )
    assert contacts_for(Person(), Severity.P0, LATE, [rule]) == [MAIL]
    assert contacts_for(Person(), Severity.P1, LATE, [rule]) == []


@pytest.mark.parametrize(
    ("hour", "quiet"),
    [(21, False), (22, True), (0, True), (6, True), (7, False)],
)
def test_quiet_hours_cross_midnight_in_local_time(hour: int, quiet: bool) -> None:
    from zoneinfo import ZoneInfo

    rule = NotificationRule.model_validate(
        {"severities": ["P2"], "quiet_hours": NIGHT, "except_severities": []}
    )
    now = datetime(2025, 1, 15, hour, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert (contacts_for(Person(), Severity.P2, now, [rule]) == []) is quiet


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"severities": ["P9"]}, "P0"),
        ({"severities": []}, "at least 1"),
        ({"severities": ["P1"], "channels": ["Slack!"]}, "URL schemes"),
        ({"severities": ["P1"], "quiet_hours": {"start": "22", "end": "07:00"}}, "HH:MM"),
        (
            {
                "severities": ["P1"],
                "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Nowhere"},
            },
            "unknown time zone",
        ),
        ({"severities": ["P1"], "chanels": "all"}, "Extra inputs"),
    ],
)
def test_rule_errors_are_clear(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NotificationRule.model_validate(rule)
