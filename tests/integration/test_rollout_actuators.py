"""The non-HAProxy actuators against real stand-ins: kubectl (a fake binary, as no cluster runs
here) for HTTPRoute weights and replica splits, a feature-flag HTTP service, and a runbook
section's commands run with $WEIGHT."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from opsbook.config.load import parse_config
from opsbook.config.rollouts import FlagActuator, KubernetesActuator
from opsbook.flows.rollout_traffic import ActuatorError, FlagTraffic, KubernetesTraffic
from opsbook.flows.rollouts import make_traffic
from opsbook.flows.runbook_catalog import RunbookCatalog
from tests.support.services import WebhookReceiver

FAKE_KUBECTL = r"""#!/usr/bin/env python3
import json, sys
state_path, log_path = sys.argv[0] + ".state", sys.argv[0] + ".log"
try:
    state = json.load(open(state_path))
except OSError:
    state = {"route": [100, 0], "replicas": {}}
args = sys.argv[1:]
open(log_path, "a").write(json.dumps(args) + "\n")
assert args[:2] == ["--namespace", "prod"], args
verb = args[2]
if verb == "patch":
    for op in json.loads(args[args.index("-p") + 1]):
        state["route"][int(op["path"].split("/")[5])] = op["value"]
elif verb == "scale":
    state["replicas"][args[3].split("/")[1]] = int(args[4].split("=")[1])
elif verb == "get" and args[3] == "httproute":
    print(" ".join(str(w) for w in state["route"]))
elif verb == "get":
    print(state["replicas"].get(args[3].split("/")[1], 0))
else:
    sys.exit("unknown verb")
json.dump(state, open(state_path, "w"))
"""


@pytest.fixture
def kubectl(tmp_path: Path) -> Path:
    exe = tmp_path / "kubectl"
    exe.write_text(FAKE_KUBECTL)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def test_kubernetes_httproute_weights(kubectl: Path) -> None:
    cfg = KubernetesActuator(namespace="prod", httproute="web", stable="web-v1", canary="web-v2")
    t = KubernetesTraffic(cfg, kubectl=str(kubectl))
    t.set(25)
    assert t.read() == 25
    patch = json.loads(Path(str(kubectl) + ".log").read_text().splitlines()[0])
    ops = json.loads(patch[patch.index("-p") + 1])
    assert [o["value"] for o in ops] == [75, 25]  # stable first, then the canary


def test_kubernetes_replica_split(kubectl: Path) -> None:
    cfg = KubernetesActuator(namespace="prod", replicas=10, stable="web-v1", canary="web-v2")
    t = KubernetesTraffic(cfg, kubectl=str(kubectl))
    t.set(30)
    state = json.loads(Path(str(kubectl) + ".state").read_text())
    assert state["replicas"] == {"web-v2": 3, "web-v1": 7}
    assert t.read() == 30


def test_kubectl_failure_is_an_actuator_error(tmp_path: Path) -> None:
    cfg = KubernetesActuator(namespace="prod", httproute="web", stable="a", canary="b")
    with pytest.raises(ActuatorError, match="kubectl failed"):
        KubernetesTraffic(cfg, kubectl=str(tmp_path / "missing")).set(5)


def test_feature_flag_call_carries_the_weight_and_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLAG_TOKEN", "s3cret")
    with WebhookReceiver() as rx:
        cfg = FlagActuator(url=f"{rx.url}/flags/checkout", method="POST",
                           body={"flag": "new-checkout", "percent": "{{weight}}"}, token_env="FLAG_TOKEN")  # fmt: skip
        FlagTraffic(cfg).set(25)
        assert rx.bodies == [{"flag": "new-checkout", "percent": 25}]
        assert rx.requests[0]["headers"]["Authorization"] == "Bearer s3cret"
    with WebhookReceiver(default_status=500) as bad, pytest.raises(ActuatorError, match="500"):
        FlagTraffic(FlagActuator(url=f"{bad.url}/f", method="POST")).set(5)


RUNBOOK = """# web

## Traffic

```bash
curl -X POST "$FLAGS/weights" -H 'Content-Type: application/json' \\
  -d "{\\"canary\\": $WEIGHT, \\"stable\\": $STABLE_WEIGHT}"
```

## Dangerous traffic

```bash
rm -rf /srv/web/releases
```
"""


def _plan_config(tmp_path: Path, flags: str, section: str) -> str:
    (tmp_path / "web.md").write_text(RUNBOOK)
    return f"""
tenants: [{{name: acme}}]
services:
  - name: web
    tenant: acme
    runbooks: ["{tmp_path}/web.md"]
    variables: {{FLAGS: "{flags}"}}
    execution: {{allowed_hosts: ["127.0.0.1"]}}
rollouts:
  - name: web
    service: web
    prometheus: "http://127.0.0.1:9"
    steps: [{{weight: 10}}, {{weight: 100}}]
    actuator: {{runbook: {{section: "web.md#{section}"}}}}
"""


def test_a_runbook_section_shifts_traffic_with_weight_variables(tmp_path: Path) -> None:
    with WebhookReceiver() as rx:
        cfg = parse_config(_plan_config(tmp_path, rx.url, "traffic"))
        traffic = make_traffic(cfg.rollouts[0], cfg, RunbookCatalog.load(cfg))
        traffic.set(10)
        assert rx.bodies == [{"canary": 10, "stable": 90}]
        assert traffic.read() is None  # a command cannot be read back


def test_a_runbook_actuator_never_runs_destructive_commands(tmp_path: Path) -> None:
    cfg = parse_config(_plan_config(tmp_path, "http://127.0.0.1:9", "dangerous-traffic"))
    traffic = make_traffic(cfg.rollouts[0], cfg, RunbookCatalog.load(cfg))
    with pytest.raises(ActuatorError, match="destructive"):
        traffic.set(10)
    missing = parse_config(_plan_config(tmp_path, "http://127.0.0.1:9", "nope"))
    with pytest.raises(ActuatorError, match="not in web's runbooks"):
        make_traffic(missing.rollouts[0], missing, RunbookCatalog.load(missing))
