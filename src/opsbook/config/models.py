"""The shape of ``opsbook.yaml``: intent that teams review in pull requests.

Validated by Pydantic; unknown keys are errors so that a typo never silently does nothing.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from opsbook.config.alert_times import AlertTimes
from opsbook.config.checks import Check, Slo
from opsbook.config.durations import Duration
from opsbook.config.heartbeats import Heartbeat, owners
from opsbook.config.oncall import EscalationPolicy, NotificationRule, NotifySettings, Schedule
from opsbook.config.retention import Retention
from opsbook.config.rollouts import Rollout
from opsbook.config.verification import Verification
from opsbook.core import regex
from opsbook.incidents.models import Severity
from opsbook.postmortem.policy import PostmortemPolicy
from opsbook.silences.config import MaintenanceWindow, StatusPageSettings

Role = Literal["viewer", "responder", "commander", "admin"]
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Tenant(Strict):
    name: str = Field(pattern=_NAME)
    default_service: str | None = Field(
        default=None, description="service that receives alerts no route matches"
    )


class SecretRef(Strict):
    env: str | None = None
    file: str | None = None


class GatePolicy(Strict):
    """Who may let a step of one safety class run."""

    role: Role
    confirm: bool = Field(default=False, description="the approver must type the step's title")
    second_person: bool = Field(default=False, description="the requester cannot approve alone")


class RunbookGates(Strict):
    """Stricter (or looser) gates for the runbooks whose path matches ``path`` (a glob)."""

    path: str = Field(description="glob on the runbook path as loaded, e.g. runbooks/payments-*.md")
    mutating: GatePolicy | None = None
    destructive: GatePolicy | None = None
    unknown: GatePolicy | None = None


class ExecutionPolicy(Strict):
    """How runbook steps of a service run; the defaults follow DESIGN §5."""

    auto_run: bool = Field(
        default=True, description="run read-only diagnostics when an incident opens"
    )
    auto_phases: list[str] = ["detect", "investigate"]
    validate_on_resolve: bool = True
    step_timeout: Duration = timedelta(seconds=30)
    budget: Duration = Field(
        default=timedelta(minutes=2), description="total time for automatic steps per incident"
    )
    approval_ttl: Duration = timedelta(minutes=15)
    allowed_hosts: list[str] = Field(
        default=[],
        description="hosts, host:port, addresses or CIDRs the service's steps may connect to "
        "besides those in its own variables; loopback, link-local and private addresses only "
        "when named here (cloud metadata never)",
    )

    @field_validator("allowed_hosts")
    @classmethod
    def _readable_hosts(cls, v: list[str]) -> list[str]:
        # imported here: the executors package loads every client library (httpx, psycopg …)
        from opsbook.executors.ssrf import entry_problem

        for i, entry in enumerate(v):
            problem = entry_problem(entry)
            if problem is not None:
                raise ValueError(f"allowed_hosts[{i}]: {problem}")
        return v

    mutating: GatePolicy = GatePolicy(role="responder")
    destructive: GatePolicy = GatePolicy(role="commander", confirm=True)
    unknown: GatePolicy = GatePolicy(role="commander", confirm=True)
    four_eyes: bool = Field(
        default=True,
        description="destructive and unknown steps need a second person: the requester never "
        "approves them alone (a commander may break glass with a written reason)",
    )
    runbooks: list[RunbookGates] = Field(
        default=[], description="per-runbook gates; the first match wins"
    )

    def gate(self, safety: str, runbook_path: str | None = None) -> GatePolicy | None:
        """The approval a safety class needs (per runbook where configured); None for read-only."""
        if safety == "read-only":
            return None
        kind = safety if safety in ("mutating", "destructive") else "unknown"
        if runbook_path is not None:
            for rule in self.runbooks:
                if fnmatch.fnmatch(runbook_path, rule.path) or fnmatch.fnmatch(
                    Path(runbook_path).name, rule.path
                ):
                    chosen: GatePolicy | None = getattr(rule, kind)
                    if chosen is not None:
                        return chosen
                    break
        gate: GatePolicy = getattr(self, kind)
        return gate

    def needs_second_person(self, gate: GatePolicy, safety: str) -> bool:
        """Whether the requester may not approve alone: the gate says so, or four eyes
        (on by default) for destructive and unknown steps."""
        return gate.second_person or (self.four_eyes and safety not in ("read-only", "mutating"))


class PostmortemSettings(Strict):
    """Which incidents need a post-mortem, and by when (``postmortems:`` at the top of the file)."""

    required_for: list[Severity] = [Severity.P0, Severity.P1]
    due_within: Duration = timedelta(days=5)
    remind_before: Duration = timedelta(days=1)
    remind_every: Duration = timedelta(days=1)

    def policy(self) -> PostmortemPolicy:
        return PostmortemPolicy(
            required_for=tuple(s.value for s in self.required_for),
            due_within=self.due_within,
            remind_before=self.remind_before,
            remind_every=self.remind_every,
        )


class Service(Strict):
    name: str = Field(pattern=_NAME)
    tenant: str
    description: str = ""
    runbooks: list[str] = []
    components: list[str] = []
    auto_publish: dict[str, Severity] = Field(
        default={},
        description=(
            "status-page components whose state follows this service's open incidents of at"
            " least this severity without a person publishing, e.g. {API: P1}; other components"
            " change only when a commander publishes an update or sets their state"
        ),
    )
    escalation_policy: str | None = None
    variables: dict[str, str] = {}
    secrets: dict[str, SecretRef] = {}
    execution: ExecutionPolicy = ExecutionPolicy()
    checks: list[Check] = []
    slos: list[Slo] = []

    @model_validator(mode="after")
    def _auto_publish_known(self) -> Service:
        """Only this service's own components may opt in (a typo would silently do nothing)."""
        for comp in self.auto_publish:
            if comp not in self.components:
                raise ValueError(
                    f"auto_publish names {comp!r}, which is not in this service's components"
                )
        return self


