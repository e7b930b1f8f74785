"""View models of the UI pages: plain data built from storage rows and flows, ready for templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.errors import NotFound
from opsbook.flows import steps as step_flows
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.storage.tables import Incident, StepRun

SEVERITIES = ("P0", "P1", "P2", "P3")
STATUSES = ("triggered", "acknowledged", "resolved", "closed")


@dataclass(frozen=True)
class Row:
    """One line of the incidents table."""

    id: str
    title: str
    service: str
    severity: str
    status: str
    is_open: bool
    age: float
    created_at: datetime
    ack_deadline: datetime
    ack_left: float
    acknowledged: bool
    breached: bool
    commander: str | None

    @classmethod
    def of(cls, inc: Incident, now: datetime) -> Row:
        left = (inc.ack_deadline - now).total_seconds()
        acked = inc.acknowledged_at is not None
        is_open = inc.status in ("triggered", "acknowledged")
        late = (inc.acknowledged_at or inc.resolved_at or now) > inc.ack_deadline
        return cls(
            id=inc.id,
            title=inc.title,
            service=inc.service,
            severity=inc.severity,
            status=inc.status,
            is_open=is_open,
            age=(now - inc.created_at).total_seconds(),
            created_at=inc.created_at,
            ack_deadline=inc.ack_deadline,
            ack_left=left,
            acknowledged=acked,
            breached=late,
            commander=inc.commander,
        )


@dataclass(frozen=True)
class StepView:
    """A step of the matched section with its gate and its last run (result blocks as stored)."""

    index: int
    phase: str
    title: str
    text: str
    executable: bool
    kind: str
    safety: str
    reason: str
    variables: list[str]
    needs_role: str | None
    confirmation: str | None
    last_run: StepRun | None

    @property
    def waiting(self) -> bool:
        return self.last_run is not None and self.last_run.status == "pending"

    @property
    def blocks(self) -> list[dict[str, Any]]:
        result = self.last_run.result if self.last_run else None
        return list((result or {}).get("blocks", []))


@dataclass
class Phase:
    """Steps under one phase heading, in document order."""

    name: str
    steps: list[StepView] = field(default_factory=list)


def phases(
    s: Session, config: Config, catalog: RunbookCatalog, inc: Incident
) -> tuple[str | None, list[Phase]]:
    """The section heading and its steps grouped by phase; (None, []) when no section matched."""
    try:
        rb, section = step_flows.section_of(catalog, inc)
        svc = step_flows.service_of(config, inc)
    except NotFound:
        return None, []
    last = {r.step_index: r for r in step_flows.runs_of(s, inc.tenant, inc.id)}
    groups: list[Phase] = []
    numbered = ((ph.phase, st) for ph in section.phases for st in ph.steps)
    for index, (phase, step) in enumerate(numbered, 1):
        gate = svc.execution.gate(step.safety, rb.path) if step.executable else None
        loc = step_flows.Located(rb, section, index, step, phase)
        confirm = (
            step_flows.confirmation_phrase(loc)
            if gate and step_flows.needs_confirmation(gate, step.safety)
            else None
        )
        if not groups or groups[-1].name != phase:
            groups.append(Phase(phase))
        groups[-1].steps.append(
            StepView(
                index=index,
                phase=phase,
                title=step.title,
                text=step.text,
                executable=step.executable,
                kind=step.kind,
                safety=step.safety,
                reason=step.reason,
                variables=[v for v in step.variables if v not in svc.variables],
                needs_role=gate.role if gate else None,
                confirmation=confirm,
                last_run=last.get(index),
            )
        )
    return section.heading, groups
