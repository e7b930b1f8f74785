"""``services[].checks`` and ``services[].slos`` in ``opsbook.yaml``: what opsbook watches itself.

A check probes one thing (``http``, ``tcp``, ``redis``, ``postgres``, ``cypher`` or ``promql``:
exactly one per check) every ``every``; it fires its alert only after failing for ``for`` and
resolves only after ``recover_after`` consecutive successes (flap damping, see
``opsbook.checks.state``). Thresholds are written as *failure* conditions — ``"> 90"`` means
"unhealthy when the value is above 90" — the way the runbooks state them.

An SLO is an availability ratio (``good``/``total`` counter selectors) or a latency share
(``latency.buckets`` histogram selector, ``latency.threshold`` seconds) with an objective and a
window; opsbook evaluates the SRE workbook's multi-window, multi-burn-rate alerts against
Prometheus (``opsbook.checks.burn``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsbook.config.durations import Duration
from opsbook.incidents.models import Severity

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_ALERT = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_THRESHOLD = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?[0-9][0-9_.eE+-]*)\s*$")
PROBE_KINDS = ("http", "tcp", "redis", "postgres", "cypher", "promql")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_threshold(text: str) -> tuple[str, float]:
    """``"> 90"`` → (">", 90.0); raises ValueError naming the accepted form."""
    m = _THRESHOLD.match(text)
    if not m:
        raise ValueError(
            f"invalid threshold {text!r}: expected an operator and a number, like '> 90' or '== 0'"
        )
    try:
        return m.group(1), float(m.group(2).replace("_", ""))
    except ValueError:
        raise ValueError(f"invalid number in threshold {text!r}") from None


def _threshold(value: str | None) -> str | None:
    if value is not None:
        parse_threshold(value)
    return value


class HttpProbe(_Strict):
    """GET a URL; healthy when the status is expected, latency under ``max_latency``, every
    ``json`` path equals its value (``services.neo4j: healthy``) and ``body_contains`` appears."""

    url: str
    method: Literal["GET", "HEAD", "POST"] = "GET"
    status: int | list[int] = 200
    max_latency: Duration | None = None
    json_path: dict[str, Any] = Field(default={}, alias="json")
    body_contains: str | None = None
    headers: dict[str, str] = {}

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TcpProbe(_Strict):
    """Open a TCP connection; healthy when it is accepted within the timeout."""

    host: str
    port: int = Field(ge=1, le=65535)


class RedisProbe(_Strict):
    """PING, then (when ``fail_if`` is set) INFO: unhealthy when any named INFO field meets its
    failure threshold, e.g. ``{evicted_keys: "> 0", used_memory: "> 1000000000"}``."""

    url: str = "{{ REDIS_URL }}"
    fail_if: dict[str, str] = {}

    @field_validator("fail_if")
    @classmethod
    def _valid(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            parse_threshold(text)
        return value


class QueryProbe(_Strict):
    """A read-only query; unhealthy when it fails, or when the first column of the first row
    meets ``fail_if`` (``"> 90"``). Without ``fail_if`` any answer is healthy."""

    url: str
    query: str
    fail_if: str | None = None

    @field_validator("fail_if")
    @classmethod
    def _valid(cls, value: str | None) -> str | None:
        return _threshold(value)


class PostgresProbe(QueryProbe):
    url: str = "{{ DATABASE_URL }}"
    query: str = "SELECT 1"


class CypherProbe(QueryProbe):
    url: str = "{{ FALKORDB_URL }}"
    query: str = "RETURN 1"


class PromqlProbe(QueryProbe):
    """A PromQL query; unhealthy when the first sample meets ``fail_if``, or (``absent_fails``)
    when the query returns nothing."""

    url: str = "{{ PROMETHEUS_URL }}"
    absent_fails: bool = False


class Check(_Strict):
    """One health check of a service. Exactly one probe kind must be given."""

    name: str = Field(pattern=_NAME)
    http: HttpProbe | None = None
    tcp: TcpProbe | None = None
    redis: RedisProbe | None = None
    postgres: PostgresProbe | None = None
    cypher: CypherProbe | None = None
    promql: PromqlProbe | None = None
    every: Duration = timedelta(seconds=30)
    timeout: Duration = timedelta(seconds=10)
    for_: Duration = Field(default=timedelta(0), alias="for")
    recover_after: int = Field(
        default=2, ge=1, description="consecutive successes before a firing check resolves"
    )
    alert: str = Field(default="CheckFailed", pattern=_ALERT)
    severity: Severity = Severity.P2
    summary: str = ""
    labels: dict[str, str] = {}

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_probe(self) -> Check:
        given = [k for k in PROBE_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"check {self.name!r} needs exactly one of {', '.join(PROBE_KINDS)}"
                + (f"; got {', '.join(given)}" if given else "")
            )
        if self.every < timedelta(seconds=1):
            raise ValueError("every must be at least 1s")
        if self.timeout <= timedelta(0):
            raise ValueError("timeout must be positive")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in PROBE_KINDS if getattr(self, k) is not None)

    @property
    def probe(self) -> HttpProbe | TcpProbe | RedisProbe | QueryProbe:
        value: HttpProbe | TcpProbe | RedisProbe | QueryProbe = getattr(self, self.kind)
        return value


class LatencySli(_Strict):
    """Share of requests faster than ``threshold`` seconds, from a histogram's ``_bucket``
    series; ``threshold`` must be one of its ``le`` bucket bounds."""

    buckets: str = Field(description='e.g. http_request_duration_seconds_bucket{job="api"}')
    threshold: float = Field(gt=0)


class BurnWindow(_Strict):
    """One multi-window alert: fire when the burn rate exceeds ``burn`` over both windows."""

    long: Duration
    short: Duration
    burn: float = Field(gt=0)
    action: Literal["page", "ticket"] = "page"


DEFAULT_BURN_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow(long=timedelta(hours=1), short=timedelta(minutes=5), burn=14.4, action="page"),
    BurnWindow(long=timedelta(hours=6), short=timedelta(minutes=30), burn=6.0, action="page"),
    BurnWindow(long=timedelta(days=3), short=timedelta(hours=6), burn=1.0, action="ticket"),
)


class Slo(_Strict):
    """A service level objective evaluated against Prometheus (``prometheus`` or the service's
    PROMETHEUS_URL). ``windows`` default to the SRE workbook's three; ``window_scale`` shrinks
    every window (and the SLO window) by a factor, for demos and tests."""

    name: str = Field(pattern=_NAME)
    good: str | None = Field(default=None, description="selector of good events (a counter)")
    total: str | None = Field(default=None, description="selector of all events (a counter)")
    latency: LatencySli | None = None
    objective: float = Field(gt=0, lt=1, description="e.g. 0.999")
    window: Duration = timedelta(days=30)
    windows: list[BurnWindow] = list(DEFAULT_BURN_WINDOWS)
    window_scale: float = Field(default=1.0, gt=0, le=1)
    every: Duration = timedelta(minutes=1)
    prometheus: str = "{{ PROMETHEUS_URL }}"
    alert: str = Field(default="SLOBurnRate", pattern=_ALERT)
    page_severity: Severity = Severity.P1
    ticket_severity: Severity = Severity.P3
    labels: dict[str, str] = {}

    @model_validator(mode="after")
    def _one_sli(self) -> Slo:
        ratio = self.good is not None or self.total is not None
        if ratio == (self.latency is not None) or (
            ratio and (self.good is None or self.total is None)
        ):
            raise ValueError(
                f"SLO {self.name!r} needs either good and total (availability) or latency"
            )
        if self.every < timedelta(seconds=1):
            raise ValueError("every must be at least 1s")
        return self
