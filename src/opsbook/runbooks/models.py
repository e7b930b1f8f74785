"""Typed model of a parsed runbook: Runbook → Section → Phase → Step.

Frozen dataclasses so a parsed catalog can be shared between requests and threads safely.
Collections are tuples; ``export.to_json_dict`` turns them into the documented JSON format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from opsbook.runbooks.names import github_slug

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
    bounded: str = ""
    """For an interactive step that only runs too long: a form of it that ends by itself
    (``tail -n 200`` for ``tail -f``), which a run request runs instead. Empty when none."""


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
    parent: str | None = None
    """Id of the section this one is nested in (by heading level), if any."""
    end_line: int = 0
    """Last source line of the section (the line before the next section starts)."""
    runbook_url: str | None = None
    """For a row of an alert table: the runbook the row links to outside this file."""
    readings: tuple[tuple[int, str], ...] = ()
    """(line, how it was read) for the section's headings, fields and labels, in order: what
    ``opsbook runbooks explain`` shows next to the steps."""

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
        """The section with this id, else the one with this exact heading. Ids are unique
        (GitHub-style ``-1``, ``-2`` suffixes); a heading written twice matches nothing, so a
        caller never silently gets the first of two (see ``ambiguous``). ``parent/child``
        (two ids) picks a child by its parent's id."""
        for section in self.sections:
            if section.id == id_or_heading:
                return section
        named = [s for s in self.sections if s.heading == id_or_heading]
        if len(named) == 1:
            return named[0]
        parent, sep, child = id_or_heading.rpartition("/")
        if sep and parent and child:
            under = [
                s
                for s in self.sections
                if s.parent == parent and child in (s.id, s.heading, github_slug(s.heading))
            ]
            if len(under) == 1:
                return under[0]
        return None

    def ambiguous(self, id_or_heading: str) -> tuple[Section, ...]:
        """The sections a heading (or a bare id with its ``-1``, ``-2`` twins) could mean when
        ``section`` cannot pick one: empty when the name is unique or unknown."""
        if any(s.id == id_or_heading for s in self.sections):
            twins = [
                s
                for s in self.sections
                if s.id == id_or_heading
                or (
                    s.id.startswith(id_or_heading + "-")
                    and s.id[len(id_or_heading) + 1 :].isdigit()
                )
            ]
            return tuple(twins) if len(twins) > 1 else ()
        named = [s for s in self.sections if s.heading == id_or_heading]
        return tuple(named) if len(named) > 1 else ()
