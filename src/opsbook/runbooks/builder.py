"""Accumulate sections while the Markdown token stream is walked: headings open sections or
phases, labels fill fields or open phases, list items and code blocks become steps.

``parse.py`` drives it over markdown-it tokens; this module knows runbook structure only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from opsbook.runbooks.fields import (
    clean_label,
    field_of,
    normalize_severity,
    phase_of,
    split_label,
)
from opsbook.runbooks.models import Step
from opsbook.runbooks.names import (
    SlugRegistry,
    code_spans,
    heading_alert_names,
    looks_like_alert_id,
    looks_like_alert_name,
    normalize_key,
    plain,
)
from opsbook.runbooks.steps import StepMaker
from opsbook.runbooks.tables import AlertRow, TableRow, alert_table_rows, severity_rows

_PREFIXED = re.compile(
    r"^(?:runbook|problem|incident|issue|scenario|playbook|failure|case|symptom|q|question)"
    r"\s*#?\d*\s*[:\-–—]\s*(.+)$",
    re.I,
)
_ALERT_PREFIX = re.compile(r"^(?:alert(?:\s*name)?|alertname)\s*[:\-–—]\s*(.+)$", re.I)
_SEV_PAREN = re.compile(
    r"[(\[]\s*(?:severity|sev|priority)?\s*[:=]?\s*([^()\[\]]{1,30})[)\]]", re.I
)
_LEADING_MARKS = re.compile(r"^[^\w`]+")
_STRICT_SEVERITY = re.compile(
    r"(?i)(?:severity\s*[:=]?\s*)?(?:p[0-4]|sev-?[0-5]|critical|warning|warn|info|high|low"
    r"|medium|major|minor|page|ticket)(?:\s*[-/,]\s*p[0-4])?"
)
_STEP_HEADING = re.compile(r"(?i)^\s*step\s*\d+\b")
_SEV_PREFIX = re.compile(r"(?i)^\s*((?:sev(?:erity)?[\s-]?[0-5])|p[0-4])\s*[:\-–—|]\s*(.+)$")
_SEV_GROUP = re.compile(
    r"(?i)^(critical|high|medium|low|warning|major|minor|urgent|p[0-3]|sev-?[0-5])\b"
    r"(?:\s+[\w-]+){0,2}?\s+(?:alerts?|alarms?|incidents?|issues?|problems?|runbooks?"
    r"|priority|severity|pages?)\s*$"
)
_ANCHOR = re.compile(r"\s*\{\s*#([A-Za-z0-9_:.\-]+)(?:\s[^{}]*)?\}\s*$")
_NOTE_LABELS = frozenset(
    {
        "note",
        "notes",
        "notice",
        "nb",
        "n.b.",
        "tip",
        "hint",
        "info",
        "important",
        "warning",
        "caution",
        "danger",
        "attention",
        "example",
        "remember",
        "todo",
        "warning/danger",
        "expected",
        "actual",
    }
)
_RULE_ALERT = re.compile(r"(?m)^\s*-?\s*alert:\s*['\"]?([A-Za-z_][\w:]*)['\"]?\s*$")
_ALERTING_WORDS = re.compile(r"(?i)alert|alarm|\bfir(?:es|ing|ed)\b|\bpages?\b|\btrigger")
_RULE_SEVERITY = re.compile(r"(?m)^\s+severity:\s*['\"]?([A-Za-z0-9-]+)['\"]?\s*$")
_PROSE_ALERT = re.compile(
    r"(?i)\b(?:alerts?|alarms?)\s+`([^`\s]{3,120})`"
    r"|`([^`\s]{3,120})`\s+(?:alerts?\b|alarms?\b|fires\b|is firing\b|pages\b)"
)
_TASK_BOX = re.compile(r"^\s*\[[ xX]\]\s+")
_HEADING_NUMBER = re.compile(r"^\s*(?:\d{1,4}(?:\.\d{1,4}){0,5}[.)]?\s+)")
_LINK_ONLY = re.compile(r"^\s*\[[^\]]*\]\([^)]*\)\s*$")


@dataclass
class PhaseDraft:
    """A phase being filled; becomes a models.Phase."""

    phase: str
    label: str
    line: int
    steps: list[Step] = field(default_factory=list)


@dataclass
class SectionDraft:
    """A section being filled; becomes a models.Section (or is dropped when empty)."""

    heading: str
    line: int
    level: int
    slug: str
    ancestors: tuple[str, ...] = ()
    alerts: list[str] = field(default_factory=list)
    severity: str | None = None
    threshold: str | None = None
    symptoms: list[str] = field(default_factory=list)
    phases: list[PhaseDraft] = field(default_factory=list)
    prefixed: bool = False
    from_heading: bool = True
    collect_symptoms: bool = False
    parent: SectionDraft | None = None
    """The section this one is nested in (by heading level), for inherited severities."""
    from_table: bool = False
    """A row of an alert table: its slug is given at the end, after every heading's."""
    runbook_url: str | None = None
    readings: list[tuple[int, str]] = field(default_factory=list)
    """(line, how it was read) for headings, fields and labels: what ``runbooks explain`` shows."""

    def note(self, line: int, what: str) -> None:
        """Remember how a source line was read (heading, field:severity, phase …)."""
        self.readings.append((line, what))

    def set_severity(self, value: str | None, line: int) -> None:
        """The section's severity as written, unless it has one already."""
        if value and self.severity is None:
            self.severity = value
            self.note(line, f"field:severity {value}")

    def add_alerts(self, names: list[str]) -> None:
        """Bind alert names (each once, in order)."""
        for name in names:
            if name and name not in self.alerts:
                self.alerts.append(name)

    def phase_for_step(self, line: int) -> PhaseDraft:
        """The phase a new step goes to: the last one, or "general" before any label."""
        if not self.phases:
            self.phases.append(PhaseDraft("general", "", line))
        return self.phases[-1]


