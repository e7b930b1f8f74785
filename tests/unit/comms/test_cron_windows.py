"""Cron parsing, DST-correct recurring windows (Europe/Berlin, America/New_York), and notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsbook.silences.config import MaintenanceWindow
from opsbook.silences.cron import Cron, CronError, fire_times
from opsbook.silences.maintenance import (
    Window,
    components_in_maintenance,
    maintenance_for,
    upcoming_notices,
)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "field", "values"),
    [
        ("* * * * *", "minutes", set(range(60))),
        ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
        ("5,10-12 * * * *", "minutes", {5, 10, 11, 12}),
        ("10-50/20 * * * *", "minutes", {10, 30, 50}),
        ("5/20 * * * *", "minutes", {5, 25, 45}),
        ("0 2 * * *", "hours", {2}),
        ("0 0 1,15 * *", "days", {1, 15}),
        ("0 0 * JAN,mar-may *", "months", {1, 3, 4, 5}),
        ("0 0 * * 7", "weekdays", {0}),
        ("0 0 * * MON-FRI", "weekdays", {1, 2, 3, 4, 5}),
        ("0 0 * * sun,sat", "weekdays", {0, 6}),
        ("0 0 * * */2", "weekdays", {0, 2, 4, 6}),
    ],
)
def test_cron_fields(expr: str, field: str, values: set[int]) -> None:
    assert set(getattr(Cron.parse(expr), field)) == values


@pytest.mark.parametrize(
    "expr",
    [
        "* * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 8",
        "*/0 * * * *",
        "5-1 * * * *",
        "a * * * *",
        "1,,2 * * * *",
    ],
)
def test_cron_errors(expr: str) -> None:
    with pytest.raises(CronError):
        Cron.parse(expr)


def test_day_of_month_or_weekday_when_both_restricted() -> None:
    c = Cron.parse("0 0 13 * FRI")  # the 13th OR any Friday, as in Vixie cron
    z = ZoneInfo("UTC")
    days = [t.day for t in fire_times(c, z, utc(2026, 3, 1), utc(2026, 3, 31))]
    assert days == [6, 13, 20, 27]  # Fridays 6, 13, 20, 27; the 13th is a Friday too


def test_a_day_field_starting_with_a_star_means_both_must_match() -> None:
    c = Cron.parse("0 0 13 * */2")  # Vixie/Debian: "*/2" is a star field, so 13th AND even weekday
    z = ZoneInfo("UTC")
    got = [t.date().isoformat() for t in fire_times(c, z, utc(2026, 1, 1), utc(2026, 6, 30))]
    assert got == ["2026-01-13", "2026-06-13"]  # a Tuesday and a Saturday (2, 6); not OR


def test_last_day_of_month_from_cronsim() -> None:
    c = Cron.parse("0 3 L * *")
    got = [t.day for t in fire_times(c, ZoneInfo("UTC"), utc(2026, 1, 1), utc(2026, 4, 30, 23))]
    assert got == [31, 28, 31, 30]


BERLIN = "Europe/Berlin"
NY = "America/New_York"


@pytest.mark.parametrize(
    ("expr", "tz", "start", "end", "expected"),
    [
        # Sundays 02:00 Berlin: CET (+1) before 29 March 2026, CEST (+2) after
        (
            "0 2 * * 0",
            BERLIN,
            utc(2026, 3, 21),
            utc(2026, 4, 6),
            [utc(2026, 3, 22, 1), utc(2026, 3, 29, 1), utc(2026, 4, 5, 0)],
        ),
        # 02:30 does not exist on 29 March: fires once at the end of the gap (03:00 CEST = 01:00Z)
        (
            "30 2 * * *",
            BERLIN,
            utc(2026, 3, 28),
            utc(2026, 3, 30, 12),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)],
        ),
        # 02:30 exists twice on 25 October: fires once, at the first (CEST) one
        (
            "30 2 * * *",
            BERLIN,
            utc(2026, 10, 24),
            utc(2026, 10, 26, 12),
            [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
        # New York: 8 March 2026 springs forward at 02:00, 1 November falls back
        (
            "0 2 * * *",
            NY,
            utc(2026, 3, 7),
            utc(2026, 3, 9, 12),
            [utc(2026, 3, 7, 7), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6)],
        ),
        (
            "30 1 * * *",
            NY,
            utc(2026, 10, 31),
            utc(2026, 11, 2, 12),
            [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        ),
    ],
)
def test_fire_times_across_dst(
    expr: str, tz: str, start: datetime, end: datetime, expected: list[datetime]
) -> None:
    assert list(fire_times(Cron.parse(expr), ZoneInfo(tz), start, end)) == expected


def _weekly(tz: str = BERLIN, **kw: object) -> Window:
    cfg = MaintenanceWindow.model_validate(
        {
            "name": "weekly-db",
            "tenant": "acme",
            "services": ["db"],
            "cron": "0 2 * * 0",
            "duration": "2h",
            "timezone": tz,
            **kw,
        }
    )
    return Window.from_config(cfg)


def test_recurring_window_is_active_two_real_hours_across_fall_back() -> None:
    w = _weekly()
    # 25 Oct 2026: 02:00 CEST = 00:00Z; two real hours end at 02:00Z (= 03:00 CET)
    assert w.active_at(utc(2026, 10, 24, 23, 59)) is None
    assert w.active_at(utc(2026, 10, 25, 0, 0)) == (utc(2026, 10, 25, 0), utc(2026, 10, 25, 2))
    assert w.active_at(utc(2026, 10, 25, 1, 59)) is not None
    assert w.active_at(utc(2026, 10, 25, 2, 0)) is None
    # the Sunday after, in CET: 02:00 local = 01:00Z
    assert w.active_at(utc(2026, 11, 1, 0, 59)) is None
    assert w.active_at(utc(2026, 11, 1, 1, 0)) is not None


def test_window_silences_its_services_and_components() -> None:
    w = Window.from_config(
        MaintenanceWindow.model_validate(
            {
                "name": "move",
                "tenant": "acme",
                "components": ["API"],
                "start": "2026-01-01T11:00:00Z",
                "end": "2026-01-01T13:00:00Z",
            }
        )
    )
    now = utc(2026, 1, 1, 12)
    assert maintenance_for([w], "acme", "checkout", ["API", "Web"], now) is w
    assert maintenance_for([w], "acme", "search", ["Search"], now) is None
    assert maintenance_for([w], "globex", "checkout", ["API"], now) is None  # other tenant
    assert maintenance_for([w], "acme", "checkout", ["API"], utc(2026, 1, 1, 13)) is None
    svc_w = _weekly(tz="UTC")
    assert components_in_maintenance(
        [svc_w], "acme", {"db": ["Database"]}, utc(2026, 1, 4, 2, 30)
    ) == {"Database"}


def test_upcoming_notices_once_within_notify_before() -> None:
    w = _weekly(notify_before="1h")  # 5 April 2026 02:00 CEST = 00:00Z
    assert upcoming_notices([w], utc(2026, 4, 4, 22, 59)) == []
    first = upcoming_notices([w], utc(2026, 4, 4, 23, 0))
    again = upcoming_notices([w], utc(2026, 4, 4, 23, 30))
    assert [n.starts_at for n in first] == [utc(2026, 4, 5, 0)]
    assert [n.key for n in first] == [n.key for n in again]  # same key: queued once
    assert upcoming_notices([w], utc(2026, 4, 5, 0, 0)) == []  # started: no "beforehand" notice


@pytest.mark.parametrize(
    "bad",
    [
        {"cron": "0 2 * * 0"},  # no duration
        {"start": "2026-01-01T00:00:00Z"},  # no end
        {
            "cron": "0 2 * * 0",
            "duration": "1h",
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-01-02T00:00:00Z",
        },
        {"cron": "0 25 * * 0", "duration": "1h"},
        {"cron": "0 2 * * 0", "duration": "1h", "timezone": "Mars/Olympus"},
    ],
)
def test_window_config_errors(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        MaintenanceWindow.model_validate({"name": "w", "tenant": "acme", "services": ["db"], **bad})


def test_window_needs_a_target() -> None:
    with pytest.raises(ValueError, match="services"):
        MaintenanceWindow.model_validate(
            {"name": "w", "tenant": "acme", "cron": "0 2 * * 0", "duration": "1h"}
        )


def test_naive_one_off_times_are_read_in_the_window_zone() -> None:
    w = Window.from_config(
        MaintenanceWindow.model_validate(
            {
                "name": "w",
                "tenant": "acme",
                "services": ["db"],
                "timezone": BERLIN,
                "start": "2026-07-01T22:00:00",
                "end": "2026-07-01T23:00:00",
            }
        )
    )
    assert w.start == utc(2026, 7, 1, 20) and w.end == w.start + timedelta(hours=1)
