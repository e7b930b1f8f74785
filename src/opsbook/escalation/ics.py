"""An RFC 5545 iCalendar feed of shifts, written with the icalendar library.

Each shift is one VEVENT with UTC ``DTSTART``/``DTEND`` (calendar apps convert to the reader's
zone) and a UID derived from schedule, user, layer and times, so a re-fetched feed updates the
same events instead of duplicating them. icalendar escapes text (``\\``, ``;``, ``,``,
newlines), folds lines at 75 octets without splitting a UTF-8 character, and ends them in CRLF.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from icalendar import Calendar, Event, vText
from icalendar.parser import foldline

from opsbook.config.oncall import Schedule
from opsbook.escalation.schedules import Shift, for_user

PRODID = "-//opsbook//on-call//EN"


def escape_text(value: str) -> str:
    """A TEXT value as it is written (RFC 5545 §3.3.11), by icalendar."""
    return vText(value).to_ical().decode("utf-8")


def fold(line: str) -> str:
    """One content line folded at 75 octets; continuation lines start with a space (§3.1)."""
    folded: str = foldline(line)
    return folded


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _describe(schedule: Schedule, shift: Shift) -> str:
    return (
        f"{shift.user} is on call for {schedule.name} "
        f"(layer {shift.layer}, time zone {schedule.timezone})."
    )


def shift_uid(schedule: str, shift: Shift) -> str:
    """A UID that stays the same for the same shift across fetches."""
    key = f"{schedule}|{shift.user}|{shift.layer}|{_stamp(shift.start)}|{_stamp(shift.end)}"
    return hashlib.sha256(key.encode()).hexdigest()[:32] + "@opsbook"


def ics(
    schedule: Schedule,
    shifts: Sequence[Shift],
    user: str | None = None,
    *,
    stamp: datetime | None = None,
) -> str:
    """The VCALENDAR text for ``shifts`` of ``schedule`` (only ``user``'s when given).

    ``stamp`` is the DTSTAMP (when the feed was made; pass the clock's now). Without it each
    event's DTSTAMP is its start, which keeps the output a pure function of its input.
    """
    chosen = for_user(shifts, user) if user is not None else list(shifts)
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"On call: {schedule.name}" + (f" ({user})" if user else ""))
    cal.add("x-wr-timezone", "UTC")
    for shift in chosen:
        event = Event()
        event.add("uid", shift_uid(schedule.name, shift))
        event.add("dtstamp", (stamp or shift.start).astimezone(UTC))
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        event.add("summary", f"On call: {shift.user} ({schedule.name})")
        event.add("description", _describe(schedule, shift))
        event.add("categories", [shift.layer])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    text: str = cal.to_ical().decode("utf-8")
    return text