@dataclass
class ItemDraft:
    """A list item whose text waits to learn whether a code block or sub-list follows."""

    line: int
    raw: str | None = None
    raw_line: int = 0
    done: bool = False
    title: str = ""


def heading_text(raw: str) -> str:
    """A heading's text as shown: inline markup and a trailing ``{#anchor}`` removed."""
    anchor = _ANCHOR.search(raw) if "{" in raw else None
    if anchor:
        raw = raw[: anchor.start()]
    return plain(raw) or raw.strip()


def heading_is_section(text: str, raw: str) -> bool:
    """True for a heading that must open a section of its own: it names alerts
    (``KubePodCrashLooping``, ``AlertA | AlertB``), or an incident (``Problem: …``,
    ``SEV-1: …``, ``Alert: …``)."""
    text = text.strip()
    if _ALERT_PREFIX.match(text) or _PREFIXED.match(text) or _SEV_PREFIX.match(text):
        return True
    core = _LEADING_MARKS.sub("", text)
    core = _HEADING_NUMBER.sub("", core, count=1) if core[:1].isdigit() else core
    return bool(heading_alert_names(core, raw))


def _alert_names(text: str) -> list[str]:
    """Alert names in a field value: backticked names first, else name-like words."""
    spans = [s for s in code_spans(text) if re.fullmatch(r"[A-Za-z][\w:.\-]{1,120}", s)]
    if spans and len(re.sub(r"`[^`]*`", " ", text).split()) >= 5:
        # a sentence ("The `praefect` service (`main` stage) is slow"): only real alert names
        spans = [s for s in spans if looks_like_alert_name(s)]
        if not spans:
            return []
    if spans:
        return spans
    value = plain(text).strip().strip("\"'“”‘’")
    value = re.split(r"\s[-–—(]\s*|\s\(", value, maxsplit=1)[0]
    names = [w for w in re.split(r"[,;/]|\band\b|\bor\b|\s+", value) if w]
    names = [w.strip(".\"'“”‘’") for w in names]
    good = [w for w in names if looks_like_alert_name(w)]
    if good:
        return good
    single = value.strip()
    if re.fullmatch(r"[A-Za-z][\w:.\-]{1,120}", single):
        return [single]
    return []


