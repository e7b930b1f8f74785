"""Public update templates, prefilled from facts a visitor may see, then edited by a commander.

The prefill uses only the affected components, the impact and the start time — never the
incident's title (it comes from alert annotations), labels, steps or people — so an unedited
draft is already safe to publish. Whatever the commander types is theirs to choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from opsbook.statuspage.models import ComponentState, UpdateStatus


@dataclass(frozen=True)
class PublicFacts:
    """What a draft may mention."""

    components: Sequence[str]
    impact: ComponentState
    started_at: datetime
    window_end: datetime | None = None  # maintenance notices


@dataclass(frozen=True)
class Draft:
    template: str
    status: UpdateStatus
    title: str
    body: str


def _what(facts: PublicFacts) -> str:
    comps = list(facts.components)
    if not comps:
        return "some of our services"
    return comps[0] if len(comps) == 1 else ", ".join(comps[:-1]) + " and " + comps[-1]


def _hhmm(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "further notice"


_IMPACT = {
    ComponentState.MAJOR_OUTAGE: "unavailable",
    ComponentState.PARTIAL_OUTAGE: "partly unavailable",
    ComponentState.DEGRADED_PERFORMANCE: "slower than usual or showing errors",
    ComponentState.UNDER_MAINTENANCE: "under maintenance",
    ComponentState.OPERATIONAL: "affected for some users",
}

TEMPLATES: dict[str, tuple[UpdateStatus, str, str]] = {
    "investigating": (
        UpdateStatus.INVESTIGATING,
        "{what}: {impact}",
        "We are investigating reports that {what} {is_are} {impact} since {since}. "
        "We will post an update as soon as we know more.",
    ),
    "identified": (
        UpdateStatus.IDENTIFIED,
        "{what}: {impact}",
        "We have identified the cause of the problem affecting {what} and are working on a fix.",
    ),
    "monitoring": (
        UpdateStatus.MONITORING,
        "{what}: {impact}",
        "A fix has been applied and {what} {is_are} recovering. We are monitoring the results.",
    ),
    "resolved": (
        UpdateStatus.RESOLVED,
        "{what}: {impact}",
        "This incident has been resolved: {what} {is_are} working normally again.",
    ),
    "maintenance_scheduled": (
        UpdateStatus.SCHEDULED,
        "Scheduled maintenance: {what}",
        "{what} will be under planned maintenance from {since} until {until}. "
        "During this time the service may be unavailable.",
    ),
    "maintenance_started": (
        UpdateStatus.IN_PROGRESS,
        "Maintenance in progress: {what}",
        "Planned maintenance of {what} is in progress and is expected to end by {until}.",
    ),
    "maintenance_completed": (
        UpdateStatus.COMPLETED,
        "Maintenance completed: {what}",
        "Planned maintenance of {what} has been completed.",
    ),
}


def draft(template: str, facts: PublicFacts) -> Draft:
    """The prefilled title and body of ``template``; raises KeyError for an unknown name."""
    status, title, body = TEMPLATES[template]
    values = {
        "what": _what(facts),
        "is_are": "is" if len(facts.components) == 1 else "are",
        "impact": _IMPACT[facts.impact],
        "since": _hhmm(facts.started_at),
        "until": _hhmm(facts.window_end),
    }
    return Draft(template, status, title.format(**values), body.format(**values))
