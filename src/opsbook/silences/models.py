"""Silences as Alertmanager defines them, and the pure hook intake asks: "is this alert silenced?".

A silence is a set of label matchers (``=``, ``!=``, ``=~``, ``!~``; regexes fully anchored; a
missing label reads as ``""``), a start, an end, who made it and why. It matches an alert when
*every* matcher matches. Its state follows from the clock alone: pending before ``starts_at``,
active until ``ends_at``, expired from then on — expiring early just moves ``ends_at`` to now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from opsbook.config.models import Matcher
from opsbook.intake.routing import matches


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Silence:
    """One silence of one tenant; times are aware UTC."""

    id: str
    tenant: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""

    def state(self, now: datetime) -> SilenceState:
        """Pending before the start, active in [start, end), expired at and after the end."""
        if now >= self.ends_at:
            return SilenceState.EXPIRED
        if now < self.starts_at:
            return SilenceState.PENDING
        return SilenceState.ACTIVE

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every matcher matches; a silence without matchers matches nothing."""
        return bool(self.matchers) and all(matches(m, labels) for m in self.matchers)


def parse_matchers(texts: Sequence[str], *, max_regex_chars: int = 1000) -> tuple[Matcher, ...]:
    """``['job="api"', 'env=~"prod|stage"']`` → matchers; raises ValueError naming the bad one.

    Regexes must be ones RE2 accepts (see ``core.regex``), at most ``max_regex_chars`` long.
    """
    return tuple(Matcher.parse(t, max_regex_chars=max_regex_chars) for t in texts)


def format_matcher(m: Matcher) -> str:
    """The text form Alertmanager's amtool prints: ``name=~"value"``."""
    escaped = m.value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{m.name}{m.op}"{escaped}"'


def silenced_by(
    silences: Iterable[Silence], labels: Mapping[str, str], now: datetime
) -> Silence | None:
    """The active silence that mutes an alert with ``labels`` at ``now``, or None.

    When several match, the one that ends last is returned: it is the one that keeps the alert
    quiet longest, which is what a person reading "silenced by …" wants to see.
    """
    hits = [s for s in silences if s.state(now) is SilenceState.ACTIVE and s.matches(labels)]
    return max(hits, key=lambda s: (s.ends_at, s.id)) if hits else None
