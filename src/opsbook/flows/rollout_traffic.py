"""Traffic actuators of a rollout: set and read the canary's share of traffic.

HAProxy through its runtime API (``set server B/S weight N``: canary N, stable 100 − N), Kubernetes
through kubectl (Gateway API HTTPRoute backend weights, or a replica split of two Deployments),
or a feature-flag service over HTTP. ``read`` returns None when the actuator cannot tell.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx

from opsbook.config.rollouts import Actuator, FlagActuator, HAProxyActuator, KubernetesActuator
from opsbook.core.errors import Conflict, OpsbookError
from opsbook.executors.models import ExecContext
from opsbook.runbooks.models import Step

_TIMEOUT = 10.0


class ActuatorError(Conflict):
    """The traffic actuator refused or could not be reached (the rollout cannot proceed now)."""

    title = "traffic actuator failed"


class Traffic(Protocol):
    def set(self, weight: int) -> None: ...

    def read(self) -> int | None: ...


class HAProxyTraffic:
    """Server weights of one backend over the stats socket (``level admin``)."""

    def __init__(self, cfg: HAProxyActuator) -> None:
        self.cfg = cfg

    def _send(self, command: str) -> str:
        addr = self.cfg.address
        try:
            if addr.startswith("/"):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(_TIMEOUT)
                sock.connect(addr)
            else:
                host, _, port = addr.rpartition(":")
                sock = socket.create_connection((host.strip("[]"), int(port)), timeout=_TIMEOUT)
            with sock:
                sock.sendall(command.encode() + b"\n")
                chunks = []
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        except OSError as exc:
            raise ActuatorError(f"cannot reach HAProxy's runtime API at {addr}: {exc}") from None
        return b"".join(chunks).decode(errors="replace").strip()

    def set(self, weight: int) -> None:
        b = self.cfg.backend
        for server, w in ((self.cfg.canary, weight), (self.cfg.stable, 100 - weight)):
            out = self._send(f"set server {b}/{server} weight {w}")
            if out:  # HAProxy answers nothing on success
                raise ActuatorError(f"HAProxy refused weight {w} for {b}/{server}: {out[:200]}")

    def read(self) -> int | None:
        out = self._send(f"get weight {self.cfg.backend}/{self.cfg.canary}")
        m = re.match(r"^(\d+)", out)
        return int(m.group(1)) if m else None


class KubernetesTraffic:
    """kubectl: patch an HTTPRoute's two backend weights, or scale two Deployments."""

    def __init__(self, cfg: KubernetesActuator, kubectl: str = "kubectl") -> None:
        self.cfg, self.kubectl = cfg, kubectl

    def _run(self, *args: str) -> str:
        argv = [self.kubectl, "--namespace", self.cfg.namespace, *args]
        try:
            done = subprocess.run(  # noqa: S603 - argv list, no shell; values from the config
                argv, capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ActuatorError(f"kubectl failed: {exc}") from None
        if done.returncode != 0:
            raise ActuatorError(f"kubectl {' '.join(args[:2])} failed: {done.stderr.strip()[:300]}")
        return done.stdout

    def set(self, weight: int) -> None:
        c = self.cfg
        if c.httproute:
            patch = [
                {
                    "op": "replace",
                    "path": "/spec/rules/0/backendRefs/0/weight",
                    "value": 100 - weight,
                },
                {"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": weight},
            ]
            self._run("patch", "httproute", c.httproute, "--type=json", "-p", json.dumps(patch))
            return
        total = c.replicas or 1
        canary = round(total * weight / 100)
        self._run("scale", f"deployment/{c.canary}", f"--replicas={canary}")
        self._run("scale", f"deployment/{c.stable}", f"--replicas={total - canary}")

    def read(self) -> int | None:
        c = self.cfg
        try:
            if c.httproute:
                out = self._run(
                    "get", "httproute", c.httproute,
                    "-o", "jsonpath={.spec.rules[0].backendRefs[*].weight}",
                )  # fmt: skip
                weights = [int(x) for x in out.split()]
                return weights[1] if len(weights) >= 2 else None
            out = self._run("get", f"deployment/{c.canary}", "-o", "jsonpath={.spec.replicas}")
            return round(int(out.strip()) * 100 / (c.replicas or 1))
        except (ActuatorError, ValueError):
            return None


class FlagTraffic:
    """A feature-flag HTTP call carrying the weight; it cannot be read back."""

    def __init__(self, cfg: FlagActuator) -> None:
        self.cfg = cfg

    def _body(self, weight: int) -> object:
        def fill(x: object) -> object:
            if x == "{{weight}}":
                return weight
            if isinstance(x, dict):
                return {k: fill(v) for k, v in x.items()}
            if isinstance(x, list):
                return [fill(v) for v in x]
            return x

        return fill(self.cfg.body)

    def set(self, weight: int) -> None:
        headers = {}
        if self.cfg.token_env and os.environ.get(self.cfg.token_env):
            headers["Authorization"] = f"Bearer {os.environ[self.cfg.token_env]}"
        try:
            r = httpx.request(
                self.cfg.method, self.cfg.url, json=self._body(weight), headers=headers,
                timeout=_TIMEOUT,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise ActuatorError(f"feature flag call failed: {exc}") from None
        if r.status_code >= 300:
            raise ActuatorError(f"feature flag call answered {r.status_code}: {r.text[:200]}")

    def read(self) -> int | None:
        return None


class RunbookTraffic:
    """A runbook section's commands with ``WEIGHT``/``STABLE_WEIGHT`` set, in order; a failing
    command fails the shift. Starting the rollout approved them; destructive or unknown
    commands are never run this way. It cannot be read back."""

    def __init__(
        self, steps: Sequence[Step], context: Callable[[dict[str, str]], ExecContext]
    ) -> None:
        self.steps, self.context = steps, context

    def set(self, weight: int) -> None:
        from opsbook.executors import execute

        runnable = [st for st in self.steps if st.executable]
        if not runnable:
            raise ActuatorError("the actuator's runbook section has no commands")
        for st in runnable:
            if st.safety not in ("read-only", "mutating") or st.interactive:
                raise ActuatorError(
                    f"actuator command {st.text.splitlines()[0][:80]!r} is {st.safety}"
                    f"{' and interactive' if st.interactive else ''}: only read-only and "
                    "mutating commands shift traffic"
                )
        ctx = self.context({"WEIGHT": str(weight), "STABLE_WEIGHT": str(100 - weight)})
        for st in runnable:
            try:
                res = execute(st, ctx)
            except OpsbookError as exc:
                raise ActuatorError(f"actuator command cannot run: {exc.detail}") from None
            if not res.ok:
                raise ActuatorError(f"actuator command failed: {res.summary[:300]}")

    def read(self) -> int | None:
        return None


def traffic_for(actuator: Actuator) -> Traffic:
    """The actuator the config names (a runbook actuator needs ``RunbookTraffic``'s steps)."""
    if actuator.haproxy is not None:
        return HAProxyTraffic(actuator.haproxy)
    if actuator.kubernetes is not None:
        return KubernetesTraffic(actuator.kubernetes)
    if actuator.flag is None:
        raise ActuatorError("a runbook actuator needs its runbook section (make_traffic)")
    return FlagTraffic(actuator.flag)


def names(actuator: Actuator) -> tuple[str, str]:
    """(canary, stable) as gate queries name them."""
    a = actuator.haproxy or actuator.kubernetes
    if a is not None:
        return a.canary, a.stable
    return "canary", "stable"
