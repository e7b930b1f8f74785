"""An approval is of one request, as it was seen (issue 11 item 2), tried as a hostile insider.

A responder asks to delete ``harmless-1``, the commander looks at that request, the responder asks
again with ``--all``: the commander's approval (the first request's id and hash) deletes only
``harmless-1``, and the first request's hash never approves the second — through the API and
through the form on the incident page. Self-approval is an explicit, labelled act; destructive
steps need a second person unless the service turns four eyes off; a commander may break glass
with a written reason, which pages the team and marks the timeline; a viewer can do none of it.
A fake ``kubectl`` on the steps' PATH records what really ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsbook.executors import execute
from opsbook.executors.models import ExecContext, StepResult
from opsbook.flows.outbox import Deliverer
from opsbook.flows.run_steps import StepRunner
from opsbook.jobs.worker import Worker
from opsbook.runbooks.models import Step
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.testing import RecordingNotifier
from opsbook.web.sessions import save_user
from tests.support.app import Harness, am_alert, am_body, running_app
from tests.support.web import PASSWORD, WEB_USERS, csrf_of, sign_in

RUNBOOK = Path(__file__).resolve().parents[1] / "support" / "runbooks" / "pods.md"
LIST, DELETE = 1, 2
CONFIRM = "Delete the stuck pod"


def _config(four_eyes: bool) -> str:
    return f"""
tenants: [{{name: acme}}]
users:
  - {{name: alice, tenant: acme, role: commander, contacts: ["mailto://alice@example.com"]}}
  - {{name: bob, tenant: acme, role: responder, contacts: ["mailto://bob@example.com"]}}
escalation_policies:
  - {{name: shop, tenant: acme, steps: [{{notify: {{users: [alice, bob]}}}}]}}
services:
  - name: shop
    tenant: acme
    runbooks: ["{RUNBOOK}"]
    escalation_policy: shop
    execution: {{four_eyes: {str(four_eyes).lower()}}}
routes:
  - {{match: {{job: shop}}, service: shop}}
