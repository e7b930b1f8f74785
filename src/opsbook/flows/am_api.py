"""Alertmanager API v2 over opsbook's data, so ``amtool`` and Grafana can read and silence.

What maps onto what:

- an alert firing in an open incident is an *active* alert; its receiver is the incident's
  service and its group is the incident (``/alerts/groups``);
- an alert kept by a silence or maintenance window (``silenced_alerts``) while that silencer
  is still in force is *suppressed*, ``silencedBy`` the silence id (or ``maintenance:<name>``);
- opsbook has no inhibition rules: ``inhibitedBy`` is always empty;
- silences are opsbook's own (``flows.silences``): the same guardrails, the same matcher
  semantics; posting an existing ``id`` expires that silence and makes a new one, as
  Alertmanager does when a silence cannot be changed in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsbook.config.models import Config, Matcher
from opsbook.flows import silences as sil_flows
from opsbook.intake.routing import matches
from opsbook.silences.models import Silence, SilenceState, format_matcher
from opsbook.storage.tables import Alert, Incident
from opsbook.storage.tables_comms import SilencedAlert, SilenceRow

MAX_ALERTS = 5000
"""Most alerts one answer lists (the most recently received first)."""


@dataclass(frozen=True)
class AlertView:
    """One alert as Alertmanager's ``gettableAlert`` describes it, plus its group."""

    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    starts_at: datetime
    updated_at: datetime
    ends_at: datetime | None
    generator_url: str
    receiver: str
    silenced_by: list[str] = field(default_factory=list)
    group_id: str = ""
    group_labels: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return "suppressed" if self.silenced_by else "active"


def _silencer_id(reason: str) -> str:
    """``silence:<id>`` → ``<id>`` (what amtool can expire); a maintenance window keeps its prefix."""
    return reason.removeprefix("silence:")


def current_alerts(s: Session, config: Config, tenant: str, now: datetime) -> list[AlertView]:
    """The tenant's firing alerts of open incidents and its alerts kept quiet right now."""
    out: list[AlertView] = []
    q = (
        select(Alert, Incident.service, Incident.group_labels)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Alert.tenant == tenant, Alert.status == "firing", Incident.open_key.is_not(None))
        .order_by(Alert.last_received_at.desc())
        .limit(MAX_ALERTS)
    )
    firing: set[str] = set()
    for a, service, group_labels in s.execute(q):
        firing.add(a.fingerprint)
        out.append(
            AlertView(
                labels={str(k): str(v) for k, v in a.labels.items()},
                annotations={str(k): str(v) for k, v in a.annotations.items()},
                fingerprint=a.fingerprint,
                starts_at=a.starts_at or a.first_received_at,
                updated_at=a.last_received_at,
                ends_at=a.ends_at,
                generator_url=a.generator_url,
                receiver=service,
                group_id=a.incident_id,
                group_labels={str(k): str(v) for k, v in (group_labels or {}).items()},
            )
        )
    live = _live_silencers(s, config, tenant, now)
    kept = (
        select(SilencedAlert)
        .where(SilencedAlert.tenant == tenant)
        .order_by(SilencedAlert.last_received_at.desc())
        .limit(MAX_ALERTS)
    )
    by_fp: dict[str, AlertView] = {}
    for r in s.scalars(kept):
        if r.fingerprint in firing or r.silenced_by not in live:
            continue
        seen = by_fp.get(r.fingerprint)
        if seen is not None:  # one alert held by several silencers: one alert, all of them
            seen.silenced_by.append(_silencer_id(r.silenced_by))
            continue
        labels = {str(k): str(v) for k, v in r.labels.items()}
        by_fp[r.fingerprint] = AlertView(
            labels=labels,
            annotations={str(k): str(v) for k, v in r.annotations.items()},
            fingerprint=r.fingerprint,
            starts_at=r.starts_at or r.first_received_at,
            updated_at=r.last_received_at,
            ends_at=None,
            generator_url="",
            receiver=r.service,
            silenced_by=[_silencer_id(r.silenced_by)],
            group_id=f"quiet:{r.service}:{r.alertname}",
            group_labels={"alertname": r.alertname},
        )
    return (out + list(by_fp.values()))[:MAX_ALERTS]


def _live_silencers(s: Session, config: Config, tenant: str, now: datetime) -> set[str]:
    """``silence:<id>`` of every active silence and ``maintenance:<id or name>`` of every window
    in force, in the form ``silenced_alerts.silenced_by`` records."""
    q = select(SilenceRow.id).where(
        SilenceRow.tenant == tenant, SilenceRow.starts_at <= now, SilenceRow.ends_at > now
    )
    live = {f"silence:{i}" for i in s.scalars(q)}
    for w in sil_flows.all_windows(s, config, tenant, now):
        if w.active_at(now) is not None:
            live.add(f"maintenance:{w.id or w.name}")
    return live


