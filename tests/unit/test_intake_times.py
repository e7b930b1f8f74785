"""A sender's alert times judged against receipt: out-of-range startsAt/endsAt become the receipt
time with a note, year 9999 endsAt means no end, every intake format goes through the same rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsbook.intake.models import EventAction
from opsbook.intake.sources import alertmanager, events, prometheus
from opsbook.intake.times import TimeBounds, judge

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
YEAR_1 = datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC)  # not Alertmanager's zero time: a real year 1
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("starts", "ends", "want_starts", "want_ends", "noted"),
    [
        (NOW - 3 * M, None, NOW - 3 * M, None, False),  # ordinary
        (NOW - timedelta(days=29), None, NOW - timedelta(days=29), None, False),
        (NOW - timedelta(days=31), None, NOW, None, True),  # older than max_age
        (datetime(1970, 1, 1, tzinfo=UTC), None, NOW, None, True),
        (YEAR_1, None, NOW, None, True),
        (YEAR_9999, None, NOW, None, True),  # the future: clock skew beyond 5 min
        (NOW + 6 * M, None, NOW, None, True),
        (NOW + 4 * M, None, NOW, None, False),  # a little ahead: receipt time, no note
        (None, None, None, None, False),
        (NOW - 3 * M, YEAR_9999, NOW - 3 * M, None, False),  # 9999 means "no end"
        (NOW - 3 * M, NOW + 4 * M, NOW - 3 * M, NOW + 4 * M, False),  # Prometheus' endsAt
        (NOW - 3 * M, NOW - M, NOW - 3 * M, NOW - M, False),  # resolved a minute ago
        (NOW - 3 * M, datetime(1970, 1, 1, tzinfo=UTC), NOW - 3 * M, NOW, True),
        (YEAR_9999, NOW - M, NOW, NOW, True),  # endsAt never before startsAt
    ],
)
def test_judge(
    starts: datetime | None,
    ends: datetime | None,
    want_starts: datetime | None,
    want_ends: datetime | None,
    noted: bool,
) -> None:
    j = judge(starts, ends, NOW)
    assert (j.starts_at, j.ends_at) == (want_starts, want_ends)
    assert bool(j.note) == noted
    if noted:
        assert "out of range; receipt time used" in j.note


def test_the_bounds_are_configurable() -> None:
    tight = TimeBounds(max_age=timedelta(hours=1), max_skew=timedelta(seconds=0))
    assert judge(NOW - 2 * timedelta(hours=1), None, NOW, tight).starts_at == NOW
    assert judge(NOW - 30 * M, None, NOW, tight).starts_at == NOW - 30 * M
    wide = TimeBounds(max_age=timedelta(days=400))
    assert judge(NOW - timedelta(days=365), None, NOW, wide).note == ""


def _am(starts: str, ends: str = "0001-01-01T00:00:00Z") -> alertmanager.WebhookV4:
    return alertmanager.WebhookV4.model_validate(
        {
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "A"},
                    "startsAt": starts,
                    "endsAt": ends,
                }
            ]
        }
    )


def test_every_intake_format_clamps_the_same_way() -> None:
    (am,) = alertmanager.parse(_am("9999-12-31T23:59:59Z"), NOW)
    assert am.starts_at == NOW and "startsAt 9999-12-31T23:59:59Z" in am.time_note
    assert am.labels == {"alertname": "A"} and am.annotations == {}  # left as sent
    (zero,) = alertmanager.parse(_am("0001-01-01T00:00:00Z"), NOW)  # Go's zero time as a start
    assert zero.starts_at == NOW and "startsAt 0001-01-01T00:00:00Z" in zero.time_note
    (open_end,) = alertmanager.parse(_am("2026-01-01T11:58:00Z"), NOW)  # zero endsAt: no end
    assert open_end.ends_at is None and open_end.time_note == ""
    (year1,) = alertmanager.parse(_am("0001-06-01T00:00:00Z"), NOW)  # a real year 1: judged
    assert year1.starts_at == NOW and "startsAt 0001-06-01T00:00:00Z" in year1.time_note
    (under,) = alertmanager.parse(_am("0001-01-01T00:00:00+05:00"), NOW)  # before year 1 in UTC
    assert under.starts_at == NOW and under.time_note
    # an offset that would overflow year 9999 is judged, not a crash
    (over,) = alertmanager.parse(_am("9999-12-31T23:00:00-05:00", "9999-12-31T23:00:00-05:00"), NOW)
    assert over.starts_at == NOW and over.ends_at is None and over.time_note

    body = [
        prometheus.PostableAlert.model_validate(
            {"labels": {"alertname": "P"}, "startsAt": "0002-03-04T00:00:00Z", "endsAt": ends}
        )
        for ends in ("9999-12-31T23:59:59Z", "1999-01-01T00:00:00Z")
    ]
    firing, resolved = prometheus.parse(body, NOW)
    assert firing.action is EventAction.TRIGGER and firing.ends_at is None
    assert firing.starts_at == NOW and firing.time_note
    assert resolved.action is EventAction.RESOLVE and resolved.ends_at == NOW

    ev = events.Event.model_validate(
        {
            "event_action": "trigger",
            "payload": {
                "summary": "disk full",
                "source": "db-1",
                "severity": "critical",
                "timestamp": "9999-01-01T00:00:00Z",
            },
        }
    )
    alert, _ = events.parse(ev, "events", NOW)
    assert alert.starts_at == NOW and "startsAt 9999-01-01T00:00:00Z" in alert.time_note
