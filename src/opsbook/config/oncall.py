"""On-call configuration: schedules, escalation policies, per-user notification rules, templates.

These are the ``schedules:``, ``escalation_policies:`` and ``users[].notify:`` sections of
``opsbook.yaml`` (DESIGN §4). They are intent, reviewed in pull requests; run-time state
(overrides, escalations in flight, the delivery outbox) lives in the database.

Every model forbids unknown keys, so a typo (``handof:``) is an error rather than a rotation that
silently hands off at midnight. Times of day are written ``"09:00"``; a handoff may name a day,
``"Mon 09:00"``; durations are written as elsewhere in the file (``1d``, ``1w``, ``15m``).
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsbook.config.durations import Duration
from opsbook.incidents.models import Severity

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Index in this tuple is ``date.weekday()``."""

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_HANDOFF = re.compile(r"^(?:([A-Za-z]{3})[a-z]*\s+)?(\d{1,2}:\d{2})$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


def parse_clock(text: str, *, allow_24: bool = False) -> time:
    """``"09:00"`` → ``time(9, 0)``; ``"24:00"`` (end of day) only where ``allow_24``."""
    value = text.strip()
    if allow_24 and value == "24:00":
        return time.max
    m = _CLOCK.match(value if len(value) == 5 else value.zfill(5))
    if not m:
        raise ValueError(
            f"invalid time of day {text!r}: expected HH:MM on a 24-hour clock, like 09:00"
        )
    return time(int(m.group(1)), int(m.group(2)))


def parse_handoff(text: str) -> tuple[int | None, time]:
    """``"Mon 09:00"`` → ``(0, time(9))``; ``"09:00"`` → ``(None, time(9))`` (weekday index)."""
    m = _HANDOFF.match(text.strip())
    day = m.group(1).lower() if m and m.group(1) else None
    if not m or (day is not None and day not in WEEKDAYS):
        raise ValueError(
            f"invalid handoff {text!r}: expected a time like 09:00 or a day and time like Mon 09:00"
        )
    return (WEEKDAYS.index(day) if day else None), parse_clock(m.group(2))


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name like UTC, Europe/Berlin, America/New_York"
        ) from None
    return name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rotation(_Strict):
    """Participants take turns of ``every`` (whole days), handing off at ``handoff`` local time.

    ``start`` anchors the turn order: the first handoff on or after ``start`` (at the handoff
    day and time) begins ``participants[0]``'s turn. Without it the anchor is 2024-01-01, a
    Monday, so the order is stable as long as the config does not change.
    """

    every: Duration = Field(description="length of one turn: 1d, 1w, 2w …; whole days")
    handoff: str = Field(default="Mon 09:00", description='"Mon 09:00" or "09:00", local time')
    participants: list[str] = Field(min_length=1)
    start: date | None = None

    @field_validator("every")
    @classmethod
    def _whole_days(cls, value: timedelta) -> timedelta:
        if value < timedelta(days=1) or value % timedelta(days=1):
            raise ValueError("a rotation turn must be a whole number of days, like 1d, 1w or 2w")
        return value

    @field_validator("handoff")
    @classmethod
    def _handoff_parses(cls, value: str) -> str:
        parse_handoff(value)
        return value

    @model_validator(mode="after")
    def _day_needs_weeks(self) -> Rotation:
        day, _ = parse_handoff(self.handoff)
        if day is not None and self.every % timedelta(weeks=1):
            raise ValueError(
                f"handoff {self.handoff!r} names a day but every={self.every.days}d is not whole "
                'weeks: write the time alone, like "09:00"'
            )
        return self

    @property
    def turn_days(self) -> int:
        return self.every.days

    @property
    def handoff_weekday(self) -> int | None:
        return parse_handoff(self.handoff)[0]

    @property
    def handoff_time(self) -> time:
        return parse_handoff(self.handoff)[1]


class Restriction(_Strict):
    """A window a layer is limited to, e.g. weekdays 09:00–17:00 (local time).

    ``days`` are the days a window *starts* on; an ``end`` at or before ``start`` runs into the
    next day (``22:00``–``06:00`` is a night shift); ``end: "24:00"`` means midnight.
    """

    days: list[Weekday] = Field(default=list(WEEKDAYS), min_length=1)
    start: str = "00:00"
    end: str = "24:00"

    @field_validator("days", mode="before")
    @classmethod
    def _lower_days(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.lower()[:3] if isinstance(v, str) else v for v in value]
        return value

    @field_validator("start")
    @classmethod
    def _start_parses(cls, value: str) -> str:
        parse_clock(value)
        return value

    @field_validator("end")
    @classmethod
    def _end_parses(cls, value: str) -> str:
        parse_clock(value, allow_24=True)
        return value

    @property
    def start_time(self) -> time:
        return parse_clock(self.start)

    def span(self) -> tuple[time, int, time]:
        """(start time, days later the window ends: 0 or 1, end time) in local wall time."""
        start = self.start_time
        if self.end.strip() == "24:00":
            return start, 1, time(0, 0)
        end = parse_clock(self.end)
        return start, (1 if end <= start else 0), end