"""


@dataclass
class Env:
    h: Harness
    inc: str
    worker: Worker
    log: Path
    notifier: RecordingNotifier

    def deleted(self) -> list[str]:
        """What the fake kubectl was asked to do, one line per run."""
        return self.log.read_text().splitlines() if self.log.exists() else []

    def drain(self) -> None:
        for _ in range(20):
            if self.worker.run_once() == 0:
                return

    def ask(self, role: str, pod: str, body: dict[str, Any] | None = None) -> Any:
        return self.h.client.post(
            f"/api/v1/incidents/{self.inc}/steps/{DELETE}/run",
            json={"variables": {"POD": pod}, **(body or {})},
            headers=self.h.auth("acme", role),
        )

    def decide(self, run_id: str, verb: str, role: str, body: dict[str, Any]) -> Any:
        return self.h.client.post(
            f"/api/v1/incidents/{self.inc}/runs/{run_id}/{verb}",
            json=body,
            headers=self.h.auth("acme", role),
        )

    def run(self, run_id: str, role: str = "viewer") -> dict[str, Any]:
        r = self.h.client.get(
            f"/api/v1/incidents/{self.inc}/runs/{run_id}", headers=self.h.auth("acme", role)
        )
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def timeline(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.h.incident(self.inc)["timeline"]
        return entries


@pytest.fixture
def pods(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Env]:
    """An incident of service ``shop`` whose runbook deletes a pod with the fake kubectl."""
    four_eyes = getattr(request, "param", True)
    bindir, log = tmp_path / "bin", tmp_path / "kubectl.log"
    bindir.mkdir()
    fake = bindir / "kubectl"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\necho "pod gone: $*"\n')
    fake.chmod(0o755)

    def on_this_path(step: Step, ctx: ExecContext) -> StepResult:
        return execute(step, replace(ctx, step_path=f"{bindir}:/usr/bin:/bin"))

    with running_app(f"sqlite:///{tmp_path}/o.db", _config(four_eyes), run_worker=False) as h:
        st = h.client.app.state.opsbook  # type: ignore[attr-defined]
        runner = StepRunner(
            st.sessions, lambda: st.config, lambda: st.catalog, st.clock, execute=on_this_path
        )
        notifier = RecordingNotifier()
        deliverer = Deliverer(st.sessions, lambda: st.config, st.clock, send=notifier)
        worker = Worker(st.sessions, st.clock, {**runner.job_kinds(), **deliverer.job_kinds()})
        inc = h.post_am(am_body(am_alert("PodStuck", job="shop")))["incidents"][0]
        env = Env(h, inc, worker, log, notifier)
        env.drain()  # the read-only diagnostics (kubectl get pods) and the opening page
        env.log.unlink(missing_ok=True)
        notifier.sent.clear()
        yield env


def _web(h: Harness, login: str) -> TestClient:
    """A browser of its own (its own session cookie), signed in as web user ``login`` (alice
    commander, bob responder, vera viewer), saved now: hashing only the passwords needed."""
    engine = make_engine(h.url)
    with make_sessionmaker(engine).begin() as s:
        role = next(r for t, name, r in WEB_USERS if t == "acme" and name == login)
        save_user(s, "acme", login, role, PASSWORD, h.clock.now())
    engine.dispose()
    c = TestClient(h.client.app)
    assert sign_in(c, login).status_code == 303
    return c


_APPROVE_FORM = re.compile(
    r'action="/ui/incidents/[^/"]+/runs/(run_[0-9a-z]+)/approve"[^>]*>\s*'
    r'<input type="hidden" name="csrf" value="[^"]+">\s*'
    r'<input type="hidden" name="shown_hash" value="([0-9a-f]{64})">'
)


def _approve_forms(html: str) -> dict[str, str]:
    """The approve forms on a page: run id (in the form's action) → the hash it sends."""
    return dict(_APPROVE_FORM.findall(html))


def test_the_approval_runs_only_the_request_the_commander_was_shown(pods: Env) -> None:
    first = pods.ask("responder", "harmless-1")
    assert first.status_code == 202 and first.json()["status"] == "awaiting_approval"
    shown = pods.run(first.json()["id"], "commander")["review"]
    # everything the commander needs to judge it: the exact argv, each value and its source,
    # where it runs, and why it is gated
    assert shown["argv"] == [["kubectl", "delete", "pod", "harmless-1"]]
    assert shown["variables"] == [
        {"name": "POD", "value": "harmless-1", "source": "request", "used": True}
    ]
    assert "kubectl on the opsbook host" in shown["target"]
    assert shown["safety"] == "destructive" and "kubectl delete" in shown["reason"]

    second = pods.ask("responder", "--all").json()
    assert second["id"] != first.json()["id"]
    assert second["review"]["argv"] == [["kubectl", "delete", "pod", "--all"]]
    assert second["review"]["shown_hash"] != shown["shown_hash"]

    # what the commander saw does not approve the other request
    swapped = pods.decide(
        second["id"],
        "approve",
        "commander",
        {"shown_hash": shown["shown_hash"], "confirmation": CONFIRM},
    )
    assert swapped.status_code == 409 and "not the one you were shown" in swapped.json()["detail"]
    assert pods.run(second["id"])["status"] == "awaiting_approval"
    assert pods.run(second["id"])["decisions"] == []  # nothing half-stored

    ok = pods.decide(
        shown["run_id"],
        "approve",
        "commander",
        {"shown_hash": shown["shown_hash"], "confirmation": CONFIRM},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "queued"
    pods.drain()
    assert pods.deleted() == ["delete pod harmless-1"]
    assert pods.run(shown["run_id"])["status"] == "ok"
    assert pods.run(second["id"])["status"] == "awaiting_approval"
    # a second approval of the first request finds it decided; --all never ran
    again = pods.decide(
        shown["run_id"],
        "approve",
        "commander",
        {"shown_hash": shown["shown_hash"], "confirmation": CONFIRM},
    )
    assert again.status_code == 409
    pods.drain()
    assert pods.deleted() == ["delete pod harmless-1"]
    messages = [e["message"] for e in pods.timeline()]
    assert any(
        "acme-commander approved acme-responder's request for step 2" in m and "harmless-1" in m
        for m in messages
    )


def test_the_page_approves_the_request_on_screen(pods: Env) -> None:
    h = pods.h
    bob, alice = _web(h, "bob"), _web(h, "alice")
    page = f"/ui/incidents/{pods.inc}"
    asked = bob.post(
        f"{page}/steps/{DELETE}/run",
        data={"csrf": csrf_of(bob.get(page).text), "var.POD": "harmless-1"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    on_screen = alice.get(page).text
    forms = _approve_forms(on_screen)
    assert len(forms) == 1
    ((first_id, first_hash),) = forms.items()
    # the request as alice sees it: who asked, the exact words, the value and where it came from
    assert f"Request <code>{first_id}</code> by <strong>bob</strong>" in on_screen
    assert '<code class="arg">harmless-1</code>' in on_screen
    assert "<td><code>POD</code></td><td><code>harmless-1</code></td><td>request</td>" in on_screen
    assert "kubectl on the opsbook host" in on_screen

    # bob asks again with --all while alice still has the first request on her screen
    bob.post(
        f"{page}/steps/{DELETE}/run",
        data={"csrf": csrf_of(bob.get(page).text), "var.POD": "--all"},
        follow_redirects=False,
    )
    token = csrf_of(on_screen)
    approved = alice.post(
        f"{page}/runs/{first_id}/approve",
        data={"csrf": token, "shown_hash": first_hash, "confirmation": CONFIRM},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    pods.drain()
    assert pods.deleted() == ["delete pod harmless-1"]

    # the first request's hash, posted at the second request, is refused and runs nothing
    now = alice.get(page).text
    ((second_id, second_hash),) = _approve_forms(now).items()
    assert second_id != first_id and second_hash != first_hash
    assert '<code class="arg">--all</code>' in now
    forged = alice.post(
        f"{page}/runs/{second_id}/approve",
        data={"csrf": token, "shown_hash": first_hash, "confirmation": CONFIRM},
        follow_redirects=False,
    )
    assert forged.status_code == 409 and "not the one you were shown" in forged.text
    pods.drain()
    assert pods.deleted() == ["delete pod harmless-1"]
    assert pods.run(second_id)["status"] == "awaiting_approval"


@pytest.mark.parametrize("pods", [False], indirect=True)
def test_self_approval_is_explicit_and_labelled(pods: Env) -> None:
    """With ``four_eyes: false`` a commander may approve their own destructive request: only
    by saying so, and the page and the timeline say it was their own."""
    asked = pods.ask("commander", "harmless-1").json()
    assert asked["status"] == "awaiting_approval"  # asking is not approving
    body = {"shown_hash": asked["review"]["shown_hash"], "confirmation": CONFIRM}
    implicit = pods.decide(asked["id"], "approve", "commander", body)
    assert implicit.status_code == 409 and "self_approve" in implicit.json()["detail"]
    pods.drain()
    assert pods.deleted() == []
    own = pods.decide(asked["id"], "approve", "commander", {**body, "self_approve": True})
    assert own.status_code == 200 and own.json()["status"] == "queued"
    assert [(d["actor"], d["self_approved"]) for d in own.json()["decisions"]] == [
        ("acme-commander", True)
    ]
    pods.drain()
    assert pods.deleted() == ["delete pod harmless-1"]

    # on the page: the button says what it does, and the timeline says whose request it was
    h = pods.h
    alice = _web(h, "alice")
    page = f"/ui/incidents/{pods.inc}"
    html = alice.get(page).text
    assert "Run now (approve my own request)" in html
    r = alice.post(
        f"{page}/steps/{DELETE}/run",
        data={
            "csrf": csrf_of(html),
            "var.POD": "harmless-2",
            "confirmation": CONFIRM,
            "approve": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    pods.drain()
    assert pods.deleted() == ["delete pod harmless-1", "delete pod harmless-2"]
    timeline = alice.get(page).text
    assert "alice self-approved their own request for step 2" in timeline
    assert "acme-commander self-approved their own request for step 2" in timeline


def test_destructive_steps_need_a_second_person_by_default(pods: Env) -> None:
    alone = pods.ask("commander", "harmless-1", {"approve": True, "confirmation": CONFIRM})
    assert alone.status_code == 403 and "second person" in alone.json()["detail"]
    runs = pods.h.client.get(
        f"/api/v1/incidents/{pods.inc}/runs", headers=pods.h.auth("acme", "viewer")
    ).json()
    assert [r for r in runs if r["step"] == DELETE] == []  # refused, nothing stored

    asked = pods.ask("commander", "harmless-1").json()
    body = {
        "shown_hash": asked["review"]["shown_hash"],
        "confirmation": CONFIRM,
        "self_approve": True,
    }
    own = pods.decide(asked["id"], "approve", "commander", body)
    assert own.status_code == 403 and "second person" in own.json()["detail"]
    pods.drain()
    assert pods.deleted() == []

    steps = pods.h.client.get(
        f"/api/v1/incidents/{pods.inc}/steps", headers=pods.h.auth("acme", "viewer")
    ).json()
    assert steps[DELETE - 1]["second_person"] is True
    assert steps[DELETE - 1]["pending"][0]["second_person"] is True

    # someone else with the role approves it
    del body["self_approve"]
    other = pods.decide(asked["id"], "approve", "admin", body)
    assert other.status_code == 200 and other.json()["status"] == "queued"
    pods.drain()
    assert pods.deleted() == ["delete pod harmless-1"]


def test_the_requester_sees_no_approve_button_where_four_eyes_apply(pods: Env) -> None:
    h = pods.h
    alice = _web(h, "alice")
    page = f"/ui/incidents/{pods.inc}"
    html = alice.get(page).text
    assert "Run now (approve my own request)" not in html  # four eyes: no self-approval offered
    alice.post(
        f"{page}/steps/{DELETE}/run",
        data={"csrf": csrf_of(html), "var.POD": "harmless-1"},
        follow_redirects=False,
    )
    mine = alice.get(page).text
    assert "You asked for this: someone else must approve it." in mine
    assert _approve_forms(mine) == {} and "Approve my own request" not in mine
    assert "Break glass and approve" in mine


def test_break_glass_pages_the_team_and_marks_the_timeline(pods: Env) -> None:
    asked = pods.ask("commander", "harmless-1").json()
    run_id, shown_hash = asked["id"], asked["review"]["shown_hash"]
    reason = "nobody else is awake and checkout is down"
    body = {"shown_hash": shown_hash, "confirmation": CONFIRM, "reason": reason}
    assert pods.decide(run_id, "break-glass", "responder", body).status_code == 403
    short = pods.decide(run_id, "break-glass", "commander", {**body, "reason": "because"})
    assert short.status_code == 422 and short.json()["field"] == "reason"
    wrong = pods.decide(
        run_id, "break-glass", "commander", {**body, "shown_hash": "0" * 64}
    )  # glass is broken for what was shown, nothing else
    assert wrong.status_code == 409
    pods.drain()
    assert pods.deleted() == [] and pods.notifier.sent == []

    broken = pods.decide(run_id, "break-glass", "commander", body)
    assert broken.status_code == 200 and broken.json()["status"] == "queued"
    [decision] = broken.json()["decisions"]
    assert decision["break_glass"] is True and decision["comment"] == reason
    pods.drain()
    assert pods.deleted() == ["delete pod harmless-1"]
    paged = [(url, body) for url, _, body in pods.notifier.sent if "BREAK GLASS" in body]
    assert sorted(url for url, _ in paged) == [
        "mailto://alice@example.com",
        "mailto://bob@example.com",
    ]
    assert all(reason in text and "harmless-1" in text for _, text in paged)
    marked = [e for e in pods.timeline() if e["data"].get("break_glass") is True]
    assert len(marked) == 1 and marked[0]["message"].startswith("BREAK GLASS by acme-commander")
    assert reason in marked[0]["message"]

    h = pods.h
    html = _web(h, "vera").get(f"/ui/incidents/{pods.inc}").text
    assert '<strong class="glass-mark">Break glass</strong>' in html
    assert 'class="entry kind-' in html and " break-glass" in html


def test_a_viewer_can_do_none_of_it(pods: Env) -> None:
    assert pods.ask("viewer", "harmless-1").status_code == 403
    asked = pods.ask("responder", "harmless-1").json()
    run_id, shown_hash = asked["id"], asked["review"]["shown_hash"]
    body = {"shown_hash": shown_hash, "confirmation": CONFIRM, "reason": "a viewer breaks glass"}
    for verb in ("approve", "reject", "break-glass"):
        assert pods.decide(run_id, verb, "viewer", body).status_code == 403, verb
    assert pods.run(run_id)["review"]["shown_hash"] == shown_hash  # a viewer may look

    h = pods.h
    vera = _web(h, "vera")
    page = f"/ui/incidents/{pods.inc}"
    html = vera.get(page).text
    assert "harmless-1" in html  # the request is visible…
    assert "Approve" not in html and "Reject" not in html and "Break glass" not in html
    assert "Request run" not in html  # …but there is nothing to press
    token = csrf_of(html)
    for verb in ("approve", "reject", "break-glass"):
        r = vera.post(f"{page}/runs/{run_id}/{verb}", data={"csrf": token, **body})
        assert r.status_code == 403, verb
    r = vera.post(f"{page}/steps/{DELETE}/run", data={"csrf": token, "var.POD": "harmless-2"})
    assert r.status_code == 403
    pods.drain()
    assert pods.deleted() == [] and pods.notifier.sent == []
    assert pods.run(run_id)["status"] == "awaiting_approval" and pods.run(run_id)["decisions"] == []
