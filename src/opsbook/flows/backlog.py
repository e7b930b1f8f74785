"""The backlog of unsent work, for ``/metrics``, ``/readyz`` and the UI banner.

Deep means people may be hearing late: some ready work (jobs whose time has come, messages not
yet sent) has waited longer than ``deep_after`` or counts more than ``deep_items``. All replicas
share one database, so every replica reports the same backlog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from opsbook.storage import pressure
from opsbook.storage.pressure import Queue


@dataclass(frozen=True)
class Backlog:
    """Ready jobs per kind and pending notifications at ``now``; ``deep`` says whether to warn."""

    now: datetime
    queues: list[Queue]
    deep: bool

    def age(self, q: Queue) -> float:
        """Seconds the oldest item of ``q`` has waited (0 when empty)."""
        return max(0.0, (self.now - q.oldest).total_seconds()) if q.oldest else 0.0

    @property
    def waiting(self) -> int:
        return sum(q.depth for q in self.queues)

    def summary(self) -> str:
        """E.g. "1,204 notifications and 37 escalation ticks waiting, the oldest for 3m"."""
        parts = [f"{q.depth:,} {_label(q.kind, q.depth)}" for q in self.queues if q.depth]
        if not parts:
            return "nothing waiting"
        oldest = max(self.age(q) for q in self.queues)
        listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
        return f"{listed} waiting, the oldest for {_span(oldest)}"


_WORDS = {
    "notification": ("notification", "notifications"),
    "escalate": ("escalation tick", "escalation ticks"),
    "deliver": ("delivery attempt", "delivery attempts"),
}


def _label(kind: str, n: int) -> str:
    one, many = _WORDS.get(kind, (f"{kind} job", f"{kind} jobs"))
    return one if n == 1 else many


def _span(seconds: float) -> str:
    s = int(seconds)
    return f"{s}s" if s < 120 else f"{s // 60}m" if s < 7200 else f"{s // 3600}h"


def read(
    s: Session, now: datetime, deep_items: int, deep_after: float, tenant: str | None = None
) -> Backlog:
    """The backlog of ``tenant`` (its ready jobs and pending notifications), or of all tenants."""
    jobs = pressure.ready_jobs(s, now, tenant)
    queues = sorted(jobs, key=lambda q: q.kind)
    queues.insert(0, pressure.pending_notifications(s, tenant))
    b = Backlog(now, queues, False)
    deep = any(q.depth >= deep_items or b.age(q) >= deep_after for q in queues if q.depth)
    return Backlog(now, queues, deep)


def reader(
    sessions: sessionmaker[Session], now: Callable[[], datetime], deep_items: int, deep_after: float
) -> Callable[[], Backlog]:
    """A function reading the whole backlog in its own session (for the metrics scrape)."""

    def run() -> Backlog:
        with sessions() as s:
            return read(s, now(), deep_items, deep_after)

    return run