class Layer(_Strict):
    """One rotation, optionally limited to windows. Later layers in the list win."""

    name: str = Field(pattern=_NAME)
    rotation: Rotation
    restrictions: list[Restriction] = []


class Schedule(_Strict):
    """Who is on call, when: one or more layers in one time zone.

    The shorthand ``rotation:`` (DESIGN §4) is one layer named ``default``.
    """

    name: str = Field(pattern=_NAME)
    tenant: str
    timezone: str = "UTC"
    layers: list[Layer] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "rotation" in data:
            if "layers" in data:
                raise ValueError("give either rotation: (one layer) or layers:, not both")
            data = dict(data)
            rotation = data.pop("rotation")
            layer: dict[str, Any] = {"name": "default", "rotation": rotation}
            if "restrictions" in data:
                layer["restrictions"] = data.pop("restrictions")
            data["layers"] = [layer]
        return data

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        return _zone(value)

    @field_validator("layers")
    @classmethod
    def _layer_names_unique(cls, value: list[Layer]) -> list[Layer]:
        names = [layer.name for layer in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"layer names must be unique in a schedule: {', '.join(dupes)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def participants(self) -> list[str]:
        """Everyone in any layer, first appearance first (the ``schedule_all`` target)."""
        out: list[str] = []
        for layer in self.layers:
            out += [p for p in layer.rotation.participants if p not in out]
        return out


class Target(_Strict):
    """Whom one escalation level notifies: named users, a schedule's on-call, a whole schedule."""

    users: list[str] = []
    schedule: str | None = Field(default=None, description="the person on call there right now")
    schedule_all: str | None = Field(default=None, description="every participant of the schedule")

    @model_validator(mode="after")
    def _someone(self) -> Target:
        if not (self.users or self.schedule or self.schedule_all):
            raise ValueError("notify: needs users, schedule or schedule_all")
        return self


class Level(_Strict):
    """One escalation level: notify ``notify`` ``after`` the previous level (0 for the first)."""

    after: Duration = timedelta(0)
    notify: Target


class EscalationPolicy(_Strict):
    """Ordered levels, repeated ``repeat`` more times while nobody acknowledges."""

    name: str = Field(pattern=_NAME)
    tenant: str
    steps: list[Level] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=10)

    def schedules(self) -> set[str]:
        """Schedules the policy refers to (the loader checks that they exist in the tenant)."""
        out: set[str] = set()
        for step in self.steps:
            out |= {s for s in (step.notify.schedule, step.notify.schedule_all) if s}
        return out


class QuietHours(_Strict):
    """A daily window (local time) in which only ``except_severities`` reach the person."""

    start: str
    end: str
    timezone: str = "UTC"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        return _zone(value)


class NotificationRule(_Strict):
    """How one person wants to be reached for some severities.

    ``channels``: ``all`` contacts at once, the ``first`` contact only, or the contacts whose
    URL scheme is listed (``[mailto, slack]``). The first rule naming the severity applies; a
    severity no rule names gets the default: P0/P1 → all, P2/P3 → first.
    """

    severities: list[Severity] = Field(min_length=1)
    channels: Literal["all", "first"] | list[str] = "all"
    quiet_hours: QuietHours | None = None
    except_severities: list[Severity] = [Severity.P0]

    @field_validator("channels")
    @classmethod
    def _schemes(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            bad = [s for s in value if not _SCHEME.match(s)]
            if bad or not value:
                raise ValueError(
                    f"channels must be all, first or a list of URL schemes like [mailto, slack]; got {value!r}"
                )
        return value


class MessageTemplate(_Strict):
    """A team's own message for one channel kind (``email``, ``chat``, ``webhook``).

    Jinja2 text rendered in the sandbox; see docs/oncall.md for the variables.
    """

    title: str = "{{ severity }} {{ service }}: {{ summary }}"
    body: str

    @model_validator(mode="after")
    def _renders(self) -> MessageTemplate:
        from opsbook.notify.render import check_template  # local: config stays light to import

        check_template(self.title, self.body)
        return self


class NotifySettings(_Strict):
    """Delivery settings for the outbox (``notify:`` at the top of the file)."""

    base_url: str = Field(
        default="http://127.0.0.1:8080", description="where links in messages point"
    )
    link_ttl: Duration = Field(default=timedelta(hours=24), description="acknowledge/resolve links")
    retry_base: Duration = timedelta(seconds=30)
    retry_cap: Duration = timedelta(hours=1)
    dead_letter_after: Duration = timedelta(hours=24)
    send_timeout: Duration = timedelta(seconds=10)
    templates: dict[Literal["email", "chat", "webhook"], MessageTemplate] = {}
    status_email: str | None = Field(
        default=None,
        description="Apprise mailto URL that sends status-page notices to subscribers, without `to=`, "
        "e.g. mailtos://user:pass@smtp.example.com?from=status@example.com",
    )
