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
    looks_like_alert_name,
    plain,
)
from opsbook.runbooks.steps import StepMaker
from opsbook.runbooks.tables import TableRow, alert_table_rows

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


def _alert_names(text: str) -> list[str]:
    """Alert names in a field value: backticked names first, else name-like words."""
    spans = [s for s in code_spans(text) if re.fullmatch(r"[A-Za-z][\w:.\-]{1,120}", s)]
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
        self.items: list[ItemDraft] = []
        self.pending_title = ""
        self.pending_field: str | None = None
        self.title: str | None = None

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
    ) -> SectionDraft:
        """Open a section (from a heading, a Problem: label or a table row)."""
        sec = SectionDraft(
            heading=heading,
            line=line,
            level=level,
            slug=slug or self.slugs.unique(heading),
            ancestors=tuple(t for lvl, t in self.heading_stack if 1 < lvl < level),
            from_heading=from_heading,
        )
        self._read_heading(sec, raw)
        self.sections.append(sec)
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
                sec.severity = sev.group(1).strip()
            names = _alert_names(_SEV_PAREN.sub("", rest))
            sec.add_alerts(names[:1] if names else [])
            sec.prefixed = not names  # "Alert: High CPU usage" is an incident by that name
            return
        m = _PREFIXED.match(text)
        if m:
            sec.prefixed = True
            return
        core = _LEADING_MARKS.sub("", text)
        core = _HEADING_NUMBER.sub("", core, count=1) if core[:1].isdigit() else core
        tokens = core.replace("`", " ").split()
        spans = code_spans(raw) if "`" in raw else []
        if tokens and tokens[0][-1:] in (":", ","):  # "KubeAPIDown: the API is unreachable"
            tokens = [tokens[0][:-1], ":", *tokens[1:]]
        if (
            tokens
            and looks_like_alert_name(tokens[0])
            and (
                len(tokens) == 1
                or tokens[1] in ("-", "–", "—", ":", "|")
                or tokens[1].lower() in ("alert", "alerts", "firing", "fires", "is")
                or tokens[1].startswith(("(", "["))
                or (spans and spans[0] == tokens[0])
            )
        ):
            sec.add_alerts([tokens[0]])
        sev = _SEV_PAREN.search(core)
        if sev and _STRICT_SEVERITY.fullmatch(sev.group(1).strip()):
            value = sev.group(1).strip()
            # a bare word such as "(Critical)" is a severity only next to an alert name;
            # "(P1)" or "(severity: high)" is one anywhere
            if sec.alerts or re.search(r"(?i)\bp\d|sev|severity", sev.group(0)):
                sec.severity = value

    def heading(self, level: int, raw: str, line: int) -> None:
        """A heading: a phase or field of the current section when deeper and named so, else a
        new section."""
        self.flush_items()
        self.pending_field = None
        text = plain(raw) or raw.strip()
        slug = self.slugs.unique(text)
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
            self.current = cur = None
            self.new_section(text, line, level, slug=slug, raw=raw).add_alerts(carried.alerts)
            self.heading_stack.append((level, text))
            return
        if cur is not None and cur.level < level:
            probe = SectionDraft(heading=text, line=line, level=level, slug=slug)
            self._read_heading(probe, raw)
            if not probe.alerts:
                heading_field = field_of(text)
                if heading_field in ("severity", "threshold", "alert"):
                    self.pending_field = heading_field
                    self.heading_stack.append((level, text))
                    return
                if heading_field == "symptoms":
                    cur.phases.append(PhaseDraft("detect", clean_label(text) or text, line))
                    cur.collect_symptoms = True
                    self.pending_title = ""
                    self.heading_stack.append((level, text))
                    return
                phase = phase_of(text)
                if phase is None and _STEP_HEADING.match(text):  # "### Step 2: restart"
                    phase = phase_of(_STEP_HEADING.sub("", text).strip(" :.-–—")) or (
                        cur.phases[-1].phase if cur.phases else "general"
                    )
                if phase is None and cur.alerts and (cur.from_heading or cur.level == 0):
                    phase = cur.phases[-1].phase if cur.phases else "general"
                if phase is not None and not probe.prefixed:
                    cur.phases.append(PhaseDraft(phase, _label(text), line))
                    cur.collect_symptoms = False
                    self.pending_title = ""
                    self.heading_stack.append((level, text))
                    return
        self.new_section(text, line, level, slug=slug, raw=raw)
        self.heading_stack.append((level, text))

    def ensure_section(self, line: int) -> SectionDraft:
        """The current section, or one for content before the first heading."""
        if self.current is None:
            heading = self.title or PurePosixPath(self.path).stem or "Runbook"
            self.new_section(heading, line, 0)
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

    def _fill_pending_field(self, sec: SectionDraft, raw: str) -> bool:
        """The paragraph under a ``### Severity``-style heading is that field's value."""
        kind, self.pending_field = self.pending_field, None
        value = plain(raw).strip()
        if not value:
            return False
        if kind == "alert":
            sec.add_alerts(_alert_names(raw))
        elif kind == "severity" and sec.severity is None:
            sec.severity = value
        elif kind == "threshold" and sec.threshold is None:
            sec.threshold = value
        return True

    def _paragraph_line(
        self, sec: SectionDraft, text: str, line: int, *, first: bool, only: bool
    ) -> None:
        if self.pending_field is not None and first and self._fill_pending_field(sec, text):
            return
        lab = split_label(text)
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
        if kind == "alert":
            sec.add_alerts(_alert_names(rest))
            return
        if kind == "severity":
            if rest and sec.severity is None:
                sec.severity = plain(rest)
            return
        if kind == "threshold":
            if rest and sec.threshold is None:
                sec.threshold = plain(rest)
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
            and (self._fill_pending_field(self.current, raw))
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
                names = _alert_names(rest)
                if names:
                    sec.add_alerts(names)
                    return
            elif kind in ("severity", "threshold") and rest and bold:
                if kind == "severity" and sec.severity is None:
                    sec.severity = plain(rest)
                elif kind == "threshold" and sec.threshold is None:
                    sec.threshold = plain(rest)
                return
            elif kind == "symptoms" and rest:
                sec.symptoms.append(plain(rest))
                return
            if not bold:
                label = ""
        if sec.collect_symptoms:
            sec.symptoms.append(plain(raw))
            if "alert" in raw.lower():  # "You see alerts like `FailedToCollectMetrics`"
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
        if "alert:" in content and info.strip().lower() in ("yaml", "yml", ""):
            sec.add_alerts(_RULE_ALERT.findall(content)[:5])
        steps = self.steps.block(info, content, first_line, default)
        if steps:
            sec.phase_for_step(steps[0].line).steps.extend(steps)

    def table(self, header: list[str], rows: list[TableRow]) -> None:
        """A table: key/value fields of the section, or one section per listed alert."""
        self.flush_items()
        parent = self.ensure_section(rows[0].line if rows else 1)
        if self._field_table(parent, header, rows):
            return
        for row in alert_table_rows(header, rows):
            sec = SectionDraft(
                heading=row.heading,
                line=row.line,
                level=parent.level + 1,
                slug=self.slugs.unique(row.heading),
                ancestors=(*parent.ancestors, parent.heading),
                from_heading=False,
            )
            sec.add_alerts(row.alerts)
            sec.prefixed = True  # a row of an alert table is an incident even without a name
            sec.severity, sec.threshold = row.severity, row.threshold
            for label, text in row.actions:
                steps = self.steps.item(row.line, text, label)
                sec.phases.append(
                    PhaseDraft(phase_of(label, strict=False) or "mitigate", label, row.line, steps)
                )
            self.sections.append(sec)

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
