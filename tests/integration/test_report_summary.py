"""Reports and ``/metrics`` read summary rows, not history, and say what history says.

A history is made through the real paths (intake, acknowledge, resolve, close, escalation
ticks that page a second level). Its report computed from the summary rows must equal the one
computed the old way, from every alert and timeline entry (``_from_history`` below is that old
loader, kept here as the reference). Then the statements behind ``/metrics``, the report and
the incident pages are recorded: none may read the alerts or timeline tables where a summary
exists, and on SQLite no plan may scan a history table whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from opsbook.api.state import AppState
from opsbook.flows.reports import load_records, metric_samples
from opsbook.incidents.models import EntryKind
from opsbook.jobs.kinds import all_job_kinds
from opsbook.reports.compute import compute_report
from opsbook.reports.models import IncidentRecord, Period, StepRecord
from opsbook.storage.repos import open_counts
from opsbook.storage.tables import Alert, Incident, Job, StepRun, TimelineEntry
from tests.support.app import Harness, am_alert, am_body, running_app

CONFIG = """
tenants: [{name: acme}, {name: globex}]
users:
  - {name: alice, tenant: acme, role: commander}
  - {name: lead, tenant: acme, role: commander}
escalation_policies:
  - name: platform
    tenant: acme
    steps: [{notify: {users: [alice]}}, {after: 10m, notify: {users: [lead]}}]
services:
  - {name: checkout-api, tenant: acme, escalation_policy: platform}
  - {name: search-indexer, tenant: acme}
  - {name: ledger, tenant: globex}
routes:
  - {match: {job: checkout}, service: checkout-api, group_by: [job, cluster]}
  - {match: {job: search}, service: search-indexer, group_by: [job, cluster]}
  - {match: {job: ledger}, service: ledger}
severity_map: {critical: P0, high: P1, warning: P2, info: P3}
"""


def _from_history(
    s: Session, tenant: str, period: Period
) -> tuple[list[IncidentRecord], list[StepRecord]]:
    """The report's records read the way they were before the summary: from all history."""
    incidents = list(
        s.scalars(
            select(Incident).where(
                Incident.tenant == tenant,
                Incident.created_at >= period.start,
                Incident.created_at < period.end,
            )
        )
    )
    ids = [i.id for i in incidents]
    names: dict[str, set[str]] = defaultdict(set)
    for iid, name in s.execute(
        select(Alert.incident_id, Alert.alertname).where(
            Alert.tenant == tenant, Alert.incident_id.in_(ids)
        )
    ):
        names[iid].add(name)
    levels: dict[str, int] = {}
    for iid, data in s.execute(
        select(TimelineEntry.incident_id, TimelineEntry.data).where(
            TimelineEntry.tenant == tenant,
            TimelineEntry.incident_id.in_(ids),
            TimelineEntry.kind == EntryKind.ESCALATION.value,
        )
    ):
        level = (data or {}).get("level")
        if isinstance(level, int):
            levels[iid] = max(levels.get(iid, -1), level)
    steps = [
        StepRecord(r.incident_id, r.runbook_id, r.section_id, r.status, r.safety, r.finished_at)
        for r in s.scalars(
            select(StepRun).where(StepRun.tenant == tenant, StepRun.incident_id.in_(ids))
        )
    ]
    records = [
        IncidentRecord(
            id=i.id,
            tenant=i.tenant,
            service=i.service,
            severity=i.severity,
            created_at=i.created_at,
            ack_deadline=i.ack_deadline,
            first_alert_at=i.first_alert_at,
            acknowledged_at=i.acknowledged_at,
            resolved_at=i.resolved_at,
            closed_at=i.closed_at,
            close_reason=i.close_reason,
            runbook_id=i.runbook_id,
            section_id=i.section_id,
            escalation_level=levels.get(i.id, -1),
            alertnames=tuple(sorted(names[i.id])),
        )
        for i in incidents
    ]
    return records, steps


def _key(r: StepRecord) -> tuple[Any, ...]:
    return (r.incident_id, r.runbook_id, r.section_id, r.status, r.safety, r.finished_at)


