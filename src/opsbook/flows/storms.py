"""Storm correlation inside one intake transaction: which new alerts join their service's storm.

``Storms`` holds the storm counters of one tenant's services for one group commit: one query to
load (and lock) them, one write at the end, whatever the number of alerts. ``flows.ingest`` asks
``joins(decision)`` for every alert that would open an incident, opens or reuses the storm
incident, and reports each joining alert with ``joined``; at the end of each request ``entries``
says what to put on the timelines (one entry per request and storm, never one per alert), and
``finish`` counts the storms' alertnames, retitles them and writes the counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from opsbook.config.durations import format_duration
from opsbook.config.models import Config
from opsbook.incidents.models import Severity
from opsbook.incidents.storm import (
    StormCounter,
    batch_summary,
    may_join,
    storm_key,
    storm_severity,
    storm_title,
    storming,
)
from opsbook.intake.routing import Decision
from opsbook.storage import pressure
from opsbook.storage.tables_pressure import StormState


class StormIncident(Protocol):
    """What this module reads and sets on a storm incident (an ORM row or a new row)."""

    id: str
    service: str
    severity: str
    title: str
    alert_count: int


@dataclass
class _Joined:
    """The alerts one request added to one storm incident."""

    names: Counter[str] = field(default_factory=Counter)
    severities: list[Severity] = field(default_factory=list)


class Storms:
    """The storm counters of one tenant in one transaction (see the module docstring)."""

    def __init__(
        self,
        s: Session,
        config: Config,
        tenant: str,
        now: datetime,
        decisions: Iterable[Decision],
    ) -> None:
        self.s, self.config, self.tenant, self.now = s, config, tenant, now
        services = sorted(
            {d.service for d in decisions if config.storm_policy(d.route_index) is not None}
        )
        self.rows: dict[str, StormState] = (
            pressure.storm_states(s, tenant, services) if services else {}
        )
        self.counters = {
            svc: StormCounter(row.slot_start, [int(n) for n in row.slots], row.active)
            for svc, row in self.rows.items()
        }
        self.keys = [storm_key(svc) for svc in services]  # open storm incidents to prefetch
        self.began: set[str] = set()
        self.ended: set[str] = set()
        self._joined: dict[str, _Joined] = {}
        self._names: dict[str, set[str]] = {}  # per storm incident: alertnames of this commit
        self._storms: dict[str, StormIncident] = {}
        self._created: set[str] = set()

    def opened(self, inc: StormIncident) -> None:
        """``inc`` is a storm incident this commit creates (its first entry says why)."""
        self._created.add(inc.id)

    def joins(self, d: Decision) -> bool:
        """Count one new alert group of ``d.service``; True when it joins the service's storm.

        A P0 is counted but never joins: it opens its own incident and pages on its own.
        """
        policy = self.config.storm_policy(d.route_index)
        if policy is None:
            return False
        c = self.counters.get(d.service)
        if c is None:
            c = self.counters[d.service] = StormCounter(self.now)
        now_storming = storming(c, policy.threshold, policy.window, self.now)
        c.record(self.now, policy.window)
        if now_storming and not c.active:
            c.active = True
            self.began.add(d.service)
            self.ended.discard(d.service)
        elif c.active and not now_storming:
            c.active = False
            self.ended.add(d.service)
            self.began.discard(d.service)
        return now_storming and may_join(d.severity)

    def opening_note(self, d: Decision) -> tuple[str, dict[str, Any]]:
        """The first timeline entry of a new storm incident: why it exists."""
        policy = self.config.storm_policy(d.route_index)
        assert policy is not None
        window = format_duration(policy.window)
        return (
            f"alert storm on {d.service}: {policy.threshold} incidents opened within {window}; "
            f"new alerts on {d.service} join this incident (a P0 still opens its own)",
            {
                "storm": True,
                "threshold": policy.threshold,
                "window_s": int(policy.window.total_seconds()),
            },
        )

    def joined(self, inc: StormIncident, alertname: str, severity: Severity) -> None:
        """One alert of the current request joined the storm incident ``inc``."""
        self._storms[inc.id] = inc
        j = self._joined.setdefault(inc.id, _Joined())
        j.names[alertname] += 1
        j.severities.append(severity)
        self._names.setdefault(inc.id, set()).add(alertname)

    def entries(
        self, open_storm: Mapping[str, StormIncident]
    ) -> list[tuple[StormIncident, str, str, dict[str, Any]]]:
        """(incident, kind, message, data) to record for the request just applied; resets it.

        ``open_storm`` maps a service to its open storm incident (for "the storm is over").
        """
        out: list[tuple[StormIncident, str, str, dict[str, Any]]] = []
        for inc_id, j in self._joined.items():
            inc = self._storms[inc_id]
            n = sum(j.names.values())
            out.append(
                (
                    inc,
                    "alert_firing",
                    f"{n:,} alert{'' if n == 1 else 's'} joined the storm: {batch_summary(j.names)}",
                    {"storm": True, "alerts": n, "alertnames": dict(j.names.most_common(50))},
                )
            )
            raised = storm_severity([Severity(inc.severity), *j.severities])
            if raised.rank < Severity(inc.severity).rank:
                out.append(
                    (
                        inc,
                        "severity_changed",
                        f"severity raised from {inc.severity} to {raised} by alerts of the storm",
                        {"from": inc.severity, "to": raised.value},
                    )
                )
                inc.severity = raised.value
        self._joined.clear()
        for svc in sorted(self.ended):
            found = open_storm.get(svc)
            if found is not None:
                out.append(
                    (
                        found,
                        "comment",
                        f"the storm on {svc} calmed down: new alerts open their own incidents again",
                        {"storm": True, "ended": True},
                    )
                )
        self.ended.clear()
        for svc in sorted(self.began):
            found = open_storm.get(svc)
            if found is not None and found.id not in self._created:
                out.append(
                    (
                        found,
                        "comment",
                        f"another alert storm on {svc}: new alerts join this incident again",
                        {"storm": True, "began": True},
                    )
                )
        self.began.clear()
        return out

    def finish(self) -> None:
        """Count each storm's alertnames, retitle it, and write the counters (before the inserts
        of this commit's alerts, so the lookup sees only the alertnames held before)."""
        for inc_id, names in self._names.items():
            inc = self._storms[inc_id]
            row = self._row(inc.service)
            if row.incident_id != inc_id:
                row.incident_id = inc_id
                row.alertnames = pressure.alertname_count(self.s, self.tenant, inc_id)
            present = pressure.alertnames_present(self.s, self.tenant, inc_id, sorted(names))
            row.alertnames += len(names - present)
            inc.title = storm_title(inc.service, inc.alert_count, row.alertnames)
        for svc, c in self.counters.items():
            row = self._row(svc)
            row.slot_start, row.slots, row.active = c.slot_start, list(c.slots), c.active
            row.updated_at = self.now

    def _row(self, service: str) -> StormState:
        row = self.rows.get(service)
        if row is None:
            row = StormState(
                tenant=self.tenant,
                service=service,
                slot_start=self.now,
                slots=[],
                active=False,
                incident_id=None,
                alertnames=0,
                updated_at=self.now,
            )
            self.s.add(row)
            self.rows[service] = row
        return row
