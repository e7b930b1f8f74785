"""The top of the incident page: what a responder needs first — the summary, the impact (service,
components, their public state), who is paged at which escalation level and when the next fires,
and each alert's links (source, runbook, dashboard). Plain data for the template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.api.schemas import AlertOut, EntryOut
from opsbook.config.models import Config
from opsbook.config.oncall import Target
from opsbook.escalation.policy import Done, NotifyLevel, Snapshot, State, Wait, next_action
from opsbook.escalation.targets import UnknownSchedule, resolve_targets
from opsbook.flows import statuspage as status_flows
from opsbook.flows.escalation import overrides_for, policy_name
from opsbook.statuspage.models import ComponentState
from opsbook.storage.tables import Escalation, Incident
from opsbook.storage.tables_comms import StatusUpdateRow

RUNBOOK_KEYS = ("runbook_url", "runbook", "runbookUrl", "runbook_link")
DASHBOARD_KEYS = ("dashboard_url", "dashboardURL", "dashboard", "grafana_url", "grafana")
PANEL_KEYS = ("panel_url", "panelURL")
SILENCE_KEYS = ("silence_url", "silenceURL")
MAX_ALERTS = 20
STOPPED = {
    "acknowledged": "stopped: acknowledged",
    "resolved": "stopped: resolved",
    "exhausted": "ended: every level was paged and nobody acknowledged",
    "empty": "the policy has no levels",
}


def _web(value: Any) -> str | None:
    """An http(s) link, or None (a ``javascript:`` or relative value is never made a link)."""
    text = str(value or "").strip()
    return text if text.startswith(("https://", "http://")) and len(text) <= 4096 else None


def alert_links(a: AlertOut) -> list[tuple[str, str]]:
    """(label, url) of an alert: its source (generatorURL), runbook, dashboard, panel, silence."""
    out: list[tuple[str, str]] = []
    if url := _web(a.generator_url):
        out.append(("Source", url))
    for label, keys in (
        ("Runbook", RUNBOOK_KEYS),
        ("Dashboard", DASHBOARD_KEYS),
        ("Panel", PANEL_KEYS),
        ("Silence", SILENCE_KEYS),
    ):
        url = next((u for k in keys if (u := _web(a.annotations.get(k)))), None)
        if url and all(url != u for _, u in out):
            out.append((label, url))
    return out


@dataclass(frozen=True)
class Paged:
    """One escalation level that fired: when, whom it paged, and the people it could not reach
    (with why: no contact for this severity now, …)."""

    label: str
    at: datetime
    users: list[str]
    message: str
    unreached: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Paging:
    """Where the incident's escalation stands."""

    policy: str | None
    fired: list[Paged] = field(default_factory=list)
    next_label: str | None = None
    next_at: datetime | None = None
    next_who: list[str] = field(default_factory=list)
    next_why: str = ""
    stopped: str | None = None
    missing: str | None = None  # why nobody is paged at all

    @property
    def current(self) -> Paged | None:
        return self.fired[-1] if self.fired else None


def _level_label(level: int, round_: int) -> str:
    return f"level {level + 1}" + (f" (repeat {round_})" if round_ else "")


def _who(
    s: Session, config: Config, tenant: str, targets: Target, at: datetime
) -> tuple[list[str], str]:
    schedules = {sch.name: sch for sch in config.schedules if sch.tenant == tenant}
    try:
        users = resolve_targets(targets, schedules, at, overrides_for(s, tenant))
    except UnknownSchedule as exc:
        return [], str(exc)
    return users, "" if users else "nobody is on call there"