@pytest.fixture
def history(db_url: str) -> Iterator[tuple[Harness, AppState, list[str]]]:
    """Twelve days of incidents: several alert names in one incident, re-sent alerts, acks in
    and out of the window, resolutions, a false positive, escalations to the second level."""
    with running_app(db_url, CONFIG, run_worker=False) as h:
        st: AppState = h.client.app.state.opsbook  # type: ignore[attr-defined]
        tick = all_job_kinds(
            st.sessions, lambda: st.config, lambda: st.catalog, st.settings, st.clock
        )["escalate"].run
        ids: list[str] = []
        for day in range(12):
            sev = ("critical", "high", "warning", "info")[day % 4]
            job = "checkout" if day % 3 else "search"
            alerts = [
                am_alert(f"Err{day % 5}", job=job, severity=sev, cluster=f"c{day}"),
                am_alert(f"Lat{day % 2}", job=job, severity=sev, cluster=f"c{day}", pod="p"),
            ]
            opened = h.post_am(am_body(*alerts))["incidents"]
            h.post_am(am_body(alerts[0]))  # a re-send changes nothing
            iid = opened[0]
            ids.append(iid)
            if day % 2 == 0 and job == "checkout":  # page level 1, then 10 min later level 2
                with st.sessions() as s:
                    for _ in range(2):  # the tick is run here, so its job stays queued
                        queued = s.scalars(
                            select(Job).where(Job.incident_id == iid, Job.kind == "escalate")
                        ).all()
                        token = max(j.payload["token"] for j in queued)
                        s.rollback()
                        tick({"incident_id": iid, "token": token})
                        h.clock.advance(minutes=11)
            h.clock.advance(minutes=2 + day)
            if day % 4 != 3:
                who = h.auth("acme", "commander")
                assert h.client.post(f"/api/v1/incidents/{iid}/acknowledge", headers=who).is_success
            if day % 3 == 1:
                body = {"reason": "false_positive" if day % 2 else "resolved"}
                r = h.client.post(f"/api/v1/incidents/{iid}/close", json=body, headers=h.auth())
                assert r.is_success, r.text
            elif day % 3 == 2:
                h.post_am(am_body(*[{**a, "status": "resolved"} for a in alerts]))
            h.clock.advance(hours=23)
        h.post_am(am_body(am_alert("LedgerDown", job="ledger", severity="critical")), "globex")
        yield h, st, ids


def test_summary_report_equals_the_report_from_history(
    history: tuple[Harness, AppState, list[str]],
) -> None:
    h, st, ids = history
    now = h.clock.now()
    with st.sessions() as s:
        escalated = s.execute(
            select(TimelineEntry.incident_id).where(TimelineEntry.kind == "escalation").distinct()
        ).all()
        assert len(escalated) >= 2  # the history really pages second levels
        for since in (timedelta(days=30), timedelta(days=5), timedelta(hours=30)):
            period = Period(now - since, now)
            for tenant in ("acme", "globex"):
                old_inc, old_steps = _from_history(s, tenant, period)
                new_inc, new_steps = load_records(s, tenant, period)
                assert sorted(new_inc, key=lambda r: r.id) == sorted(old_inc, key=lambda r: r.id)
                assert sorted(map(_key, new_steps)) == sorted(map(_key, old_steps))
                assert (
                    compute_report(new_inc, new_steps, period, now).to_dict()
                    == compute_report(old_inc, old_steps, period, now).to_dict()
                )
        report = compute_report(*load_records(s, "acme", Period(now - timedelta(days=30), now)),
                                Period(now - timedelta(days=30), now), now)  # fmt: skip
        assert report.overall.incidents == len(ids)
        assert report.overall.escalated >= 2
        assert {a.alertname for a in report.noisy_alerts} >= {"Err0", "Lat0", "Lat1"}
        filtered, _ = load_records(
            s, "acme", Period(now - timedelta(days=30), now), service="search-indexer"
        )
        assert {r.service for r in filtered} == {"search-indexer"} and filtered

        # the gauges are the same figures, tenant × service × severity
        samples = metric_samples(s, st.config, now)
    by_api = h.client.get("/api/v1/reports", params={"since": "30d"}, headers=h.auth()).json()
    incidents = {
        (labels["service"], labels["severity"]): value
        for name, labels, value in samples
        if name == "incidents" and labels["tenant"] == "acme"
    }
    per_service: dict[str, float] = defaultdict(float)
    for (service, _), n in incidents.items():
        per_service[service] += n
    assert per_service == {k: v["incidents"] for k, v in by_api["by_service"].items()}


Statement = tuple[str, Any]


def _recorded(st: AppState) -> tuple[list[Statement], Any]:
    engine = st.sessions.kw["bind"]
    seen: list[Statement] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


def _reads(statements: Sequence[Statement], table: str) -> list[str]:
    return [
        s
        for s, _ in statements
        if s.lstrip().upper().startswith("SELECT")
        and (f"FROM {table}" in s or f"JOIN {table}" in s)
    ]


def test_metrics_and_reports_never_read_alerts_or_timelines(
    history: tuple[Harness, AppState, list[str]],
) -> None:
    h, st, ids = history
    metrics_token = st.settings.metrics_token
    headers = {"Authorization": f"Bearer {metrics_token}"} if metrics_token else {}
    seen, stop = _recorded(st)
    try:
        m = h.client.get("/metrics", headers=headers)
        r = h.client.get("/api/v1/reports", params={"since": "30d"}, headers=h.auth())
    finally:
        stop()
    assert m.status_code == 200 and "opsbook_report_incidents" in m.text
    assert r.status_code == 200 and r.json()["overall"]["incidents"] == len(ids)
    assert seen, "no statement recorded"
    assert _reads(seen, "alerts") == []
    assert _reads(seen, "timeline_entries") == []


