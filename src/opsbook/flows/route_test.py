"""Where would this alert go? The whole chain for a label set, without storing anything.

Like amtool's ``config routes test`` and beyond it: the route, service and severity, whether a
silence or maintenance window would keep it quiet, the runbook section it would open with, the
escalation policy and, level by level, who would be paged now on which kinds of contact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opsbook.config.models import Config
from opsbook.config.oncall import Schedule
from opsbook.escalation.schedules import Override
from opsbook.escalation.targets import UnknownSchedule, resolve_targets
from opsbook.flows.escalation import nobody_paged_reason, policy_name
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.incidents.models import Severity
from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.routing import decide
from opsbook.notify.rules import contacts_for, scheme


@dataclass(frozen=True)
class Reached:
    """One person a level would page now and the kinds of contact it would use (never addresses)."""

    user: str
    channels: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class LevelPlan:
    """One escalation level: when it fires after the incident opens, and whom it reaches now."""

    level: int
    fires_after: timedelta
    people: tuple[Reached, ...]
    note: str = ""


@dataclass(frozen=True)
class RouteVerdict:
    """Everything the pipeline would decide for one label set at ``at``."""

    tenant: str
    at: datetime
    labels: Mapping[str, str]
    route_index: int | None
    route: str
    service: str
    severity: str
    ack_within: timedelta
    group_labels: Mapping[str, str]
    quiet: str | None
    runbook: Mapping[str, object] | None
    policy: str | None
    repeat: int = 0
    levels: tuple[LevelPlan, ...] = ()
    nobody_paged: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def first_paged(self) -> list[str]:
        """The people the first level would wake now (empty when nobody would be paged)."""
        if self.quiet or not self.levels:
            return []
        return [p.user for p in self.levels[0].people if p.channels]


def _route_text(config: Config, index: int | None) -> str:
    if index is None:
        return "(no route matched: the tenant's default service)"
    r = config.routes[index]
    matchers = ", ".join(f"{m.name}{m.op}{m.value!r}" for m in r.all_matchers())
    return (
        f"routes[{index}] {{{matchers}}}" if matchers else f"routes[{index}] (matches everything)"
    )


def _people(
    config: Config, tenant: str, names: Sequence[str], severity: Severity, at: datetime
) -> tuple[Reached, ...]:
    out = []
    for name in names:
        user = config.user(tenant, name)
        if user is None:
            out.append(Reached(name, (), "not a configured user: nobody is reached"))
            continue
        contacts = contacts_for(user, severity, at, user.notify)
        if not user.contacts:
            note = "has no contacts"
        elif not contacts:
            note = "held by quiet hours now: the next level is paged instead"
        else:
            note = ""
        out.append(Reached(name, tuple(scheme(c) for c in contacts), note))
    return tuple(out)


def explain_route(
    config: Config,
    catalog: RunbookCatalog | None,
    tenant: str,
    labels: Mapping[str, str],
    at: datetime,
    *,
    annotations: Mapping[str, str] | None = None,
    overrides: Sequence[Override] = (),
    quiet: Callable[[Mapping[str, str], str], str | None] | None = None,
) -> RouteVerdict:
    """What intake would do with an alert of ``labels`` at ``at``; pure over what it is given."""
    alert = AlertIn(
        source="route-test",
        fingerprint="route-test",
        action=EventAction.TRIGGER,
        labels=dict(labels),
        annotations=dict(annotations or {}),
    )
    d = decide(config, tenant, alert)
    severity = Severity(d.severity)
    notes: list[str] = []
    if config.service(tenant, d.service) is None:
        notes.append(f"service {d.service!r} is not declared in the config")
    runbook: dict[str, object] | None = None
    if catalog is not None:
        m = catalog.match(tenant, d.service, alert.alertname, alert.labels, alert.annotations)
        if m is not None:
            runbook = {
                "path": m.runbook.path,
                "section": m.section.id,
                "heading": m.section.heading,
                "rule": m.rule,
                "score": m.score,
                "suggested": m.suggested,
            }
        else:
            notes.append(f"no runbook section of service {d.service!r} matches {alert.alertname!r}")
    name = policy_name(config, tenant, d.service, severity.value, d.route_index)
    policy = config.policy(tenant, name) if name else None
    levels: list[LevelPlan] = []
    offset = timedelta(0)
    for i, step in enumerate(policy.steps if policy else ()):
        offset += step.after
        try:
            names = resolve_targets(step.notify, _schedules(config, tenant), at, overrides)
        except UnknownSchedule as exc:
            levels.append(LevelPlan(i + 1, offset, (), str(exc)))
            continue
        people = _people(config, tenant, names, severity, at)
        note = "" if names else "reaches nobody now (empty schedule?)"
        levels.append(LevelPlan(i + 1, offset, people, note))
    nobody = None
    if policy is None:
        nobody = nobody_paged_reason(config, tenant, d.service, severity.value, d.route_index)
    elif not any(p.channels for lv in levels for p in lv.people):
        nobody = f"policy {policy.name!r} reaches no contact now"
    return RouteVerdict(
        tenant=tenant,
        at=at,
        labels=dict(labels),
        route_index=d.route_index,
        route=_route_text(config, d.route_index),
        service=d.service,
        severity=severity.value,
        ack_within=config.ack_window(severity),
        group_labels=d.group_labels,
        quiet=quiet(labels, d.service) if quiet else None,
        runbook=runbook,
        policy=policy.name if policy else name,
        repeat=policy.repeat if policy else 0,
        levels=tuple(levels),
        nobody_paged=nobody,
        notes=tuple(notes),
    )


def _schedules(config: Config, tenant: str) -> dict[str, Schedule]:
    return {s.name: s for s in config.schedules if s.tenant == tenant}


def verdict_json(v: RouteVerdict) -> dict[str, object]:
    """The verdict as the API and ``--json`` print it."""
    return {
        "tenant": v.tenant,
        "at": v.at.isoformat(),
        "labels": dict(v.labels),
        "route_index": v.route_index,
        "route": v.route,
        "service": v.service,
        "severity": v.severity,
        "ack_within_seconds": int(v.ack_within.total_seconds()),
        "group_labels": dict(v.group_labels),
        "quiet": v.quiet,
        "runbook": dict(v.runbook) if v.runbook else None,
        "escalation_policy": v.policy,
        "repeat": v.repeat,
        "levels": [
            {
                "level": lv.level,
                "fires_after_seconds": int(lv.fires_after.total_seconds()),
                "note": lv.note,
                "people": [
                    {"user": p.user, "channels": list(p.channels), "note": p.note}
                    for p in lv.people
                ],
            }
            for lv in v.levels
        ],
        "pages_now": v.first_paged,
        "nobody_paged": v.nobody_paged,
        "notes": list(v.notes),
    }