def paging(
    s: Session, config: Config, inc: Incident, timeline: Sequence[EntryOut], now: datetime
) -> Paging:
    """The escalation's frozen policy and state: levels fired (from the timeline, as they
    happened), and the next level with the time it fires (``next_action``) and whom it reaches."""
    fired: list[Paged] = []
    for e in timeline:
        if e.kind != "escalation" or "level" not in e.data:
            continue
        label = _level_label(int(e.data.get("level", 0)), int(e.data.get("round", 0)))
        users = [str(u) for u in e.data.get("users", [])]
        if "reason" in e.data and fired and fired[-1].label == label:  # a page that did not go
            for u in users:
                fired[-1].unreached[u] = e.message.split(": ", 1)[-1]
            continue
        fired.append(Paged(label=label, at=e.at, users=users, message=e.message))
    esc = s.scalars(
        select(Escalation).where(Escalation.tenant == inc.tenant, Escalation.incident_id == inc.id)
    ).first()
    if esc is None:
        name = policy_name(config, inc.tenant, inc.service, inc.severity, None)
        why = (
            f"escalation policy {name!r} is not defined"
            if name
            else f"service {inc.service} has no escalation policy"
        )
        return Paging(policy=None, fired=fired, missing=f"Nobody is paged: {why}.")
    snap, state = Snapshot.model_validate(esc.snapshot), State.model_validate(esc.state)
    if esc.done_reason is not None or inc.status not in ("triggered",):
        reason = esc.done_reason or ("acknowledged" if inc.status == "acknowledged" else "resolved")
        return Paging(policy=snap.policy, fired=fired, stopped=STOPPED.get(reason, reason))
    action = next_action(snap, state, now)
    if isinstance(action, Done):
        return Paging(policy=snap.policy, fired=fired, stopped=STOPPED.get(action.reason))
    if isinstance(action, NotifyLevel):
        level, round_, at = action.level, action.round, action.due
    else:
        assert isinstance(action, Wait)
        pos = _next_position(snap, state)
        if pos is None:  # the last level's window: then the escalation ends
            return Paging(
                policy=snap.policy,
                fired=fired,
                next_label="end of escalation",
                next_at=action.until,
                next_why="no level left to page",
            )
        round_, level = pos
        at = action.until
    who, why = _who(s, config, inc.tenant, snap.levels[level].targets, max(at, now))
    return Paging(
        policy=snap.policy,
        fired=fired,
        next_label=_level_label(level, round_),
        next_at=at,
        next_who=who,
        next_why=why,
    )


def _next_position(snapshot: Snapshot, state: State) -> tuple[int, int] | None:
    """(round, level) of the next level to fire (as ``escalation.policy`` counts them)."""
    if state.level < len(snapshot.levels):
        return state.round, state.level
    if state.round < snapshot.repeat:
        return state.round + 1, 0
    return None


@dataclass(frozen=True)
class Impact:
    """The service, its status-page components with their public state, and whether anyone
    published on this incident."""

    service: str
    description: str
    components: list[tuple[str, ComponentState]]
    latest_update: StatusUpdateRow | None
    auto: list[str]


def impact(
    s: Session, config: Config, inc: Incident, updates: Sequence[StatusUpdateRow], now: datetime
) -> Impact:
    svc = config.service(inc.tenant, inc.service)
    names = list(svc.components) if svc else []
    states: Mapping[str, ComponentState] = {}
    if names and config.status_page.enabled:
        states = status_flows.current_states(s, config, inc.tenant, now)
    auto = [
        c
        for c, least in (svc.auto_publish.items() if svc else [])
        if int(inc.severity[1]) <= least.rank
    ]
    return Impact(
        service=inc.service,
        description=svc.description if svc else "",
        components=[(c, states.get(c, ComponentState.OPERATIONAL)) for c in names],
        latest_update=updates[0] if updates else None,
        auto=auto,
    )


def summary(alerts: Sequence[AlertOut]) -> tuple[str, str]:
    """The first firing alert's ``summary`` and ``description`` annotations (else any alert's)."""
    ordered = sorted(alerts, key=lambda a: a.status != "firing")
    for a in ordered:
        text = str(a.annotations.get("summary", "") or a.annotations.get("message", "")).strip()
        desc = str(a.annotations.get("description", "")).strip()
        if text or desc:
            return text, desc
    return "", ""
