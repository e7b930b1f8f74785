"""Typed model of a parsed runbook: Runbook → Section → Phase → Step.

Frozen dataclasses so a parsed catalog can be shared between requests and threads safely.
Collections are tuples; ``export.to_json_dict`` turns them into the documented JSON format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

PHASES: Final = (
    "general",
    "detect",
    "investigate",
    "mitigate",
    "validate",
    "escalate",
    "postmortem",
)
SAFETY_CLASSES: Final = ("read-only", "mutating", "destructive", "unknown")
EXECUTABLE_KINDS: Final = (
    "shell",
    "kubectl",
    "http",
    "sql",
    "redis",
    "cypher",
    "promql",
    "docker",
    "python",
)
TEXT_KINDS: Final = ("typescript", "yaml", "json", "config", "ruby", "text")
KINDS: Final = EXECUTABLE_KINDS + TEXT_KINDS
SECTION_KINDS: Final = ("alert", "incident", "reference")


@dataclass(frozen=True)
class Step:
    """One thing to do: a text instruction or one executable command, with its safety class."""

    line: int
    title: str
    text: str
    executable: bool
    kind: str
    inner_kind: str | None
    safety: str
    reason: str
    variables: tuple[str, ...] = ()
    warned: bool = False
    """For destructive and unknown steps: True when a warning word (warning, caution, danger,
    ⚠ …) is in the step's title or the few source lines just above it. False otherwise."""
    interactive: bool = False
    """True for a command that never ends by itself or needs a terminal (``tail -f``, ``watch``,
    ``kubectl exec -it``, ``psql`` with no query): never run automatically, only by hand."""
    interactive_reason: str = ""
    """Why the step is interactive (empty when it is not)."""


@dataclass(frozen=True)
class Phase:
    """A run of steps under one phase (detect … postmortem), keeping the document's own label."""

    phase: str
    label: str
    line: int
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Section:
    """An alert, incident or reference section of a runbook, with its fields and phases."""

    id: str
    heading: str
    line: int
    alerts: tuple[str, ...] = ()
    severity: str | None = None
    severity_normalized: str | None = None
    threshold: str | None = None
    symptoms: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = ()
    level: int = 2
    kind: str = "reference"
    """``alert`` (bound to alert names), ``incident`` (a failure mode without a name) or
    ``reference`` (procedures, command collections, anything else with steps)."""

    @property
    def steps(self) -> tuple[Step, ...]:
        """All steps of the section in document order."""
        return tuple(step for phase in self.phases for step in phase.steps)


@dataclass(frozen=True)
class Runbook:
    """One Markdown file: its path, title, front matter and sections in document order."""

    path: str
    title: str
    front_matter: Mapping[str, object] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()
    errors: tuple[str, ...] = ()
    """Problems met while reading (unreadable file, bad front matter); never raised."""

    def section(self, id_or_heading: str) -> Section | None:
        """The section with this id or exact heading, if any."""
        for section in self.sections:
            if id_or_heading in (section.id, section.heading):
                return section
        return None