class Builder:
    """Accumulates sections while the token stream is walked."""

    def __init__(self, lines: list[str], path: str) -> None:
        self.steps = StepMaker(lines)
        self.path = path
        self.sections: list[SectionDraft] = []
        self.current: SectionDraft | None = None
        self.slugs = SlugRegistry()
        self.heading_stack: list[tuple[int, str]] = []
        self.section_stack: list[SectionDraft] = []
        self.items: list[ItemDraft] = []
        self.pending_title = ""
        self.pending_field: str | None = None
        self.title: str | None = None
        self.plan: dict[int, str] = {}
        """Heading line → "phase" or "section", decided from the outline (see outline.py)."""
        self.anchor_rows: list[tuple[str, AlertRow]] = []
        """Alert-table rows that link to a heading of this file (``#anchor``): bound at the end."""
        self.severity_rows: list[tuple[str, str, int]] = []
        """(name, severity, line) from tables that give incidents a severity by name."""

    # ------------------------------------------------------------- sections and phases

    def _base_level(self) -> int:
        cur = self.current
        if cur is None:
            return 0
        return cur.level if cur.from_heading else cur.level - 1

    def new_section(
        self,
        heading: str,
        line: int,
        level: int,
        *,
        from_heading: bool = True,
        slug: str | None = None,
        raw: str = "",
        read: bool = True,
    ) -> SectionDraft:
        """Open a section (from a heading, a Problem: label or a table row); ``read``: look
        for alerts and severity in its heading (not for text before the first heading)."""
        while self.section_stack and self.section_stack[-1].level >= level:
            self.section_stack.pop()
        sec = SectionDraft(
            heading=heading,
            line=line,
            level=level,
            slug=slug or self.slugs.unique(heading),
            ancestors=tuple(t for lvl, t in self.heading_stack if 1 < lvl < level),
            from_heading=from_heading,
            parent=self.section_stack[-1] if self.section_stack else None,
        )
        sec.note(line, "heading: section" if read else "section (text before any heading)")
        if read:
            self._read_heading(sec, raw)
        self.sections.append(sec)
        self.section_stack.append(sec)
        self.current = sec
        self.pending_title = ""
        self.steps.new_scope()
        return sec

    def _read_heading(self, sec: SectionDraft, raw: str = "") -> None:
        text = sec.heading.strip()
        m = _ALERT_PREFIX.match(text)
        if m:
            rest = m.group(1)
            sev = _SEV_PAREN.search(rest)
            if sev and normalize_severity(sev.group(1)):
                sec.set_severity(sev.group(1).strip(), sec.line)
            names = _alert_names(_SEV_PAREN.sub("", rest))
            sec.add_alerts(names[:1] if names else [])
            sec.prefixed = not names  # "Alert: High CPU usage" is an incident by that name
            return
        m = _SEV_PREFIX.match(text)
        if m:  # "SEV-1: PostgreSQL Down", "P2 - Replica lag": an incident with its severity
            sec.set_severity(m.group(1), sec.line)
            sec.prefixed = True
            text = m.group(2).strip()
        elif _PREFIXED.match(text):
            sec.prefixed = True
            return
        core = _LEADING_MARKS.sub("", text)
        core = _HEADING_NUMBER.sub("", core, count=1) if core[:1].isdigit() else core
        group = _SEV_GROUP.match(core)
        if group and not _SEV_PAREN.search(core):  # "Critical incidents", "P1 alerts"
            sec.set_severity(group.group(1), sec.line)
        names = heading_alert_names(core, raw)
        if names:
            sec.add_alerts(names)
        sev = _SEV_PAREN.search(core)
        if sev and _STRICT_SEVERITY.fullmatch(sev.group(1).strip()):
            value = sev.group(1).strip()
            # a bare word such as "(Critical)" is a severity only next to an alert name;
            # "(P1)" or "(severity: high)" is one anywhere
            if sec.alerts or re.search(r"(?i)\bp\d|sev|severity", sev.group(0)):
                sec.set_severity(value, sec.line)

    def heading(self, level: int, raw: str, line: int) -> None:
        """A heading: a phase or field of the current section when deeper and named so, else a
        new section."""
        self.flush_items()
        self.pending_field = None
        anchor = _ANCHOR.search(raw) if "{" in raw else None
        if anchor:  # "## Resolver timeouts {#resolver-timeouts}": the anchor is the id
            raw = raw[: anchor.start()]
        text = plain(raw) or raw.strip()
        slug = self.slugs.claim(anchor.group(1)) if anchor else self.slugs.unique(text)
        while self.heading_stack and self.heading_stack[-1][0] >= level:
            self.heading_stack.pop()
        cur = carried = self.current
        if self.title is None and level == 1:
            self.title = text
        if (
            level == 1
            and carried is not None
            and carried.level == 0
            and not carried.from_heading
            and not carried.phases
            and not carried.symptoms
            and len(self.sections) == 1
        ):
            # the H1 repeats the front-matter title: it becomes the root section
            self.sections.pop()
            self.section_stack.clear()
            self.current = cur = None
            self.new_section(text, line, level, slug=slug, raw=raw).add_alerts(carried.alerts)
            self.heading_stack.append((level, text))
            return
        force = self.plan.get(line)
        if cur is not None and cur.level < level and force != "section":
            if self._field_heading(cur, text, line, level):
                return
            probe = SectionDraft(heading=text, line=line, level=level, slug=slug)
            self._read_heading(probe, raw)
            if not probe.alerts:
                phase = phase_of(text)
                if phase is None and _STEP_HEADING.match(text):  # "### Step 2: restart"
                    phase = phase_of(_STEP_HEADING.sub("", text).strip(" :.-–—")) or (
                        cur.phases[-1].phase if cur.phases else "general"
                    )
                if phase is None and (
                    force == "phase" or (cur.alerts and (cur.from_heading or cur.level == 0))
                ):
                    phase = cur.phases[-1].phase if cur.phases else "general"
                if phase is not None and (not probe.prefixed or force == "phase"):
                    cur.phases.append(PhaseDraft(phase, _label(text), line))
                    cur.note(line, f"heading: phase {phase}")
                    cur.collect_symptoms = False
                    self.pending_title = ""
                    self.heading_stack.append((level, text))
                    return
        self.new_section(text, line, level, slug=slug, raw=raw)
        self.heading_stack.append((level, text))

    def _field_heading(self, cur: SectionDraft, text: str, line: int, level: int) -> bool:
        """``### Severity``, ``### Severity: HIGH``, ``### Alerts`` or ``### Symptoms`` under a
        section: a field of it (the value may follow as the next paragraph)."""
        lab = split_label(text)
        if lab is not None and lab[1] and field_of(lab[0]) == "severity":
            if normalize_severity(lab[1]) is None:
                return False
            cur.set_severity(plain(lab[1]), line)
            self.heading_stack.append((level, text))
            return True
        if heading_alert_names(text, text):
            return False
        heading_field = field_of(text)
        if heading_field in ("severity", "threshold", "alert"):
            self.pending_field = heading_field
            cur.note(line, f"heading: field {heading_field}")
            self.heading_stack.append((level, text))
            return True
        if heading_field == "symptoms":
            cur.phases.append(PhaseDraft("detect", clean_label(text) or text, line))
            cur.note(line, "heading: symptoms")
            cur.collect_symptoms = True
            self.pending_title = ""
            self.heading_stack.append((level, text))
            return True
        return False

    def ensure_section(self, line: int) -> SectionDraft:
        """The current section, or one for content before the first heading."""
        if self.current is None:
            heading = self.title or PurePosixPath(self.path).stem or "Runbook"
            # not a heading: its name is not read as alerts, and an H1 that follows takes over
            self.new_section(heading, line, 0, from_heading=False, read=False)
        assert self.current is not None
        return self.current

    # ------------------------------------------------------------- paragraphs

    def paragraph(self, raw: str, line: int) -> None:
        """A paragraph outside lists: fields, phase labels, Problem: entries, titles."""
        self.flush_items()
        sec = self.ensure_section(line)
        physical = raw.split("\n")
        only_line = len(physical) == 1
        for offset, text in enumerate(physical):
            self._paragraph_line(sec, text, line + offset, first=offset == 0, only=only_line)
            sec = self.current or sec

    def _fill_pending_field(self, sec: SectionDraft, raw: str, line: int = 0) -> bool:
        """The paragraph under a ``### Severity``-style heading is that field's value."""
        kind, self.pending_field = self.pending_field, None
        value = plain(raw).strip()
        if not value:
            return False
        if kind == "alert":
            names = _alert_names(raw)
            sec.add_alerts(names)
            sec.note(line, f"field:alert {', '.join(names) or '(no name read)'}")
        elif kind == "severity":
            sec.set_severity(value, line or sec.line)
        elif kind == "threshold" and sec.threshold is None:
            sec.threshold = value
            sec.note(line, f"field:threshold {value}")
        return True

    def _field(self, sec: SectionDraft, label: str, rest: str, line: int) -> bool:
        """An Alert/Alarm, Severity, Threshold or Trigger field with its value: stored on the
        section. A trigger that names alerts (``**Trigger**: `HighErrorRate` fires``) binds them,
        otherwise it is the threshold. False when the label is no such field or has no value."""
        kind = field_of(label)
        if kind is None or not rest.strip():
            return False
        if kind == "alert":
            names = _alert_names(rest)
            sec.add_alerts(names)
            sec.note(line, f"field:alert {', '.join(names) or '(no name read)'}")
            return True
        if kind == "severity":
            sec.set_severity(plain(rest), line)
            return True
        if kind == "threshold":
            if clean_label(label).lower() in ("trigger", "triggered by", "trigger alert"):
                names = [n for n in code_spans(rest) if looks_like_alert_id(n)]
                if names:
                    sec.add_alerts(names)
                    sec.note(line, f"field:alert {', '.join(names)}")
                    return True
            if sec.threshold is None and plain(rest) not in ("|", ">", "|-", ">-", "|+"):
                sec.threshold = plain(rest)  # not a YAML block marker (`expr: |` in a rule)
                sec.note(line, f"field:threshold {sec.threshold}")
            return True
        return False

    def _paragraph_line(
        self, sec: SectionDraft, text: str, line: int, *, first: bool, only: bool
    ) -> None:
        if self.pending_field is not None and first and self._fill_pending_field(sec, text, line):
            return
        lab = split_label(text)
        if "`" in text and _ALERTING_WORDS.search(text):  # "The `RegistryDown` alert fires."
            named = [n for pair in _PROSE_ALERT.findall(text) for n in pair if n]
            named = [n for n in named if looks_like_alert_id(n)]
            if named:
                sec.add_alerts(named)
                sec.note(line, f"field:alert {', '.join(named)} (named in prose)")
        if lab is None:
            spans = code_spans(text)
            if only and len(spans) == 1 and plain(text).rstrip(".,;: ") == spans[0]:
                target = sec.phase_for_step(line)
                target.steps.extend(self.steps.item(line, text, self.pending_title))
            elif inline := self.steps.prose(line, text, ""):  # "run `gitlab-ctl restart`"
                sec.phase_for_step(line).steps.extend(inline)
            elif only and len(plain(text)) <= 100 and text.rstrip().endswith(":"):
                self.pending_title = plain(text).rstrip(":").strip()
            return
        label, rest, bold = lab
        kind = field_of(label)
        if kind in ("alert", "severity", "threshold"):
            self._field(sec, label, rest, line)
            return
        if kind == "symptoms":
            if rest:
                sec.symptoms.append(plain(rest))
            else:
                sec.phases.append(PhaseDraft("detect", _label(label), line))
                sec.collect_symptoms = True
            return
        if kind == "problem" and first and (bold or not rest.startswith("//")) and rest:
            heading = plain(rest).strip("\"'“”‘’ ")
            if heading:
                problem = self.new_section(
                    heading, line, self._base_level() + 1, from_heading=False
                )
                problem.prefixed = True
                return
        phase: str | None = None
        if bold:
            phase = phase_of(label, strict=False)
        elif first and not rest:
            phase = phase_of(label, strict=True)
        if phase is not None:
            sec.phases.append(PhaseDraft(phase, _label(label), line))
            sec.collect_symptoms = False
            self.pending_title = ""
            if rest:
                sec.phases[-1].steps.extend(self.steps.item(line, rest, _label(label)))
            return
        if not rest and (bold or only):
            self.pending_title = _label(label)
        elif (
            bold
            and rest
            and sec.phases
            and sec.phases[-1].phase != "general"
            and first
            and label.strip(" :").lower() not in _NOTE_LABELS
        ):
            # "**Feature flag** rollback: …" inside a phase: an instruction
            sec.phases[-1].steps.extend(self.steps.item(line, text, _label(label)))
        elif rest and (inline := self.steps.prose(line, rest, "")):  # "Tip: `journalctl …`"
            sec.phase_for_step(line).steps.extend(inline)

    # ------------------------------------------------------------- lists

    def item_open(self, line: int) -> None:
        """A list item starts."""
        self.items.append(ItemDraft(line=line))

    def item_paragraph(self, raw: str, line: int) -> None:
        """Text of the current list item (its first paragraph is the item's text)."""
        item = self.items[-1]
        if item.raw is None:
            item.raw, item.raw_line = raw, line
        elif not item.done:
            item.raw += "\n" + raw

    def list_open(self) -> None:
        """A nested list starts: the enclosing item's text becomes a step first."""
        if self.items:
            self.flush_item(self.items[-1])

    def item_close(self) -> None:
        """A list item ends: its text becomes a step unless a code block used it as a title."""
        if self.items:
            self.flush_item(self.items.pop())

    def flush_items(self) -> None:
        """Turn every pending list item into steps (before a heading or paragraph)."""
        for item in self.items:
            self.flush_item(item)

    def flush_item(self, item: ItemDraft) -> None:
        """One list item → field, symptom, or steps (inline commands or a text step)."""
        if item.done or item.raw is None:
            return
        item.done = True
        raw = _TASK_BOX.sub("", item.raw, count=1) if "[" in item.raw else item.raw
        if (
            self.pending_field is not None
            and self.current is not None
            and (self._fill_pending_field(self.current, raw, item.raw_line))
        ):
            return
        item.title = plain(raw).rstrip(":").strip()
        sec = self.ensure_section(item.raw_line)
        lab = split_label(raw.split("\n", 1)[0])
        label = ""
        if lab is not None:
            label, rest, bold = lab
            kind = field_of(label)
            if kind == "alert":
                if _alert_names(rest):
                    self._field(sec, label, rest, item.raw_line)
                    return
            elif kind in ("severity", "threshold") and rest and bold:
                self._field(sec, label, rest, item.raw_line)
                return
            elif kind == "severity" and normalize_severity(plain(rest)) and "\n" not in raw:
                self._field(sec, label, rest, item.raw_line)  # "- Severity: high"
                return
            elif kind == "symptoms" and rest:
                sec.symptoms.append(plain(rest))
                return
            if not bold:
                label = ""
        if sec.collect_symptoms:
            sec.symptoms.append(plain(raw))
            if _ALERTING_WORDS.search(raw):  # "You see alerts like `FailedToCollectMetrics`"
                sec.add_alerts([c for c in code_spans(raw) if looks_like_alert_name(c)])
            return
        if _LINK_ONLY.match(raw):
            return
        phase = sec.phase_for_step(item.raw_line)
        phase.steps.extend(self.steps.item(item.raw_line, raw, _label(label) if label else ""))

    # ------------------------------------------------------------- code and tables

    def code(self, info: str, content: str, first_line: int) -> None:
        """A fenced or indented code block → steps, titled by its list item or label."""
        item = self.items[-1] if self.items else None
        default = self.pending_title
        if item is not None:
            if item.raw is not None and not item.done:
                item.done = True
                item.title = plain(_TASK_BOX.sub("", item.raw, count=1)).rstrip(":").strip()
            default = item.title or default
        sec = self.ensure_section(first_line)
        self.pending_field = None
        if "alert:" in content and info.strip().lower()[:4] in ("yaml", "yml", ""):
            names = _RULE_ALERT.findall(content)[:5]
            sec.add_alerts(names)
            if names:
                sec.note(first_line, f"rule: alert {', '.join(names)}")
                sev = _RULE_SEVERITY.search(content)
                if sev and len(set(_RULE_SEVERITY.findall(content))) == 1:
                    sec.set_severity(sev.group(1), first_line)
        steps = self.steps.block(info, content, first_line, default)
        if steps:
            sec.phase_for_step(steps[0].line).steps.extend(steps)

    def table(self, header: list[str], rows: list[TableRow]) -> None:
        """A table: key/value fields of the section, or one section per listed alert."""
        self.flush_items()
        parent = self.ensure_section(rows[0].line if rows else 1)
        if self._field_table(parent, header, rows):
            return
        alert_rows = alert_table_rows(header, rows)
        if not alert_rows:
            self.severity_rows.extend(severity_rows(header, rows))
        if not alert_rows:  # a table of commands (| Step | Command |): its rows are steps
            commands = self.steps.table_commands(header, rows)
            if commands:
                parent.phase_for_step(commands[0].line).steps.extend(commands)
            return
        for row in alert_rows:
            if row.link and row.link.startswith("#") and not row.actions:
                self.anchor_rows.append((row.link[1:], row))  # bound to that heading at the end
                continue
            sec = SectionDraft(
                heading=row.heading,
                line=row.line,
                level=parent.level + 1,
                slug="",  # given in finish_tables, after every heading has its slug
                ancestors=(*parent.ancestors, parent.heading),
                from_heading=False,
                parent=parent,
                from_table=True,
                runbook_url=row.link if row.link and "://" in row.link else None,
            )
            sec.add_alerts(row.alerts)
            sec.prefixed = True  # a row of an alert table is an incident even without a name
            sec.severity, sec.threshold = row.severity, row.threshold
            sec.note(row.line, f"table row: alert {', '.join(row.alerts) or row.heading}")
            for label, text in row.actions:
                steps = self.steps.item(row.line, text, label)
                sec.phases.append(
                    PhaseDraft(phase_of(label, strict=False) or "mitigate", label, row.line, steps)
                )
            self.sections.append(sec)

    def finish_tables(self) -> None:
        """Bind alert-table rows to the sections they describe, once every heading is known:
        a row linking to ``#anchor`` gives that section its alert and severity; a row whose
        alert (or name) a heading section also has is merged into it (the heading keeps the
        plain slug, so ``#queuedepthhigh`` is the write-up, not the summary row); other rows
        stay sections of their own. Severity tables (``| Incident | Severity |``) give the
        sections they name a severity."""
        headed = [s for s in self.sections if not s.from_table]
        by_slug = {s.slug.lower(): s for s in reversed(headed)}
        for anchor, row in self.anchor_rows:
            target = by_slug.get(anchor.lower())
            if target is None:
                target = SectionDraft(
                    heading=row.heading, line=row.line, level=2, slug="", from_table=True
                )
                target.prefixed = True
                self.sections.append(target)
            self._merge_row(target, row.alerts, row.severity, row.threshold, row.line)
        first: dict[str, int] = {}  # key → first heading section with that alert or heading
        for pos, h in enumerate(headed):  # (an index: N rows × M headings was quadratic)
            for key in {normalize_key(a) for a in h.alerts} | {normalize_key(h.heading)}:
                first.setdefault(key, pos)
        merged: set[int] = set()
        for sec in [s for s in self.sections if s.from_table and not s.slug]:
            keys = {normalize_key(a) for a in sec.alerts} | {normalize_key(sec.heading)}
            hits = [first[k] for k in keys if k in first]
            target = headed[min(hits)] if hits and not sec.phases else None
            if target is not None:
                self._merge_row(target, sec.alerts, sec.severity, sec.threshold, sec.line)
                if sec.runbook_url and target.runbook_url is None:
                    target.runbook_url = sec.runbook_url
                merged.add(id(sec))
                continue
            sec.slug = self.slugs.unique(sec.heading)
        if merged:
            self.sections = [s for s in self.sections if id(s) not in merged]
        if self.severity_rows:
            section_keys = [
                (s, normalize_key(s.heading), {normalize_key(a) for a in s.alerts})
                for s in self.sections
            ]
            for name, severity, line in self.severity_rows:
                key = normalize_key(name)
                for s, heading_key, alert_keys in section_keys:
                    if heading_key == key or key in alert_keys:
                        s.set_severity(severity, line)

    @staticmethod
    def _merge_row(
        target: SectionDraft,
        alerts: list[str],
        severity: str | None,
        threshold: str | None,
        line: int,
    ) -> None:
        target.add_alerts(alerts)
        target.note(line, f"table row: alert {', '.join(alerts) or target.heading}")
        target.set_severity(severity, line)
        if threshold and target.threshold is None:
            target.threshold = threshold

    def _field_table(self, sec: SectionDraft, header: list[str], rows: list[TableRow]) -> bool:
        """A two-column ``| Field | Value |`` table holding Alert/Severity/Threshold fields."""
        if len(header) != 2 or field_of(header[1]) is not None:
            return False  # "| Alert | Severity |" names columns: a table of alerts
        pairs = [(plain(r.cells[0]), r.cells[1]) for r in rows if len(r.cells) >= 2]
        if field_of(header[0]) is not None:  # headerless key/value table: the first pair
            pairs.insert(0, (header[0], header[1]))
        if not any(field_of(k) for k, _ in pairs):
            return False
        found = False
        for key, value in pairs:
            kind = field_of(key)
            if kind == "alert":
                sec.add_alerts(_alert_names(value))
                found = True
            elif kind == "severity" and plain(value) and sec.severity is None:
                sec.severity = plain(value)
                found = True
            elif kind == "threshold" and plain(value) and sec.threshold is None:
                sec.threshold = plain(value)
                found = True
        return found


def _label(text: str) -> str:
    """A document label as shown: markup removed, trailing colon dropped."""
    return plain(text).strip().rstrip(":").strip()
