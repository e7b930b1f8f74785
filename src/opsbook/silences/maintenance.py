"""Maintenance windows as one value for config and API windows: when they are on, what they cover,
and which notices are due before they start. Pure: every function takes ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsbook.silences.config import MaintenanceWindow
from opsbook.silences.cron import Cron, fire_times


@dataclass(frozen=True)
class Window:
    """A maintenance window; one-off when ``cron`` is None. ``id`` is set for API windows."""

    name: str
    tenant: str
    services: tuple[str, ...]
    components: tuple[str, ...]
    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = None
    duration: timedelta = timedelta(0)
    timezone: str = "UTC"
    notify_before: timedelta = timedelta(hours=1)
    description: str = ""
    id: str | None = None

    @classmethod
    def from_config(cls, w: MaintenanceWindow) -> Window:
        """A config entry; naive ``start``/``end`` are read in the window's time zone."""
        zone = ZoneInfo(w.timezone)

        def aware(t: datetime | None) -> datetime | None:
            if t is None:
                return None
            return (t.replace(tzinfo=zone) if t.tzinfo is None else t).astimezone(UTC)

        return cls(
            name=w.name,
            tenant=w.tenant,
            services=tuple(w.services),
            components=tuple(w.components),
            start=aware(w.start),
            end=aware(w.end),
            cron=w.cron,
            duration=w.duration or timedelta(0),
            timezone=w.timezone,
            notify_before=w.notify_before,
            description=w.description,
        )

    def occurrences(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The (start, end) UTC intervals of this window that overlap [start, end], in order."""
        if self.cron is None:
            assert self.start is not None and self.end is not None
            return [(self.start, self.end)] if self.start <= end and self.end > start else []
        cron, zone = Cron.parse(self.cron), ZoneInfo(self.timezone)
        return [
            (t, t + self.duration)
            for t in fire_times(cron, zone, start - self.duration, end)
            if t + self.duration > start
        ]

    def active_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence that contains ``now`` (start inclusive, end exclusive), if any."""
        hits = [o for o in self.occurrences(now, now) if o[0] <= now < o[1]]
        return hits[0] if hits else None

    def covers(self, tenant: str, service: str | None, components: Iterable[str] = ()) -> bool:
        """True when the window names the service, or one of the service's components."""
        if tenant != self.tenant:
            return False
        return (service is not None and service in self.services) or bool(
            set(components) & set(self.components)
        )


def windows_from_config(entries: Sequence[MaintenanceWindow]) -> list[Window]:
    return [Window.from_config(w) for w in entries]


def maintenance_for(
    windows: Iterable[Window],
    tenant: str,
    service: str,
    service_components: Iterable[str],
    now: datetime,
) -> Window | None:
    """The window that silences ``service``'s alerts at ``now`` (the intake hook), or None."""
    comps = tuple(service_components)
    for w in windows:
        if w.covers(tenant, service, comps) and w.active_at(now) is not None:
            return w
    return None


def components_in_maintenance(
    windows: Iterable[Window],
    tenant: str,
    components_of_service: Mapping[str, Sequence[str]],
    now: datetime,
) -> set[str]:
    """Status-page components shown "under maintenance" at ``now``: named ones, and those of
    the services a window names."""
    out: set[str] = set()
    for w in windows:
        if w.tenant != tenant or w.active_at(now) is None:
            continue
        out.update(w.components)
        for svc in w.services:
            out.update(components_of_service.get(svc, ()))
    return out


@dataclass(frozen=True)
class Notice:
    """ "Planned maintenance starts soon", due once per occurrence; ``key`` makes queueing idempotent."""

    key: str
    tenant: str
    window: str
    starts_at: datetime
    ends_at: datetime
    components: tuple[str, ...]
    description: str


def upcoming_notices(windows: Iterable[Window], now: datetime) -> list[Notice]:
    """Notices due at ``now``: occurrences that start within their window's ``notify_before``.

    Call it on every tick; the same occurrence yields the same ``key`` each time, so the caller
    stores it once (insert-if-absent) and subscribers are told once.
    """
    out: list[Notice] = []
    for w in windows:
        for start, end in w.occurrences(now, now + w.notify_before):
            if now < start <= now + w.notify_before:
                out.append(
                    Notice(
                        key=f"{w.tenant}/{w.id or w.name}/{start.isoformat()}",
                        tenant=w.tenant,
                        window=w.name,
                        starts_at=start,
                        ends_at=end,
                        components=w.components,
                        description=w.description,
                    )
                )
    return sorted(out, key=lambda n: (n.starts_at, n.key))
