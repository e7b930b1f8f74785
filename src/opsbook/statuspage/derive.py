"""Component state from facts a visitor may know: which components, how bad, since when.

Inputs are deliberately poor — (service, severity, opened, resolved) per incident, never its
title, labels or timeline — so nothing private can reach the page through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from opsbook.incidents.models import Severity
from opsbook.statuspage.models import INDICATOR, SEVERITY_STATE, ComponentState, worst


@dataclass(frozen=True)
class IncidentSpan:
    """An incident reduced to what the status page may use; ``end`` is None while it is open."""

    service: str
    severity: Severity
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Override:
    """A commander's chosen state for a component, until ``expires_at`` (None: until cleared)."""

    state: ComponentState
    expires_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def state_for_severity(severity: Severity) -> ComponentState:
    """P0 → major outage, P1 → partial outage, P2 → degraded performance, P3 → operational."""
    return SEVERITY_STATE[severity]


def invert(components_of_service: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """component → services that list it, components in first-seen order."""
    out: dict[str, list[str]] = {}
    for svc, comps in components_of_service.items():
        for c in comps:
            out.setdefault(c, []).append(svc)
    return out


def derive_states(
    components_of_service: Mapping[str, Sequence[str]],
    open_incidents: Iterable[tuple[str, Severity]],
    maintenance: Iterable[str],
    overrides: Mapping[str, Override],
    now: datetime,
) -> dict[str, ComponentState]:
    """Each component's state now: a live override wins; otherwise the worst of its services'
    open incidents and maintenance."""
    services_of = invert(components_of_service)
    by_service: dict[str, list[ComponentState]] = {}
    for svc, sev in open_incidents:
        by_service.setdefault(svc, []).append(state_for_severity(sev))
    in_maintenance = set(maintenance)
    out: dict[str, ComponentState] = {}
    for comp, services in services_of.items():
        ov = overrides.get(comp)
        if ov is not None and ov.live(now):
            out[comp] = ov.state
            continue
        states = [st for svc in services for st in by_service.get(svc, [])]
        if comp in in_maintenance:
            states.append(ComponentState.UNDER_MAINTENANCE)
        out[comp] = worst(states)
    return out


def indicator(states: Iterable[ComponentState]) -> tuple[str, str]:
    """Statuspage's ``status.indicator`` and ``description`` for the worst state on the page."""
    return INDICATOR[worst(list(states))]


@dataclass(frozen=True)
class DayBar:
    """One day of one component's history: the worst state that day, and its outage minutes."""

    day: date
    state: ComponentState
    outage_minutes: int


def daily_history(
    components_of_service: Mapping[str, Sequence[str]],
    spans: Iterable[IncidentSpan],
    now: datetime,
    days: int = 90,
) -> dict[str, list[DayBar]]:
    """Per component, ``days`` UTC days ending today (oldest first): worst state each day from
    the incidents that overlapped it. An open incident lasts until ``now``."""
    services_of = invert(components_of_service)
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    span_list = list(spans)
    out: dict[str, list[DayBar]] = {}
    for comp, services in services_of.items():
        mine = [sp for sp in span_list if sp.service in services]
        bars = []
        for i in range(days):
            d = first + timedelta(days=i)
            lo = datetime.combine(d, time(), UTC)
            hi = min(lo + timedelta(days=1), now)
            states: list[ComponentState] = []
            outage = timedelta(0)
            for sp in mine:
                a, b = max(sp.start, lo), min(sp.end or now, hi)
                if a < b or (a == b and sp.start == a and lo <= a < hi):
                    st = state_for_severity(sp.severity)
                    states.append(st)
                    if st.rank >= ComponentState.PARTIAL_OUTAGE.rank:
                        outage += max(b - a, timedelta(0))
            bars.append(DayBar(d, worst(states), int(outage.total_seconds() // 60)))
        out[comp] = bars
    return out


def uptime_percent(bars: Sequence[DayBar]) -> float:
    """Share of the period without a partial or major outage, like Statuspage's uptime figure."""
    total = len(bars) * 24 * 60
    down = sum(min(b.outage_minutes, 24 * 60) for b in bars)
    return round(100.0 * (total - down) / total, 2) if total else 100.0
