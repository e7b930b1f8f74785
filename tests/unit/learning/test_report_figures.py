"""Every report figure against values computed by hand on a scripted incident history.

History (T0 = 2026-01-01 00:00 UTC; the period is [T0-1d, T0+1d), now = T0+1d):

    id  sev svc  created  first alert  ack     resolved  closed as       esc  alert          deadline
    A   P0  api  +0h      -1m          +2m     +10m      resolved        0    HighErrorRate  +5m
    B   P0  api  +1h      -3m          +4m     +20m      resolved        0    HighErrorRate  +5m
    C   P0  api  +2h      -8m          +9m ✗   +30m      -               1    Latency        +5m
    D   P1  db   +3h      -2m          never   +10m      false_positive  -    HighErrorRate  +15m
    E   P1  db   +4h      (declared)   never   open      -               -    -              +15m ✗
    F   P0  api  -2d      (outside the period: ignored)

Step runs (runbook rb1 section high-error-rate for A–C, rb2 db-down for D):
    A: read-only ok, mutating ok (+8m)   B: read-only failed, mutating ok (+25m, after B resolved)
    C: read-only timeout, mutating rejected (never ran)   D: read-only ok
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsbook.core.errors import InputError
from opsbook.reports.compute import Report, compute_report
from opsbook.reports.models import IncidentRecord, Period, StepRecord
from opsbook.reports.stats import TimeStats

T0 = datetime(2026, 1, 1, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def inc(
    id: str,
    sev: str,
    svc: str,
    created: datetime,
    *,
    first: timedelta | None = None,
    ack: timedelta | None = None,
    resolved: timedelta | None = None,
    closed: str | None = None,
    esc: int = -1,
    alerts: tuple[str, ...] = (),
    section: tuple[str, str] | None = None,
) -> IncidentRecord:
    window = 5 * M if sev == "P0" else 15 * M
    return IncidentRecord(
        id=id,
        tenant="acme",
        service=svc,
        severity=sev,
        created_at=created,
        ack_deadline=created + window,
        first_alert_at=created - first if first is not None else None,
        acknowledged_at=created + ack if ack is not None else None,
        resolved_at=created + resolved if resolved is not None else None,
        closed_at=created + resolved if closed and resolved is not None else None,
        close_reason=closed,
        runbook_id=section[0] if section else None,
        section_id=section[1] if section else None,
        escalation_level=esc,
        alertnames=alerts,
    )


HER = ("rb1", "high-error-rate")
HISTORY = [
    inc(
        "A",
        "P0",
        "api",
        T0,
        first=M,
        ack=2 * M,
        resolved=10 * M,
        closed="resolved",
        esc=0,
        alerts=("HighErrorRate",),
        section=HER,
    ),
    inc(
        "B",
        "P0",
        "api",
        T0 + H,
        first=3 * M,
        ack=4 * M,
        resolved=20 * M,
        closed="resolved",
        esc=0,
        alerts=("HighErrorRate",),
        section=HER,
    ),
    inc(
        "C",
        "P0",
        "api",
        T0 + 2 * H,
        first=8 * M,
        ack=9 * M,
        resolved=30 * M,
        esc=1,
        alerts=("Latency",),
        section=HER,
    ),
    inc(
        "D",
        "P1",
        "db",
        T0 + 3 * H,
        first=2 * M,
        resolved=10 * M,
        closed="false_positive",
        alerts=("HighErrorRate",),
        section=("rb2", "db-down"),
    ),
    inc("E", "P1", "db", T0 + 4 * H),
    inc(
        "F",
        "P0",
        "api",
        T0 - 2 * timedelta(days=1),
        first=M,
        ack=60 * M,
        resolved=90 * M,
        alerts=("Old",),
    ),
]


def step(
    iid: str, status: str, safety: str, at: timedelta | None = None, sec: tuple[str, str] = HER
) -> StepRecord:
    created = next(i.created_at for i in HISTORY if i.id == iid)
    return StepRecord(iid, sec[0], sec[1], status, safety, created + at if at else None)


STEPS = [
    step("A", "ok", "read-only", M),
    step("A", "ok", "mutating", 8 * M),
    step("B", "failed", "read-only", M),
    step("B", "ok", "mutating", 25 * M),
    step("C", "timeout", "read-only", M),
    step("C", "rejected", "mutating"),
    step("D", "ok", "read-only", M, ("rb2", "db-down")),
    step("F", "failed", "read-only", M),  # outside the period: not counted
]
PERIOD = Period(T0 - timedelta(days=1), T0 + timedelta(days=1))
NOW = T0 + timedelta(days=1)


def report() -> Report:
    return compute_report(HISTORY, STEPS, PERIOD, NOW)


def test_mtta_three_p0s_acknowledged_after_2_4_and_9_minutes() -> None:
    r = report()
    # D and E were never acknowledged: MTTA counts acknowledged incidents only
    assert r.overall.mtta == TimeStats(3, 300.0, 240.0, 540.0)  # mean 5 min, median 4, p90 9
    assert r.by_severity["P0"].mtta == TimeStats(3, 300.0, 240.0, 540.0)
    assert r.by_severity["P1"].mtta == TimeStats(0, None, None, None)


def test_mttd_from_first_alert_start_to_incident() -> None:
    # A 1m, B 3m, C 8m, D 2m (E was declared: no alert) → 60,120,180,480 s
    # mean 210, median (120+180)/2 = 150, p90 = ⌈0.9·4⌉ = 4th = 480
    assert report().overall.mttd == TimeStats(4, 210.0, 150.0, 480.0)


def test_mttr_from_trigger_to_resolution() -> None:
    r = report()
    # A 10m, B 20m, C 30m, D 10m → 600,600,1200,1800: mean 1050, median 900, p90 1800
    assert r.overall.mttr == TimeStats(4, 1050.0, 900.0, 1800.0)
    assert r.by_severity["P0"].mttr == TimeStats(3, 1200.0, 1200.0, 1800.0)
    assert r.by_service["db"].mttr == TimeStats(1, 600.0, 600.0, 600.0)


def test_ack_breaches_late_or_never_and_escalations() -> None:
    r = report()
    # C acknowledged at 9m > 5m; E never and still open past 15m; D never but resolved at 10m < 15m
    assert r.overall.ack_breaches == 2
    assert r.by_severity["P0"].ack_breaches == 1
    assert r.by_service["db"].ack_breaches == 1
    assert r.overall.escalated == 1  # C reached level 2 (index 1)


def test_false_positive_rate_is_over_closed_incidents() -> None:
    r = report()
    assert (r.overall.closed, r.overall.false_positives) == (3, 1)
    assert r.overall.false_positive_rate == pytest.approx(1 / 3)
    assert r.by_service["api"].false_positive_rate == 0.0
    assert r.by_service["db"].false_positive_rate == 1.0


def test_runbook_accuracy_counts_steps_that_ran() -> None:
    r = report()
    # finished: A ok, A ok, B failed, B ok, C timeout, D ok (C's rejected step never ran) → 4/6
    assert (r.overall.steps_ok, r.overall.steps_finished) == (4, 6)
    assert r.overall.runbook_accuracy == pytest.approx(4 / 6)


def test_per_section_accuracy_and_resolution_after_mitigation() -> None:
    sections = {(s.runbook_id, s.section_id): s for s in report().sections}
    her = sections[HER]
    assert (her.incidents, her.steps_ok, her.steps_finished) == (3, 3, 5)
    assert her.accuracy == pytest.approx(0.6)
    # A's mitigation ran at 8m and A resolved at 10m; B's ran at 25m, after B resolved at 20m
    assert (her.mitigated, her.resolved_after_mitigation, her.mitigation_success) == (2, 1, 0.5)
    db = sections[("rb2", "db-down")]
    assert (db.incidents, db.steps_finished, db.mitigated, db.mitigation_success) == (1, 1, 0, None)


def test_noisy_alerts_first() -> None:
    noisy = [(n.alertname, n.incidents, n.false_positives) for n in report().noisy_alerts]
    assert noisy == [("HighErrorRate", 3, 1), ("Latency", 1, 0)]


def test_targets_met_or_missed() -> None:
    checks = {c.target.name: (c.actual, c.met) for c in report().targets}
    assert checks["MTTR P0"] == (1200.0, False)  # 20 min ≥ 15 min
    assert checks["MTTD"] == (210.0, True)  # 3.5 min < 5 min
    assert checks["False positives"][1] is False  # 33 % ≥ 5 %
    assert checks["Runbook accuracy"][1] is False  # 67 % ≤ 95 %


def test_targets_without_data_are_neither_met_nor_missed() -> None:
    r = compute_report([], [], PERIOD, NOW)
    assert all(c.met is None and c.actual is None for c in r.targets)
    assert r.overall.incidents == 0 and r.overall.false_positive_rate is None


def test_period_filter_keeps_incidents_created_inside() -> None:
    r = compute_report(HISTORY, STEPS, Period(T0 + 30 * M, T0 + 150 * M), NOW)
    # only B (+1h) and C (+2h): MTTA 4m and 9m → mean 390, median 390, p90 ⌈1.8⌉ = 2nd = 540
    assert r.overall.incidents == 2
    assert r.overall.mtta == TimeStats(2, 390.0, 390.0, 540.0)
    assert (r.overall.steps_ok, r.overall.steps_finished) == (1, 3)


@pytest.mark.parametrize(
    ("since", "until", "start", "end"),
    [
        ("30d", None, NOW - timedelta(days=30), NOW),
        ("12h", "2026-01-01T12:00:00Z", T0, T0 + 12 * H),
        ("2025-12-31T00:00:00Z", None, T0 - timedelta(days=1), NOW),
        ("2025-12-31T00:00:00", "2026-01-01T00:00:00+00:00", T0 - timedelta(days=1), T0),
    ],
)
def test_period_parse(since: str, until: str | None, start: datetime, end: datetime) -> None:
    assert Period.parse(since, until, NOW) == Period(start, end)


@pytest.mark.parametrize(
    ("since", "until"), [("soon", None), ("1d", "later"), ("2027-01-01", None)]
)
def test_period_parse_errors_name_the_field(since: str, until: str | None) -> None:
    with pytest.raises(InputError) as err:
        Period.parse(since, until, NOW)
    assert err.value.field in ("since", "until")


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ([], TimeStats(0, None, None, None)),
        ([7], TimeStats(1, 420.0, 420.0, 420.0)),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], TimeStats(10, 330.0, 330.0, 540.0)),
        ([10, 1, 100], TimeStats(3, 2220.0, 600.0, 6000.0)),
    ],
)
def test_time_stats(minutes: list[int], expected: TimeStats) -> None:
    assert TimeStats.of(timedelta(minutes=m) for m in minutes) == expected
