"""What a silence must satisfy before it is stored, so one typo cannot mute a whole tenant.

- at least one matcher, always (Alertmanager refuses empty silences too);
- at least one equality matcher with a non-empty value (``job="api"``), unless an admin sets
  ``force`` — regex-only or negative-only silences match far more than people expect;
- it ends after it starts and in the future, and lasts at most ``max_duration`` (default 7d),
  unless an admin sets ``force``: long silences are how real outages go unnoticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from opsbook.config.durations import format_duration
from opsbook.config.models import Matcher
from opsbook.core.errors import InputError, PermissionDenied

DEFAULT_MAX_DURATION = timedelta(days=7)


def has_equality(matchers: Sequence[Matcher]) -> bool:
    """True when some matcher pins a label to one non-empty value."""
    return any(m.op == "=" and m.value != "" for m in matchers)


def check_silence(
    matchers: Sequence[Matcher],
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    *,
    max_duration: timedelta = DEFAULT_MAX_DURATION,
    force: bool = False,
    role: str = "responder",
) -> None:
    """Raise InputError for a malformed silence, PermissionDenied for an override without admin."""
    if not matchers:
        raise InputError('a silence needs at least one matcher, e.g. job="api"', field="matchers")
    if ends_at <= starts_at:
        raise InputError("endsAt must be after startsAt", field="endsAt")
    if ends_at <= now:
        raise InputError(
            "endsAt is in the past: this silence would never be active", field="endsAt"
        )
    if force and role != "admin":
        raise PermissionDenied("force overrides the silence guardrails and needs the admin role")
    if not has_equality(matchers) and not force:
        raise InputError(
            'a silence needs at least one equality matcher (name="value") so it cannot match '
            "more than intended; an admin may override with force: true",
            field="matchers",
        )
    length = ends_at - max(starts_at, now)
    if length > max_duration and not force:
        raise InputError(
            f"a silence may last at most {format_duration(max_duration)} (this one: "
            f"{format_duration(length)}); an admin may override with force: true",
            field="endsAt",
        )
