"""Component state from facts a visitor may know: which components, how bad, since when.

Inputs are deliberately poor — (service, severity, opened, resolved) per incident, never its
title, labels or timeline — so nothing private can reach the page through here.

Publishing is a person's act: an open incident changes a component only where a person said so
— the components its latest public update names (at that update's impact) or a component state
a commander set — unless the service opts a component in to automatic publishing
(``auto_publish: {Component: P1}``: its incidents of P1 or worse show by themselves).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from opsbook.incidents.models import Severity
from opsbook.statuspage.models import INDICATOR, SEVERITY_STATE, ComponentState, worst

AutoPublish = Mapping[str, Mapping[str, Severity]]  # service → component → least severity shown


@dataclass(frozen=True)
class OpenIncident:
    """An open incident as the page may use it: ``published`` is what its latest public update
    announced (component → impact); empty when nobody published or the update closed it."""

    service: str
    severity: Severity
    published: Mapping[str, ComponentState] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentSpan:
    """An incident reduced to what the status page may use; ``end`` is None while it is open.
    ``published``: the worst impact any of its public updates announced, per component."""

    service: str
    severity: Severity
    start: datetime
    end: datetime | None
    published: Mapping[str, ComponentState] = field(default_factory=dict)


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


def impacts(
    components_of_service: Mapping[str, Sequence[str]],
    service: str,
    severity: Severity,
    published: Mapping[str, ComponentState],
    auto_publish: AutoPublish,
) -> dict[str, ComponentState]:
    """What one incident does to the page: the components a person published (at their impact),
    and those of its service that opted in to automatic publishing at this severity."""
    out = dict(published)
    opted = auto_publish.get(service, {})
    for comp in components_of_service.get(service, ()):
        least = opted.get(comp)
        if comp not in out and least is not None and severity.rank <= least.rank:
            out[comp] = state_for_severity(severity)
    return out


def derive_states(
    components_of_service: Mapping[str, Sequence[str]],
    open_incidents: Iterable[OpenIncident],
    maintenance: Iterable[str],
    overrides: Mapping[str, Override],
    now: datetime,
    auto_publish: AutoPublish | None = None,
) -> dict[str, ComponentState]:
    """Each component's state now: a live override wins; otherwise the worst of what open
    incidents published on it (see ``impacts``) and maintenance."""
    services_of = invert(components_of_service)
    by_component: dict[str, list[ComponentState]] = {}
    for inc in open_incidents:
        hit = impacts(
            components_of_service, inc.service, inc.severity, inc.published, auto_publish or {}
        )
        for comp, st in hit.items():
            by_component.setdefault(comp, []).append(st)
    in_maintenance = set(maintenance)
    out: dict[str, ComponentState] = {}
    for comp in services_of:
        ov = overrides.get(comp)
        if ov is not None and ov.live(now):
            out[comp] = ov.state
            continue
        states = list(by_component.get(comp, []))
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
    auto_publish: AutoPublish | None = None,
) -> dict[str, list[DayBar]]:
    """Per component, ``days`` UTC days ending today (oldest first): worst state each day from
    the incidents that overlapped it and were shown on it (see ``impacts``). An open incident
    lasts until ``now``."""
    services_of = invert(components_of_service)
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    shown = [
        (
            sp,
            impacts(
                components_of_service, sp.service, sp.severity, sp.published, auto_publish or {}
            ),
        )
        for sp in spans
    ]
    out: dict[str, list[DayBar]] = {}
    for comp in services_of:
        mine = [(sp, hit[comp]) for sp, hit in shown if comp in hit]
        bars = []
        for i in range(days):
            d = first + timedelta(days=i)
            lo = datetime.combine(d, time(), UTC)
            hi = min(lo + timedelta(days=1), now)
            states: list[ComponentState] = []
            outage = timedelta(0)
            for sp, st in mine:
                a, b = max(sp.start, lo), min(sp.end or now, hi)
                if a < b or (a == b and sp.start == a and lo <= a < hi):
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
