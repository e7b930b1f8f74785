"""``rollouts:`` in ``opsbook.yaml``: canary rollouts in weighted steps, judged by SLO gates.

A rollout shifts traffic to the new version step by step (5 %, 25 %, 100 %), holding each step
for its ``pause`` while every gate is evaluated each ``interval``. A gate is a PromQL query with a
threshold (``max``/``min``), or a comparison with the stable version (``baseline`` with
``max_increase`` or ``max_ratio``, the way Kayenta judges a canary). ``failure_limit`` failing
evaluations in a row roll back: traffic to 0 % at once, the rollback runs, an incident opens.
In a query, ``{{canary}}`` and ``{{stable}}`` stand for the two versions' names as the traffic
actuator knows them (HAProxy server names, Kubernetes backends), ``{{version}}`` for the version
being rolled out.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsbook.config.durations import Duration
from opsbook.incidents.models import Severity

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_HOSTPORT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolloutStep(_Strict):
    """Send ``weight`` % of traffic to the canary and hold it for ``pause``."""

    weight: int = Field(ge=0, le=100)
    pause: Duration = timedelta(0)


class Gate(_Strict):
    """One SLO gate: a PromQL value judged each interval against a threshold or the baseline."""

    name: str = Field(pattern=_NAME)
    query: str = Field(min_length=1, max_length=4000)
    max: float | None = Field(default=None, description="fail when the value is above this")
    min: float | None = Field(default=None, description="fail when the value is below this")
    baseline: str | None = Field(
        default=None, max_length=4000, description="the same measure for the stable version"
    )
    max_increase: float | None = Field(
        default=None, description="fail when canary − baseline is above this (absolute margin)"
    )
    max_ratio: float | None = Field(
        default=None, gt=0, description="fail when canary ÷ baseline is above this"
    )
    on_no_data: Literal["inconclusive", "fail"] = Field(
        default="inconclusive",
        description="a query with no value (no traffic yet): wait, or count it as a failure",
    )

    @model_validator(mode="after")
    def _threshold(self) -> Gate:
        if self.max is None and self.min is None and self.baseline is None:
            raise ValueError(f"gate {self.name}: give max, min, or a baseline with a margin")
        if self.baseline is not None and self.max_increase is None and self.max_ratio is None:
            raise ValueError(f"gate {self.name}: a baseline needs max_increase or max_ratio")
        if self.baseline is None and (self.max_increase is not None or self.max_ratio is not None):
            raise ValueError(f"gate {self.name}: max_increase/max_ratio compare with a baseline")
        return self


class HAProxyActuator(_Strict):
    """HAProxy's runtime API (``stats socket … level admin``): server weights of one backend."""

    address: str = Field(description="host:port of a TCP stats socket, or a unix socket path")
    backend: str = Field(min_length=1, max_length=128)
    stable: str = Field(min_length=1, max_length=128, description="the stable server's name")
    canary: str = Field(min_length=1, max_length=128, description="the canary server's name")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not (value.startswith("/") or _HOSTPORT.match(value)):
            raise ValueError("address: host:port of the stats socket, or an absolute socket path")
        return value


class KubernetesActuator(_Strict):
    """Gateway API HTTPRoute backend weights, or a replica ratio of two Deployments, by kubectl."""

    namespace: str = Field(default="default", min_length=1, max_length=63)
    httproute: str | None = Field(default=None, description="HTTPRoute whose weights are set")
    stable: str = Field(min_length=1, max_length=253, description="stable Service or Deployment")
    canary: str = Field(min_length=1, max_length=253, description="canary Service or Deployment")
    replicas: int | None = Field(
        default=None, ge=1, le=1000, description="without httproute: total replicas to split"
    )

    @model_validator(mode="after")
    def _mode(self) -> KubernetesActuator:
        if (self.httproute is None) == (self.replicas is None):
            raise ValueError("kubernetes: give either httproute or replicas")
        return self


def _default_body() -> dict[str, object]:
    return {"rollout": "{{weight}}"}


class FlagActuator(_Strict):
    """A feature-flag service: ``method url`` with the weight in the JSON body."""

    url: str = Field(pattern=r"^https?://", max_length=2000)
    method: Literal["PUT", "POST", "PATCH"] = "PUT"
    body: dict[str, object] = Field(
        default_factory=lambda: _default_body(),
        description='JSON body; the string "{{weight}}" becomes the weight (a number)',
    )
    token_env: str | None = Field(
        default=None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="bearer token from this env var"
    )


class RunbookActuator(_Strict):
    """A runbook section's commands, run with ``$WEIGHT`` (canary %) and ``$STABLE_WEIGHT``."""

    section: str = Field(
        pattern=r"^[^#]+#.+$", max_length=600, description="FILE#SECTION of the service's runbooks"
    )


class Actuator(_Strict):
    """Exactly one way to shift traffic."""

    haproxy: HAProxyActuator | None = None
    kubernetes: KubernetesActuator | None = None
    flag: FlagActuator | None = None
    runbook: RunbookActuator | None = None

    @model_validator(mode="after")
    def _one(self) -> Actuator:
        given = (self.haproxy, self.kubernetes, self.flag, self.runbook)
        if sum(x is not None for x in given) != 1:
            raise ValueError("actuator: give exactly one of haproxy, kubernetes, flag, runbook")
        return self


class Rollback(_Strict):
    """What runs after traffic is back at 0 %: a runbook section's steps, through the gate."""

    runbook: str | None = Field(
        default=None,
        description="FILE#SECTION; default: the service runbook's section named Rollback",
    )
    preapproved: bool = Field(
        default=False, description="the rollback policy approves its steps in advance"
    )


class Rollout(_Strict):
    """One service's canary rollout (see the module docstring)."""

    name: str = Field(pattern=_NAME)
    service: str
    prometheus: str = Field(pattern=r"^https?://", max_length=2000)
    steps: list[RolloutStep] = Field(min_length=1, max_length=20)
    gates: list[Gate] = Field(default=[], max_length=20)
    interval: Duration = timedelta(seconds=30)
    failure_limit: int = Field(default=1, ge=1, le=100)
    actuator: Actuator
    rollback: Rollback = Rollback()
    severity: Severity = Field(default=Severity.P1, description="of the incident a failure opens")

    @field_validator("steps")
    @classmethod
    def _ends_at_100(cls, steps: list[RolloutStep]) -> list[RolloutStep]:
        weights = [s.weight for s in steps]
        if weights != sorted(weights):
            raise ValueError("steps: weights must not go down")
        if weights[-1] != 100:
            raise ValueError("steps: the last step sends 100 % of traffic to the new version")
        return steps

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("interval: at least 1s")
        return value
