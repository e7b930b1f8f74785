"""Route an alert to a service, give it a severity and a group key. Pure and table-testable.

The routes are compiled once per config object (a reload swaps the whole object, so it compiles
anew): per tenant, each route's matchers become plain predicates, so deciding an alert costs a
few dictionary lookups and no model or regex construction.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping
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
    service: str, group_by: list[str] | tuple[str, ...], labels: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """A bounded key for (service, values of the group_by labels); ``...`` groups by all labels."""
    everything = "..." in group_by
    chosen = dict(labels) if everything else {name: labels.get(name, "") for name in group_by}
    text = service + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(chosen.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:40], chosen


Predicate = Callable[[Mapping[str, str]], bool]


def _predicate(m: Matcher) -> Predicate:
    """``m`` as a function of the labels, with ``matches``'s semantics (a regex RE2 refuses
    matches nothing, whatever its operator)."""
    name, value = m.name, m.value
    if m.op == "=":
        return lambda labels: labels.get(name, "") == value
    if m.op == "!=":
        return lambda labels: labels.get(name, "") != value
    if regex.full_match(value, "") is None:  # refused by RE2: matches nothing
        return lambda labels: False
    full_match = regex.full_match
    if m.op == "=~":
        return lambda labels: bool(full_match(value, labels.get(name, "")))
    return lambda labels: full_match(value, labels.get(name, "")) is False


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    """One route of a tenant, its matchers as predicates and its place in ``config.routes``."""

    route: Route
    index: int
    tests: tuple[Predicate, ...]
    group_by: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(test(labels) for test in self.tests)


class RouteTable:
    """The routes of every tenant of one config, compiled once (``routes_for`` order)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._by_tenant: dict[str, tuple[CompiledRoute, ...]] = {}
        self._lock = threading.Lock()
        self._index = {id(r): i for i, r in enumerate(config.routes)}

    def routes(self, tenant: str) -> tuple[CompiledRoute, ...]:
        found = self._by_tenant.get(tenant)
        if found is None:
            with self._lock:
                found = tuple(
                    CompiledRoute(
                        r,
                        self._index[id(r)],
                        tuple(_predicate(m) for m in r.all_matchers()),
                        tuple(r.group_by),
                    )
                    for r in self.config.routes_for(tenant)
                )
                self._by_tenant[tenant] = found
        return found


_TABLES: dict[int, RouteTable] = {}
_TABLES_LOCK = threading.Lock()


def route_table(config: Config) -> RouteTable:
    """The compiled routes of ``config``; the last few configs (a reload keeps the old one
    alive while requests finish with it) are kept by identity, each holding its config."""
    table = _TABLES.get(id(config))
    if table is not None and table.config is config:
        return table
    with _TABLES_LOCK:
        table = RouteTable(config)
        if len(_TABLES) >= 8:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[id(config)] = table
    return table


def severity_of(config: Config, tenant: str, alert: AlertIn) -> Severity:
    """The severity ``decide`` gives ``alert``, without working out its group."""
    labels = alert.labels
    for c in route_table(config).routes(tenant):
        if c.matches(labels):
            return severity_for(config, c.route, alert)
    return severity_for(config, None, alert)


def decide(config: Config, tenant: str, alert: AlertIn) -> Decision:
    """The first matching route of the tenant wins; otherwise the tenant's default service."""
    labels = alert.labels
    for c in route_table(config).routes(tenant):
        if c.matches(labels):
            route = c.route
            key, chosen = group_key(route.service, c.group_by, labels)
            return Decision(
                service=route.service,
                severity=severity_for(config, route, alert),
                group_key=key,
                group_labels=chosen,
                auto_resolve=route.auto_resolve,
                route_index=c.index,
            )
    service = config.default_service(tenant)
    key, chosen = group_key(service, ("alertname",), labels)
    return Decision(service, severity_for(config, None, alert), key, chosen, True, None)
