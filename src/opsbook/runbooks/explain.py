"""How each source line of a section was read — heading, field, phase, step (kind, safety,
reason), code-block output or comment, prose — for ``opsbook runbooks explain FILE#SECTION``.

Built only from the parser's data (section and phase lines, ``Section.readings``, step lines),
so it shows what the reader really did, not a second opinion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsbook.runbooks.models import Runbook, Section, Step

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([^\s`{]*)")


@dataclass(frozen=True)
class LineReading:
    """One source line and how the reader took it."""

    line: int
    text: str
    reading: str


def find_section(rb: Runbook, wanted: str) -> tuple[Section | None, tuple[Section, ...]]:
    """The section an id, heading, ``parent/child`` id or alert name means, or (None, the
    sections it could mean) when it is ambiguous, or (None, ()) when it names nothing."""
    found = rb.section(wanted)
    if found is not None:
        return found, ()
    twins = rb.ambiguous(wanted)
    if twins:
        return None, twins
    by_alert = [s for s in rb.sections if wanted in s.alerts]
    if len(by_alert) == 1:
        return by_alert[0], ()
    return None, tuple(by_alert)


def _step_reading(n: int, st: Step) -> str:
    if not st.executable:
        return f"step {n} text ({st.kind})" if st.kind != "text" else f"step {n} text"
    kind = st.kind + (f"→{st.inner_kind}" if st.inner_kind else "")
    out = f"step {n} {kind} {st.safety}"
    if getattr(st, "interactive", False):
        out += " interactive"
    return out + (f" — {st.reason}" if st.reason else "")


def explain(rb: Runbook, section: Section, text: str) -> list[LineReading]:
    """Every line of the section (its heading to the line before the next section)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end = section.end_line or len(lines)
    notes: dict[int, list[str]] = {}
    for line, what in section.readings:
        notes.setdefault(line, []).append(what)
    for phase in section.phases:
        label = f" ({phase.label})" if phase.label else ""
        what = f"phase {phase.phase}{label}"
        if not any(
            w.startswith(("heading: phase", "heading: symptoms")) for w in notes.get(phase.line, [])
        ):
            notes.setdefault(phase.line, []).append(what)
    starts: dict[int, str] = {}
    continued: dict[int, str] = {}
    for n, st in enumerate(section.steps, 1):
        starts.setdefault(st.line, "")
        starts[st.line] = (starts[st.line] + "; " if starts[st.line] else "") + _step_reading(n, st)
        for extra in range(st.line + 1, st.line + st.text.count("\n") + 1):
            continued.setdefault(extra, f"step {n} (continued)")
    symptoms = {s.strip() for s in section.symptoms}
    out: list[LineReading] = []
    fence = ""
    for n in range(max(section.line, 1), min(end, len(lines)) + 1):
        src = lines[n - 1]
        m = _FENCE.match(src)
        in_code = bool(fence)
        if fence and m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
            fence = ""
            reading = "fence end"
        elif not fence and m:
            fence = m.group(1)
            reading = f"fence {m.group(2) or '(no language)'}"
        elif n in starts:
            reading = starts[n]
        elif n in continued:
            reading = continued[n]
        elif not src.strip():
            reading = ""
        elif in_code:
            reading = "ignored: output or comment in a code block (not a step)"
        else:
            reading = "prose"
        if n in notes:
            reading = "; ".join(notes[n]) + (
                f"; {reading}" if reading and reading != "prose" else ""
            )
        elif reading == "prose" and src.strip().lstrip("-*+ ").strip() in symptoms:
            reading = "symptom"
        out.append(LineReading(n, src, reading))
    return out
