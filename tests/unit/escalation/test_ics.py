"""The iCalendar feed: RFC 5545 structure, folding, escaping, stable UIDs; parses back."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta

import pytest

from opsbook.config.oncall import Schedule
from opsbook.escalation.ics import escape_text, fold, ics
from opsbook.escalation.schedules import Shift, shifts

SCHED = Schedule.model_validate(
    {
        "name": "platform-primary",
        "tenant": "t",
        "timezone": "Europe/Berlin",
        "rotation": {
            "every": "1w",
            "handoff": "Mon 09:00",
            "participants": ["alice", "bøb, jr; \\x"],
        },
    }
)
START = datetime(2025, 3, 20, tzinfo=UTC)
END = START + timedelta(days=28)


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_structure_and_line_rules() -> None:
    got = shifts(SCHED, START, END)
    text = ics(SCHED, got)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    for raw in text.split("\r\n"):
        assert len(raw.encode()) <= 75
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert lines.count("BEGIN:VEVENT") == len(got) == lines.count("END:VEVENT")
    starts = [ln.split(":", 1)[1] for ln in lines if ln.startswith("DTSTART:")]
    assert starts[1] == "20250324T080000Z"  # Mon 09:00 CET
    assert starts[2] == "20250331T070000Z"  # Mon 09:00 CEST, after spring forward
    assert all(s.endswith("Z") for s in starts)
    assert "SUMMARY:On call: bøb\\, jr\\; \\\\x (platform-primary)" in lines


def test_uids_are_stable_and_distinct() -> None:
    got = shifts(SCHED, START, END)
    uids = [ln for ln in unfold(ics(SCHED, got)) if ln.startswith("UID:")]
    assert len(set(uids)) == len(uids)
    assert uids == [ln for ln in unfold(ics(SCHED, got)) if ln.startswith("UID:")]


def test_user_feed_has_only_their_shifts() -> None:
    got = shifts(SCHED, START, END)
    text = ics(SCHED, got, user="alice")
    assert text.count("BEGIN:VEVENT") == sum(1 for s in got if s.user == "alice")
    assert "bøb" not in text.split("BEGIN:VEVENT", 1)[1]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a,b", "a\\,b"),
        ("a;b", "a\\;b"),
        ("a\\b", "a\\\\b"),
        ("l1\nl2", "l1\\nl2"),
        ("x\r\ny", "x\\ny"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


def test_fold_never_splits_a_character() -> None:
    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


@pytest.mark.skipif(importlib.util.find_spec("icalendar") is None, reason="icalendar not installed")
def test_parses_back_with_icalendar() -> None:
    import icalendar  # type: ignore[import-not-found, import-untyped, unused-ignore]

    stamp = datetime(2025, 3, 1, tzinfo=UTC)
    got = shifts(SCHED, START, END)
    cal = icalendar.Calendar.from_ical(ics(SCHED, got, stamp=stamp))
    events = list(cal.walk("VEVENT"))
    assert [(str(e["SUMMARY"]), e["DTSTART"].dt, e["DTEND"].dt) for e in events] == [
        (f"On call: {s.user} (platform-primary)", s.start, s.end) for s in got
    ]
    assert all(e["DTSTAMP"].dt == stamp for e in events)


def test_empty_feed_is_valid() -> None:
    lines = unfold(ics(SCHED, []))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "BEGIN:VEVENT" not in lines


def test_shift_value() -> None:
    s = Shift("a", START, END, "default")
    assert s.end - s.start == timedelta(days=28)