class Matcher(Strict):
    """One label matcher with Alertmanager's semantics (regexes are fully anchored)."""

    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    @classmethod
    def parse(cls, text: str, *, max_regex_chars: int = regex.CONFIG_MAX_PATTERN_CHARS) -> Matcher:
        """``name<op>"value"``; a regex must be one RE2 accepts (linear-time, as Alertmanager's)."""
        m = _MATCHER.match(text)
        if not m:
            raise ValueError(
                f"invalid matcher {text!r}: expected name=value, name!=value, name=~regex or name!~regex"
            )
        name, op, value = m.groups()
        if op in ("=~", "!~"):
            try:
                regex.check(value, max_chars=max_regex_chars)
            except regex.RegexRefused as exc:
                raise ValueError(f"invalid regex in matcher {text!r}: {exc}") from None
        return cls(name=name, op=op, value=value)


class StormPolicy(Strict):
    """Storm correlation: once ``threshold`` incidents opened for one service within ``window``,
    further new alerts (never a P0) join one storm incident of that service instead."""

    threshold: int = Field(
        default=50, ge=1, le=1_000_000, description="incidents per window before a storm"
    )
    window: Duration = timedelta(minutes=5)

    @field_validator("window")
    @classmethod
    def _window_positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("the storm window must be at least 1s")
        return value


def _storm_switch(value: object) -> object:
    """``storm: off`` (YAML reads it as false) disables; ``storm: on`` means the default."""
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "false")):
        return "off"
    if value is True or (isinstance(value, str) and value.strip().lower() in ("on", "true")):
        return None
    return value


StormSetting = Annotated[StormPolicy | Literal["off"] | None, BeforeValidator(_storm_switch)]


class Route(Strict):
    """First matching route wins, like a flat Alertmanager route tree."""

    tenant: str | None = Field(
        default=None, description="only alerts of this tenant; default: the service's"
    )
    match: dict[str, str] = {}
    match_re: dict[str, str] = {}
    matchers: list[str] = []
    service: str
    severity: Severity | None = Field(default=None, description="force this severity")
    severity_map: dict[str, Severity] = {}
    group_by: list[str] = ["alertname"]
    escalation_policy: str | dict[Severity, str] | None = Field(
        default=None, description="override the service's policy: one name, or one per severity"
    )
    auto_resolve: bool = Field(
        default=True, description="resolve the incident when all its alerts resolve"
    )
    storm: StormSetting = Field(
        default=None,
        description="storm correlation for this route: {threshold, window}, or off; "
        "default: the top-level `storm:`",
    )

    @field_validator("match_re")
    @classmethod
    def _regexes_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for name, rx in value.items():
            try:
                regex.check(rx, max_chars=regex.CONFIG_MAX_PATTERN_CHARS)
            except regex.RegexRefused as exc:
                raise ValueError(f"invalid regex for label {name!r}: {exc}") from None
        return value

    @field_validator("matchers")
    @classmethod
    def _matchers_parse(cls, value: list[str]) -> list[str]:
        for text in value:
            Matcher.parse(text)
        return value

    def all_matchers(self) -> list[Matcher]:
        """``match``, ``match_re`` and ``matchers`` as one list of Matcher."""
        out = [Matcher(name=k, op="=", value=v) for k, v in self.match.items()]
        out += [Matcher(name=k, op="=~", value=v) for k, v in self.match_re.items()]
        out += [Matcher.parse(t) for t in self.matchers]
        return out


class SeverityPolicy(Strict):
    ack_within: Duration


class User(Strict):
    name: str = Field(pattern=_NAME)
    tenant: str
    role: Role = "responder"
    full_name: str = ""
    contacts: list[str] = []
    notify: list[NotificationRule] = []
    password_hash: str | None = Field(
        default=None,
        description="argon2 hash from `opsbook users hash`: lets this user sign in to the web UI",
    )