def test_incident_pages_use_indexes_and_page_by_keyset(
    history: tuple[Harness, AppState, list[str]],
) -> None:
    """Every statement behind the list (filtered), an incident and its next pages, on SQLite's
    plan: no history table is scanned whole; the next page of alerts is a keyset range."""
    h, st, ids = history
    iid = ids[0]  # acknowledged, still open
    # more alerts than a page: the next ones are a link away, none is lost or repeated
    more = [
        am_alert("Err0", job="search", severity="critical", cluster="c0", instance=f"i{k}")
        for k in range(130)
    ]
    h.post_am(am_body(*more))
    seen, stop = _recorded(st)
    try:
        for params in ({}, {"status": "resolved"}, {"severity": "P1"}, {"service": "ledger"}):
            assert h.client.get("/api/v1/incidents", params=params, headers=h.auth()).is_success
        detail = h.incident(iid)
        got = [a["id"] for a in detail["alerts"]]
        nxt = detail["alerts_next"]
        while nxt:
            page = h.client.get(nxt, headers=h.auth()).json()
            got += [a["id"] for a in page["items"]]
            nxt = page["next"]
    finally:
        stop()
    assert len(got) == len(set(got)) == detail["alert_count"] == 132
    # the list, five at a time by its next links: every incident once, open ones first, then
    # by severity, newest first
    walked: list[dict[str, Any]] = []
    link: str | None = "/api/v1/incidents?limit=5"
    while link and len(walked) < 100:
        page = h.client.get(link, headers=h.auth()).json()
        walked += page["items"]
        link = page["next"]
    assert len(walked) == len({i["id"] for i in walked}) == page["total"] == len(ids)
    order = [
        (i["status"] in ("resolved", "closed"), i["severity"], i["created_at"]) for i in walked
    ]
    assert order == sorted(
        order, key=lambda o: (o[0], o[1], "".join(chr(255 - ord(c)) for c in o[2]))
    )
    bad = h.client.get(f"/api/v1/incidents/{iid}/alerts", params={"cursor": "nope"},
                       headers=h.auth())  # fmt: skip
    assert bad.status_code == 422 and "cursor" in bad.text
    if not h.url.startswith("sqlite"):
        return
    engine = st.sessions.kw["bind"]
    with engine.connect() as c:
        for statement, params in seen:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            steps = [
                row[-1] for row in c.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            whole = [x for x in steps if x.startswith(("SCAN alerts", "SCAN timeline_entries"))]
            assert whole == [], (statement, steps)


def test_reports_and_metrics_leave_drills_out_unless_asked(
    history: tuple[Harness, AppState, list[str]],
) -> None:
    """Two incidents marked as rehearsals: the report, its API, CLI params and the gauges count
    the other ten; ``include_drills`` counts all twelve, with the same figures as before."""
    h, st, ids = history
    now = h.clock.now()
    period = Period(now - timedelta(days=30), now)
    with st.sessions() as s:
        everything = compute_report(*load_records(s, "acme", period), period, now).to_dict()
        open_before = sum(n for t, _, _, n in open_counts(s) if t == "acme")
        assert s.get_one(Incident, ids[0]).open_key is not None  # a drill that is still open
        for iid in ids[:2]:
            s.get_one(Incident, iid).drill_run_id = f"drill-{iid}"
        s.commit()
        real_inc, real_steps = load_records(s, "acme", period)
        assert {r.id for r in real_inc} == set(ids[2:])
        assert {r.incident_id for r in real_steps} <= set(ids[2:])
        with_drills = load_records(s, "acme", period, include_drills=True)
        assert compute_report(*with_drills, period, now).to_dict() == everything
        samples = metric_samples(s, st.config, now)
        assert sum(n for t, _, _, n in open_counts(s) if t == "acme") == open_before - 1
    counted = sum(v for n, lab, v in samples if n == "incidents" and lab["tenant"] == "acme")
    assert counted == len(ids) - 2
    api = h.client.get("/api/v1/reports", params={"since": "30d"}, headers=h.auth()).json()
    assert api["overall"]["incidents"] == len(ids) - 2
    assert api["overall"] == compute_report(real_inc, real_steps, period, now).to_dict()["overall"]
    api_all = h.client.get(
        "/api/v1/reports", params={"since": "30d", "include_drills": "true"}, headers=h.auth()
    ).json()
    assert api_all["overall"] == everything["overall"]
    bad = h.client.get("/api/v1/reports", params={"include_drills": "maybe"}, headers=h.auth())
    assert bad.status_code == 422 and "include_drills" in bad.text
