"""An RFC 5545 iCalendar feed of shifts, written by hand (no dependency).

Each shift is one VEVENT with UTC ``DTSTART``/``DTEND`` (calendar apps convert to the reader's
zone) and a UID derived from schedule, user, layer and times, so a re-fetched feed updates the
same events instead of duplicating them. Text is escaped (``\\``, ``;``, ``,``, newlines) and
lines are folded at 75 octets without splitting a UTF-8 character, with CRLF endings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from opsbook.config.oncall import Schedule
from opsbook.escalation.schedules import Shift, for_user

PRODID = "-//opsbook//on-call//EN"


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold one content line at 75 octets; continuation lines start with a space (§3.1)."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


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
    name = f"On call: {schedule.name}" + (f" ({user})" if user else "")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:UTC",
    ]
    for shift in chosen:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{shift_uid(schedule.name, shift)}",
            f"DTSTAMP:{_stamp(stamp or shift.start)}",
            f"DTSTART:{_stamp(shift.start)}",
            f"DTEND:{_stamp(shift.end)}",
            f"SUMMARY:{escape_text(f'On call: {shift.user} ({schedule.name})')}",
            f"DESCRIPTION:{escape_text(_describe(schedule, shift))}",
            f"CATEGORIES:{escape_text(shift.layer)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