def select_alerts(
    alerts: Sequence[AlertView],
    filters: Sequence[Matcher],
    *,
    active: bool,
    silenced: bool,
    inhibited: bool,
    receiver: Callable[[str], bool] | None,
) -> list[AlertView]:
    """Alertmanager's query semantics: every filter matcher must match the labels; ``active``
    false drops active alerts, ``silenced`` false drops silenced ones; ``inhibited`` changes
    nothing (no alert is inhibited here); ``receiver`` keeps alerts whose receiver it accepts."""
    del inhibited
    out = []
    for a in alerts:
        if a.silenced_by and not silenced:
            continue
        if not a.silenced_by and not active:
            continue
        if receiver is not None and not receiver(a.receiver):
            continue
        if all(matches(m, a.labels) for m in filters):
            out.append(a)
    return out


def groups(alerts: Sequence[AlertView]) -> list[tuple[dict[str, str], str, list[AlertView]]]:
    """(group labels, receiver, alerts) per incident (or per quiet service and alertname)."""
    found: dict[str, tuple[dict[str, str], str, list[AlertView]]] = {}
    for a in alerts:
        found.setdefault(a.group_id, (a.group_labels, a.receiver, []))[2].append(a)
    return sorted(found.values(), key=lambda g: (g[1], sorted(g[0].items())))


# -- silences --------------------------------------------------------------------------------


def matcher_text(name: str, value: str, is_regex: bool, is_equal: bool) -> str:
    """An Alertmanager JSON matcher as the text ``flows.silences`` parses (value kept verbatim)."""
    op = ("=~" if is_equal else "!~") if is_regex else ("=" if is_equal else "!=")
    return f'{name}{op}"{value}"'


def silence_json(row: SilenceRow, now: datetime) -> dict[str, Any]:
    """A stored silence as Alertmanager's ``gettableSilence``."""
    sil = sil_flows.to_silence(row)
    return {
        "id": row.id,
        "status": {"state": sil.state(now).value},
        "updatedAt": row.updated_at,
        "matchers": [
            {
                "name": m.name,
                "value": m.value,
                "isRegex": m.op in ("=~", "!~"),
                "isEqual": m.op in ("=", "=~"),
            }
            for m in sil.matchers
        ],
        "startsAt": row.starts_at,
        "endsAt": row.ends_at,
        "createdBy": row.created_by,
        "comment": row.comment,
    }


def silence_selected(sil: Silence, filters: Sequence[Matcher]) -> bool:
    """Alertmanager's silence filter: the filter matchers must all match the label set made of
    the silence's equality matchers."""
    labels = {m.name: m.value for m in sil.matchers if m.op == "="}
    return all(matches(f, labels) for f in filters)


_ORDER = {SilenceState.ACTIVE: 0, SilenceState.PENDING: 1, SilenceState.EXPIRED: 2}


def list_silences(
    s: Session, tenant: str, now: datetime, filters: Sequence[Matcher]
) -> list[dict[str, Any]]:
    """The tenant's silences that pass ``filters``: active (ending soonest first), pending
    (starting soonest first), then expired (ended latest first), as Alertmanager sorts them."""
    rows = [
        r
        for r in sil_flows.list_silences(s, tenant)
        if silence_selected(sil_flows.to_silence(r), filters)
    ]

    def key(r: SilenceRow) -> tuple[int, float]:
        state = sil_flows.to_silence(r).state(now)
        if state is SilenceState.ACTIVE:
            return (0, r.ends_at.timestamp())
        if state is SilenceState.PENDING:
            return (1, r.starts_at.timestamp())
        return (2, -r.ends_at.timestamp())

    return [silence_json(r, now) for r in sorted(rows, key=key)]


def replace_silence(
    s: Session,
    config: Config,
    tenant: str,
    actor: str,
    role: str,
    now: datetime,
    *,
    silence_id: str | None,
    matchers: Sequence[str],
    starts_at: datetime | None,
    ends_at: datetime,
    comment: str,
) -> SilenceRow:
    """Create a silence; with ``silence_id`` (Alertmanager's update) the old one, which must be
    the tenant's, is expired first and the new one is returned."""
    if silence_id:
        old = sil_flows.get_silence(s, tenant, silence_id)
        if old.ends_at > now:
            sil_flows.expire_silence(s, tenant, silence_id, actor, now)
    return sil_flows.create_silence(
        s,
        config,
        tenant,
        actor,
        role,
        now,
        matchers=matchers,
        starts_at=starts_at,
        ends_at=ends_at,
        comment=comment,
    )


def config_summary(config: Config, tenant: str) -> dict[str, Any]:
    """The tenant's routing as an Alertmanager configuration (routes to services as receivers,
    no integrations): ``amtool config show`` prints it and ``amtool config routes test`` can
    read it. Variables, secrets, users and contacts are never part of it."""
    services = [sv.name for sv in config.services if sv.tenant == tenant]
    default = config.default_service(tenant)
    routes = []
    for r in config.routes_for(tenant):
        routes.append(
            {
                "receiver": r.service,
                "matchers": [format_matcher(m) for m in r.all_matchers()],
                "group_by": list(r.group_by),
            }
        )
    names = list(dict.fromkeys([default, *services, *(r["receiver"] for r in routes)]))
    return {
        "route": {"receiver": default, "group_by": ["alertname"], "routes": routes},
        "receivers": [{"name": n} for n in names],
    }
