"""The post-mortem document and its Markdown: every event in order and in UTC; reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from opsbook.postmortem.build import build_postmortem
from opsbook.postmortem.markdown import to_markdown
from opsbook.postmortem.models import (
    AlertFacts,
    EventFacts,
    IncidentFacts,
    PostMortem,
    StepFacts,
    Written,
)
from opsbook.postmortem.policy import DEFAULT_POLICY
from opsbook.postmortem.reminders import ReminderState, reminders_due

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
CET = timezone(timedelta(hours=1))

INC = IncidentFacts(
    id="inc_1",
    tenant="acme",
    title="Checkout errors",
    service="checkout-api",
    severity="P0",
    status="resolved",
    created_at=T0,
    acknowledged_at=T0 + 2 * M,
    acknowledged_by="bob",
    resolved_at=T0 + 25 * M,
    commander="alice",
)
EVENTS = [
    EventFacts(T0, "integration:am", "opened", "P0 incident opened"),
    EventFacts(T0, "integration:am", "alert_firing", "alert CheckoutErrors firing"),
    EventFacts(T0 + 1 * M, "opsbook", "escalation", "escalation level 1: paging bob"),
    # written with a +01:00 offset: the document still shows 12:02 UTC
    EventFacts((T0 + 2 * M).astimezone(CET), "bob", "acknowledged", "acknowledged by bob"),
    EventFacts(T0 + 3 * M, "alice", "status_update", "Investigating", {"status": "investigating"}),
    EventFacts(T0 + 10 * M, "opsbook", "step", "step 2 rollback: ok"),
    EventFacts(T0 + 12 * M, "bob", "comment", "errors | back to normal"),
    EventFacts(T0 + 20 * M, "alice", "status_update", "Resolved", {"status": "resolved"}),
    EventFacts(T0 + 25 * M, "alice", "resolved", "resolved by alice"),
]
ALERTS = [AlertFacts("CheckoutErrors", T0 - 4 * M)]
STEPS = [
    StepFacts(
        2,
        "Roll back",
        "shell",
        "mutating",
        "ok",
        "kubectl rollout undo",
        "bob",
        False,
        T0 + 10 * M,
        "rolled back to rev 41",
    ),
    StepFacts(
        1,
        "Health",
        "http",
        "read-only",
        "failed",
        "curl /healthz",
        "opsbook",
        True,
        T0 + 1 * M,
        "503",
    ),
    StepFacts(3, "Flush", "redis", "destructive", "rejected", "FLUSHDB", "bob", False, None),
]


def doc() -> PostMortem:
    return build_postmortem(
        INC,
        EVENTS,
        ALERTS,
        STEPS,
        components=["API", "Payments"],
        written=Written(
            root_cause="bad deploy",
            contributing_factors=("no canary",),
            required=True,
            due_at=T0 + 25 * M + timedelta(days=5),
        ),
    )


def test_timeline_has_every_event_in_order_in_utc() -> None:
    pm = doc()
    assert [t.message for t in pm.timeline] == [
        "alert CheckoutErrors started firing",  # startsAt, before the incident opened
        *[e.message for e in EVENTS],
    ]
    assert all(t.at.utcoffset() == timedelta(0) for t in pm.timeline)
    md = to_markdown(pm)
    rows = [line for line in md.splitlines() if line.startswith("| 2026-03-01")]
    assert rows[0].startswith("| 2026-03-01 11:56:00 | alert_started")
    assert rows[4].startswith("| 2026-03-01 12:02:00 | acknowledged | bob |")
    section = md[md.index("## Timeline (UTC)") : md.index("## Root cause")]
    positions = [section.index(e.message.replace("|", "\\|")) for e in EVENTS]
    assert positions == sorted(positions)
    assert "Timeline (UTC)" in md


def test_impact_mitigations_and_written_parts() -> None:
    pm = doc()
    assert pm.impact.duration_seconds == 25 * 60
    assert pm.impact.started_at == T0 - 4 * M
    assert pm.impact.components == ("API", "Payments")
    assert pm.impact.status_page_seconds == 17 * 60  # Investigating 12:03 → Resolved 12:20
    # steps that ran, in the order they finished; the rejected one never ran
    assert [(m.step, m.status, m.by) for m in pm.mitigations] == [
        ("1. Health", "failed", "opsbook (automatic)"),
        ("2. Roll back", "ok", "bob"),
    ]
    md = to_markdown(pm)
    for text in (
        "bad deploy",
        "- no canary",
        "rolled back to rev 41",
        "API, Payments",
        "**Duration:** 25m 00s",
        "**Due:** 2026-03-06 12:25:00 UTC",
        "(required)",
    ):
        assert text in md
    assert pm.summary.startswith("P0 incident on checkout-api: Checkout errors.")
    assert "acknowledged after 2m 00s by bob" in pm.summary


def test_reminders_from_a_day_before_due_then_daily_until_complete() -> None:
    due = T0 + timedelta(days=5)
    base = ReminderState("inc_1", "acme", "x", "alice", True, "draft", due, None)
    assert reminders_due([base], due - timedelta(days=2)) == []
    r = reminders_due([base], due - timedelta(hours=20))
    assert [(x.to, x.overdue) for x in r] == [("alice", False)]
    later = ReminderState(
        "inc_1", "acme", "x", "alice", True, "draft", due, due - timedelta(hours=20)
    )
    assert reminders_due([later], due - timedelta(hours=1)) == []  # reminded less than a day ago
    assert reminders_due([later], due + timedelta(hours=5))[0].overdue
    done = ReminderState("inc_1", "acme", "x", "alice", True, "complete", due, None)
    optional = ReminderState("inc_2", "acme", "x", "alice", False, "draft", None, None)
    assert reminders_due([done, optional], due + timedelta(days=3)) == []


def test_policy_requires_p0_and_p1_within_five_days() -> None:
    assert DEFAULT_POLICY.due_at("P0", T0) == T0 + timedelta(days=5)
    assert DEFAULT_POLICY.due_at("P1", T0) == T0 + timedelta(days=5)
    assert DEFAULT_POLICY.due_at("P2", T0) is None
