"""The JSON export of parsed runbooks, in the stable format documented in
docs/runbook-format.md (and in issue 3)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opsbook.runbooks.models import Phase, Runbook, Section, Step


def step_dict(step: Step) -> dict[str, Any]:
    """One step as JSON."""
    return {
        "line": step.line,
        "title": step.title,
        "text": step.text,
        "executable": step.executable,
        "kind": step.kind,
        "inner_kind": step.inner_kind,
        "safety": step.safety,
        "reason": step.reason,
        "variables": list(step.variables),
        "interactive": step.interactive,
        "interactive_reason": step.interactive_reason,
    }


def phase_dict(phase: Phase) -> dict[str, Any]:
    """One phase as JSON."""
    return {
        "phase": phase.phase,
        "label": phase.label,
        "line": phase.line,
        "steps": [step_dict(s) for s in phase.steps],
    }


def section_dict(section: Section) -> dict[str, Any]:
    """One section as JSON."""
    return {
        "id": section.id,
        "heading": section.heading,
        "line": section.line,
        "alerts": list(section.alerts),
        "severity": section.severity,
        "severity_normalized": section.severity_normalized,
        "threshold": section.threshold,
        "symptoms": list(section.symptoms),
        "phases": [phase_dict(p) for p in section.phases],
    }


def runbook_dict(runbook: Runbook) -> dict[str, Any]:
    """One runbook as JSON."""
    return {
        "path": runbook.path,
        "title": runbook.title,
        "sections": [section_dict(s) for s in runbook.sections],
    }


def to_json_dict(runbooks: Iterable[Runbook]) -> dict[str, Any]:
    """``{"runbooks": [...]}`` — ready for ``json.dumps``."""
    return {"runbooks": [runbook_dict(rb) for rb in runbooks]}