DEFAULT_SEVERITY_MAP: dict[str, Severity] = {
    "critical": Severity.P0,
    "page": Severity.P0,
    "high": Severity.P1,
    "error": Severity.P1,
    "major": Severity.P1,
    "warning": Severity.P2,
    "minor": Severity.P2,
    "low": Severity.P3,
    "info": Severity.P3,
    "none": Severity.P3,
}

DEFAULT_ACK_WINDOWS: dict[Severity, timedelta] = {
    Severity.P0: timedelta(minutes=5),
    Severity.P1: timedelta(minutes=15),
    Severity.P2: timedelta(hours=1),
    Severity.P3: timedelta(hours=4),
}


class Config(Strict):
    """The whole file. Cross-references (tenants, services) are checked in ``load.py``."""

    tenants: list[Tenant] = Field(min_length=1)
    services: list[Service] = []
    routes: list[Route] = []
    severity_map: dict[str, Severity] = DEFAULT_SEVERITY_MAP
    default_severity: Severity = Severity.P2
    severities: dict[Severity, SeverityPolicy] = {
        sev: SeverityPolicy(ack_within=win) for sev, win in DEFAULT_ACK_WINDOWS.items()
    }
    users: list[User] = []
    schedules: list[Schedule] = []
    escalation_policies: list[EscalationPolicy] = []
    notify: NotifySettings = NotifySettings()
    postmortems: PostmortemSettings = PostmortemSettings()
    maintenance: list[MaintenanceWindow] = []
    status_page: StatusPageSettings = StatusPageSettings()
    alert_times: AlertTimes = AlertTimes()
    heartbeats: list[Heartbeat] = Field(
        default=[], description="dead man's switches: page when pings stop (config.heartbeats)"
    )
    retention: Retention = Field(
        default=Retention(), description="how long alerts, step outputs, … are kept, per tenant"
    )
    rollouts: list[Rollout] = Field(
        default=[], description="canary rollouts with SLO gates, per service (config.rollouts)"
    )
    verification: Verification = Field(
        default=Verification(), description="scheduled runs of read-only runbook steps"
    )
    storm: StormSetting = Field(
        default=StormPolicy(),
        description="default storm correlation of every route: {threshold, window}, or off",
    )

    @model_validator(mode="after")
    def _heartbeat_services(self) -> Config:
        owners(self.heartbeats, [(s.tenant, s.name) for s in self.services])
        return self

    @model_validator(mode="after")
    def _rollout_services(self) -> Config:
        seen: set[tuple[str, str]] = set()
        for i, r in enumerate(self.rollouts):
            tenants = [s.tenant for s in self.services if s.name == r.service]
            if len(tenants) != 1:
                why = "is in several tenants" if tenants else "is not a declared service"
                raise ValueError(f"rollouts[{i}].service: {r.service!r} {why}")
            if (tenants[0], r.name) in seen:
                raise ValueError(
                    f"rollouts[{i}].name: {r.name!r} is used twice in tenant {tenants[0]}"
                )
            seen.add((tenants[0], r.name))
        return self

    def heartbeat_tenants(self) -> list[tuple[str, Heartbeat]]:
        """Every heartbeat with the tenant of its service."""
        found = owners(self.heartbeats, [(s.tenant, s.name) for s in self.services])
        return list(zip(found, self.heartbeats, strict=True))

    def user(self, tenant: str, name: str) -> User | None:
        return next((u for u in self.users if u.tenant == tenant and u.name == name), None)

    def schedule(self, tenant: str, name: str) -> Schedule | None:
        return next((s for s in self.schedules if s.tenant == tenant and s.name == name), None)

    def policy(self, tenant: str, name: str) -> EscalationPolicy | None:
        return next(
            (p for p in self.escalation_policies if p.tenant == tenant and p.name == name), None
        )

    def tenant(self, name: str) -> Tenant | None:
        return next((t for t in self.tenants if t.name == name), None)

    def service(self, tenant: str, name: str) -> Service | None:
        return next((s for s in self.services if s.tenant == tenant and s.name == name), None)

    def storm_policy(self, route_index: int | None) -> StormPolicy | None:
        """The storm correlation for alerts of a route (None: off); the route's, else the default."""
        chosen = self.routes[route_index].storm if route_index is not None else None
        if chosen is None:
            chosen = self.storm if self.storm is not None else StormPolicy()
        return chosen if isinstance(chosen, StormPolicy) else None

    def ack_window(self, severity: Severity) -> timedelta:
        policy = self.severities.get(severity)
        return policy.ack_within if policy else DEFAULT_ACK_WINDOWS[severity]

    def routes_for(self, tenant: str) -> list[Route]:
        """The routes that apply to ``tenant``'s alerts, in file order."""
        out = []
        for r in self.routes:
            owner = r.tenant or next((s.tenant for s in self.services if s.name == r.service), None)
            if owner == tenant:
                out.append(r)
        return out

    def default_service(self, tenant: str) -> str:
        t = self.tenant(tenant)
        return t.default_service if t and t.default_service else "unrouted"
