"""When a post-mortem is required and by when: P0 and P1 within five days of resolution by default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class PostmortemPolicy:
    """Which severities need a post-mortem, how long the team has, and how often to remind."""

    required_for: tuple[str, ...] = ("P0", "P1")
    due_within: timedelta = timedelta(days=5)
    remind_before: timedelta = timedelta(days=1)
    remind_every: timedelta = timedelta(days=1)

    def required(self, severity: str) -> bool:
        return severity in self.required_for

    def due_at(self, severity: str, resolved_at: datetime) -> datetime | None:
        return resolved_at + self.due_within if self.required(severity) else None


DEFAULT_POLICY = PostmortemPolicy()
