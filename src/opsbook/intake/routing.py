"""Route an alert to a service, give it a severity and a group key. Pure and table-testable."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from opsbook.config.models import Config, Matcher, Route
from opsbook.core import regex
from opsbook.incidents.models import Severity
from opsbook.intake.models import AlertIn

_P_LEVEL = re.compile(r"^(?:p|sev|sev-|s)?([0-3])$", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    """Where an alert goes: its service, severity and the incident group it joins."""

    service: str
    severity: Severity
    group_key: str
    group_labels: dict[str, str]
    auto_resolve: bool
    route_index: int | None  # index in config.routes; None for the tenant's default route


def matches(m: Matcher, labels: Mapping[str, str]) -> bool:
    """Alertmanager semantics: a missing label is the empty string; regexes are fully anchored.

    Regexes run on RE2 (linear time). A regex RE2 refuses (only a silence stored before RE2
    can hold one) matches nothing, whatever its operator: it never silences or routes more.
    """
    value = labels.get(m.name, "")
    if m.op == "=":
        return value == m.value
    if m.op == "!=":
        return value != m.value
    hit = regex.full_match(m.value, value)
    if hit is None:
        return False
    return hit if m.op == "=~" else not hit


def route_matches(route: Route, labels: Mapping[str, str]) -> bool:
    return all(matches(m, labels) for m in route.all_matchers())


def severity_for(config: Config, route: Route | None, alert: AlertIn) -> Severity:
    """Route's fixed severity, then the route's and global map, then a literal P0–P3, then the default."""
    if route is not None and route.severity is not None:
        return route.severity
    word = (alert.labels.get("severity") or alert.severity_hint or "").strip()
    if not word:
        return config.default_severity
    lowered = word.lower()
    if route is not None and lowered in route.severity_map:
        return route.severity_map[lowered]
    if lowered in config.severity_map:
        return config.severity_map[lowered]
    literal = _P_LEVEL.match(lowered)
    if literal:
        return Severity(f"P{literal.group(1)}")
    return config.default_severity


def group_key(
    service: str, group_by: list[str], labels: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """A bounded key for (service, values of the group_by labels); ``...`` groups by all labels."""
    everything = "..." in group_by
    chosen = dict(labels) if everything else {name: labels.get(name, "") for name in group_by}
    text = service + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(chosen.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:40], chosen


def decide(config: Config, tenant: str, alert: AlertIn) -> Decision:
    """The first matching route of the tenant wins; otherwise the tenant's default service."""
    for route in config.routes_for(tenant):
        if route_matches(route, alert.labels):
            key, chosen = group_key(route.service, route.group_by, alert.labels)
            return Decision(
                service=route.service,
                severity=severity_for(config, route, alert),
                group_key=key,
                group_labels=chosen,
                auto_resolve=route.auto_resolve,
                route_index=config.routes.index(route),
            )
    service = config.default_service(tenant)
    key, chosen = group_key(service, ["alertname"], alert.labels)
    return Decision(service, severity_for(config, None, alert), key, chosen, True, None)
