"""Rotations, layers, restrictions and overrides: who is on call, asked at chosen instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from opsbook.config.oncall import Schedule
from opsbook.escalation.schedules import Override, Shift, oncall_at, shifts

BER = ZoneInfo("Europe/Berlin")
NYC = ZoneInfo("America/New_York")


def sched(tz: str = "UTC", **rotation: Any) -> Schedule:
    rotation.setdefault("participants", ["alice", "bob", "carol"])
    return Schedule.model_validate(
        {"name": "primary", "tenant": "t", "timezone": tz, "rotation": rotation}
    )


def local(zone: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=zone)


WEEKLY_BER = sched("Europe/Berlin", every="1w", handoff="Mon 09:00", start="2025-01-06")
WEEKLY_NYC = sched("America/New_York", every="1w", handoff="Sun 02:30", start="2025-01-05")
DAILY_NYC = sched("America/New_York", every="1d", handoff="01:30", start="2025-11-01")
DAILY_UTC = sched("UTC", every="1d", handoff="09:00", start="2025-01-01")


@pytest.mark.parametrize(
    ("schedule", "at", "who"),
    [
        # daily, handoff at 09:00 UTC; 2025-01-01 09:00 starts alice
        (DAILY_UTC, datetime(2025, 1, 1, 9, 0, tzinfo=UTC), "alice"),
        (DAILY_UTC, datetime(2025, 1, 1, 8, 59, tzinfo=UTC), "carol"),  # the turn before
        (DAILY_UTC, datetime(2025, 1, 2, 8, 59, 59, tzinfo=UTC), "alice"),
        (DAILY_UTC, datetime(2025, 1, 2, 9, 0, tzinfo=UTC), "bob"),
        (DAILY_UTC, datetime(2025, 1, 4, 12, 0, tzinfo=UTC), "alice"),  # wraps around
        # weekly, Mon 09:00 Berlin, anchor Mon 2025-01-06 → alice
        (WEEKLY_BER, local(BER, 2025, 1, 6, 9, 0), "alice"),
        (WEEKLY_BER, local(BER, 2025, 1, 13, 8, 59), "alice"),
        (WEEKLY_BER, local(BER, 2025, 1, 13, 9, 0), "bob"),
        # spring forward (Sun 2025-03-30): the Mon 03-31 handoff is still 09:00 Berlin = 07:00 UTC
        (WEEKLY_BER, datetime(2025, 3, 31, 6, 59, tzinfo=UTC), "carol"),
        (WEEKLY_BER, datetime(2025, 3, 31, 7, 0, tzinfo=UTC), "alice"),
        # fall back (Sun 2025-10-26): the Mon 10-27 handoff is 09:00 Berlin = 08:00 UTC
        (WEEKLY_BER, datetime(2025, 10, 27, 7, 59, tzinfo=UTC), "carol"),
        (WEEKLY_BER, datetime(2025, 10, 27, 8, 0, tzinfo=UTC), "alice"),
        # New York, handoff Sun 02:30: on 2025-03-09 02:30 does not exist → 03:30 EDT (07:30 UTC)
        (WEEKLY_NYC, datetime(2025, 3, 9, 7, 29, tzinfo=UTC), "carol"),
        (WEEKLY_NYC, datetime(2025, 3, 9, 7, 30, tzinfo=UTC), "alice"),
        # fall back 2025-11-02: 02:30 is after the repeated hour, EST = 07:30 UTC
        (WEEKLY_NYC, datetime(2025, 11, 2, 7, 29, tzinfo=UTC), "alice"),
        (WEEKLY_NYC, datetime(2025, 11, 2, 7, 30, tzinfo=UTC), "bob"),
        # a daily 01:30 handoff in the repeated hour happens at its first occurrence (EDT)
        (DAILY_NYC, datetime(2025, 11, 2, 5, 29, tzinfo=UTC), "alice"),
        (DAILY_NYC, datetime(2025, 11, 2, 5, 30, tzinfo=UTC), "bob"),
        (DAILY_NYC, datetime(2025, 11, 2, 6, 30, tzinfo=UTC), "bob"),  # not again at 01:30 EST
        (DAILY_NYC, datetime(2025, 11, 3, 6, 29, tzinfo=UTC), "bob"),
        (DAILY_NYC, datetime(2025, 11, 3, 6, 30, tzinfo=UTC), "carol"),  # 01:30 EST
        # before the anchor the order runs backwards consistently
        (DAILY_UTC, datetime(2024, 12, 31, 10, 0, tzinfo=UTC), "carol"),
        (DAILY_UTC, datetime(2024, 12, 30, 10, 0, tzinfo=UTC), "bob"),
    ],
)
def test_who_is_on_call(schedule: Schedule, at: datetime, who: str) -> None:
    assert oncall_at(schedule, at) == [who]


def test_weekly_handoffs_stay_at_nine_local_across_dst() -> None:
    got = shifts(WEEKLY_BER, local(BER, 2025, 3, 1), local(BER, 2025, 11, 30))
    starts = [s.start.astimezone(BER) for s in got[1:]]
    assert starts, "expected handoffs"
    assert {(s.weekday(), s.hour, s.minute) for s in starts} == {(0, 9, 0)}
    lengths = {s.end - s.start for s in got[1:-1]}
    # ordinary weeks, the 167 h week of spring forward and the 169 h week of fall back
    assert lengths == {timedelta(hours=168), timedelta(hours=167), timedelta(hours=169)}


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        oncall_at(DAILY_UTC, datetime(2025, 1, 1, 9, 0))


LAYERED = Schedule.model_validate(
    {
        "name": "layered",
        "tenant": "t",
        "timezone": "Europe/Berlin",
        "layers": [
            {
                "name": "nights",
                "rotation": {"every": "1w", "handoff": "Mon 09:00", "participants": ["nina"]},
            },
            {
                "name": "business",
                "rotation": {
                    "every": "1d",
                    "handoff": "09:00",
                    "participants": ["dave", "erin"],
                    "start": "2025-03-03",
                },
                "restrictions": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
                ],
            },
        ],
    }
)


@pytest.mark.parametrize(
    ("at", "who"),
    [
        (local(BER, 2025, 3, 3, 9, 0), "dave"),  # Monday business hours: higher layer wins
        (local(BER, 2025, 3, 3, 16, 59), "dave"),
        (local(BER, 2025, 3, 3, 17, 0), "nina"),  # after hours the lower layer shows through
        (local(BER, 2025, 3, 4, 8, 59), "nina"),
        (local(BER, 2025, 3, 4, 12, 0), "erin"),
        (local(BER, 2025, 3, 8, 12, 0), "nina"),  # Saturday: no window
        (local(BER, 2025, 3, 31, 12, 0), "dave"),  # after spring forward still 09–17 local
        (local(BER, 2025, 3, 31, 8, 30), "nina"),
    ],
)
def test_layers_and_restrictions(at: datetime, who: str) -> None:
    assert oncall_at(LAYERED, at) == [who]


def test_layered_timeline_is_merged() -> None:
    got = shifts(LAYERED, local(BER, 2025, 3, 7, 0), local(BER, 2025, 3, 10, 12))
    assert [(s.user, s.layer, s.start.astimezone(BER).strftime("%a %H:%M")) for s in got] == [
        ("nina", "nights", "Fri 00:00"),
        ("dave", "business", "Fri 09:00"),
        # Fri 17:00 → Mon 09:00 is one shift: nights' handoff to nina again is merged away
        ("nina", "nights", "Fri 17:00"),
        ("erin", "business", "Mon 09:00"),
    ]
    assert got[-1].end == local(BER, 2025, 3, 10, 12)
    assert all(a.end == b.start for a, b in pairwise(got))


def test_night_window_runs_past_midnight() -> None:
    night = Schedule.model_validate(
        {
            "name": "n",
            "tenant": "t",
            "rotation": {"every": "1d", "handoff": "22:00", "participants": ["owl"]},
            "restrictions": [{"days": ["fri"], "start": "22:00", "end": "06:00"}],
        }
    )
    assert oncall_at(night, datetime(2025, 3, 7, 23, 0, tzinfo=UTC)) == ["owl"]  # Fri
    assert oncall_at(night, datetime(2025, 3, 8, 5, 59, tzinfo=UTC)) == ["owl"]  # Sat early
    assert oncall_at(night, datetime(2025, 3, 8, 6, 0, tzinfo=UTC)) == []
    assert oncall_at(night, datetime(2025, 3, 8, 23, 0, tzinfo=UTC)) == []  # Sat night


T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)  # alice's day on DAILY_UTC, then bob, then carol


@pytest.mark.parametrize(
    ("overrides", "at", "who"),
    [
        # bob covers alice for two hours
        ([Override("primary", "bob", T0, T0 + timedelta(hours=2), "alice")], T0, "bob"),
        (
            [Override("primary", "bob", T0, T0 + timedelta(hours=2), "alice")],
            T0 + timedelta(hours=2),
            "alice",
        ),
        # replaces only alice: no effect on carol's day
        (
            [Override("primary", "zed", T0, T0 + timedelta(days=3), "alice")],
            T0 + timedelta(days=2),
            "carol",
        ),
        # no replaces: covers whoever it is
        ([Override("primary", "zed", T0, T0 + timedelta(days=3))], T0 + timedelta(days=2), "zed"),
        # another schedule's override does nothing here
        ([Override("other", "zed", T0, T0 + timedelta(days=1))], T0, "alice"),
        # overlapping: the later one wins
        (
            [
                Override("primary", "bob", T0, T0 + timedelta(hours=5), "alice"),
                Override("primary", "dan", T0 + timedelta(hours=1), T0 + timedelta(hours=2)),
            ],
            T0 + timedelta(hours=1),
            "dan",
        ),
    ],
)
def test_overrides(overrides: list[Override], at: datetime, who: str) -> None:
    assert oncall_at(DAILY_UTC, at, overrides) == [who]


def test_override_in_timeline() -> None:
    ov = Override("primary", "bob", T0 + timedelta(hours=2), T0 + timedelta(hours=4), "alice")
    got = shifts(DAILY_UTC, T0, T0 + timedelta(days=1), [ov])
    assert got == [
        Shift("alice", T0, T0 + timedelta(hours=2), "default"),
        Shift("bob", T0 + timedelta(hours=2), T0 + timedelta(hours=4), "override"),
        Shift("alice", T0 + timedelta(hours=4), T0 + timedelta(days=1), "default"),
    ]


def test_override_must_end_after_start() -> None:
    with pytest.raises(ValueError, match="end after"):
        Override("primary", "bob", T0, T0)


@pytest.mark.parametrize(
    ("rotation", "message"),
    [
        ({"every": "12h", "participants": ["a"]}, "whole number of days"),
        ({"every": "1d", "handoff": "Mon 09:00", "participants": ["a"]}, "not whole weeks"),
        ({"every": "1w", "handoff": "Someday 09:00", "participants": ["a"]}, "invalid handoff"),
        ({"every": "1w", "handoff": "25:00", "participants": ["a"]}, "invalid"),
        ({"every": "1w", "participants": []}, "at least 1"),
        ({"every": "1w", "participants": ["a"], "handof": "09:00"}, "Extra inputs"),
        ({"every": "soon", "participants": ["a"]}, "invalid duration"),
    ],
)
def test_bad_rotations_say_why(rotation: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Schedule.model_validate({"name": "s", "tenant": "t", "rotation": rotation})


def test_unknown_zone_and_both_shapes_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        sched("Mars/Olympus", every="1d")
    with pytest.raises(ValidationError, match="either rotation"):
        Schedule.model_validate(
            {
                "name": "s",
                "tenant": "t",
                "rotation": {"every": "1d", "participants": ["a"]},
                "layers": [],
            }
        )
