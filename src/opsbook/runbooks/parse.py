"""Read a Markdown runbook into the typed model (see models.py).

markdown-it-py gives the block structure with source line maps; this module walks the tokens
and hands them to builder.py (headings, labels, fields, list items, tables), which uses
steps.py to turn code and list items into steps. Then front matter and file names bind alerts,
empty sections are dropped and each section gets its kind. ``parse_runbook`` never raises.
"""

from __future__ import annotations

import gc
import re
from pathlib import PurePosixPath

from markdown_it.token import Token

from opsbook.runbooks.blockparse import block_parser
from opsbook.runbooks.builder import Builder, SectionDraft, heading_is_section, heading_text
from opsbook.runbooks.fields import (
    clean_label,
    field_of,
    normalize_severity,
    phase_of,
)
from opsbook.runbooks.frontmatter import split_front_matter, string_values
from opsbook.runbooks.models import Phase, Runbook, Section
from opsbook.runbooks.names import (
    alert_like_in_heading,
    github_slug,
    looks_like_alert_name,
    plain,
)
from opsbook.runbooks.tables import TableRow

_MD = block_parser(setext=False)
_MD_SETEXT = block_parser(setext=True)
_UNDERLINE = re.compile(r"(?m)^ {0,3}(?:=+|-+)[ \t]*$")


def _has_setext(body: str) -> bool:
    """True when some ``===``/``---`` line follows a non-blank line (a setext heading)."""
    for m in _UNDERLINE.finditer(body):
        start = m.start()
        prev_end = start - 1
        if prev_end <= 0:
            continue
        prev_start = body.rfind("\n", 0, prev_end) + 1
        if body[prev_start:prev_end].strip():
            return True
    return False


_INCIDENT_ANCESTOR = re.compile(
    r"\b(?:incidents|alerts|runbooks|troubleshooting|failure modes|failures|issues|problems"
    r"|outages|playbooks|scenarios|common errors)\b",
    re.I,
)
_SEVERITY_HEADING_WORDS = frozenset(
    {"critical", "high", "medium", "low", "warning", "info", "minor", "major", "severity", "levels"}
)


def _label(text: str) -> str:
    """A document label as shown: markup removed, trailing colon dropped."""
    return plain(text).strip().rstrip(":").strip()


_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def blank_comments(body: str) -> str:
    """HTML comments outside code blocks become blank lines (the line count stays, so line
    numbers stay right): a template or a note kept in a comment is neither a phantom section
    before the first heading nor a step."""
    if "<!--" not in body:
        return body
    lines = body.split("\n")
    fence = ""
    in_comment = False
    for i, line in enumerate(lines):
        if in_comment:
            end = line.find("-->")
            if end < 0:
                lines[i] = ""
            else:
                in_comment = False
                lines[i] = " " * (end + 3) + line[end + 3 :]
            continue
        if fence:
            if line.lstrip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            continue
        m = _FENCE_OPEN.match(line)
        if m:
            fence = m.group(1)
            continue
        start = line.find("<!--")
        if start < 0 or line[:start].strip():
            continue
        end = line.find("-->", start + 4)
        if end < 0:
            lines[i] = ""
            in_comment = True
        else:
            lines[i] = " " * (end + 3) + line[end + 3 :]
    return "\n".join(lines)


_NEUTRAL_HEADINGS = frozenset(
    {
        "overview",
        "summary",
        "meaning",
        "impact",
        "description",
        "background",
        "context",
        "about",
        "purpose",
        "details",
        "notes",
        "references",
        "related",
        "links",
        "resources",
        "dashboards",
        "contacts",
        "owner",
        "owners",
        "prerequisites",
        "scope",
        "metadata",
        "see also",
        "quick reference",
        "alert details",
        "alert information",
        "user impact",
        "business impact",
    }
)


def _phase_like(text: str) -> bool:
    return (
        phase_of(text) is not None
        or field_of(text) in ("symptoms", "severity", "alert", "threshold")
        or field_of(text.split(":", 1)[0]) == "severity"
        or bool(re.match(r"(?i)^\s*step\s*\d+\b", text))
    )


def _outline_plan(tokens: list[Token]) -> dict[int, str]:
    """Decide from the heading outline, before the walk, which headings are phases and which
    are sections. The children of a heading are all phases when phase-like ones (Symptoms,
    Diagnosis, Mitigation, Rollback …) are at least as many as the others and nothing below it
    names an alert or an incident (a single-incident runbook: one section with phases, not
    fragments). Otherwise a phase-like child is a section of its own ("Check replication"
    beside "Switch over" in a page of procedures)."""
    heads: list[tuple[int, str, str, int]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and i + 1 < len(tokens):
            raw = tokens[i + 1].content
            line = (tok.map[0] + 1) if tok.map else 1
            heads.append((int(tok.tag[1:] or 2), heading_text(raw), raw, line))
    n = len(heads)
    if n < 2:
        return {}
    parent = [-1] * n
    children: list[list[int]] = [[] for _ in range(n)]
    stack: list[int] = []
    for i, (level, _, _, _) in enumerate(heads):
        while stack and heads[stack[-1]][0] >= level:
            stack.pop()
        if stack:
            parent[i] = stack[-1]
            children[stack[-1]].append(i)
        stack.append(i)
    worthy = [heading_is_section(text, raw) for _, text, raw, _ in heads]
    below = [False] * n  # some descendant is an alert or incident heading
    for i in range(n - 1, -1, -1):
        if parent[i] >= 0 and (worthy[i] or below[i]):
            below[parent[i]] = True
    plan: dict[int, str] = {}
    for i in range(n):
        kids = children[i]
        if not kids or heads[i][3] in plan:
            continue
        strong = sum(1 for k in kids if _phase_like(heads[k][1]))
        neutral = sum(
            1
            for k in kids
            if not _phase_like(heads[k][1])
            and clean_label(heads[k][1]).lower() in _NEUTRAL_HEADINGS
        )
        other = len(kids) - strong - neutral
        # an alert or incident heading keeps its phases even when a sub-heading below looks
        # like an alert name (`### PrometheusRule` under Mitigation is a resource kind)
        may_hold = not below[i] or worthy[i]
        if may_hold and ((strong >= 2 and other <= strong) or (strong >= 1 and not other)):
            end = max(kids) + 1
            while end < n and heads[end][0] > heads[i][0]:
                end += 1
            for k in range(i + 1, end):
                plan[heads[k][3]] = "phase"
        elif not worthy[i]:
            for k in kids:
                if phase_of(heads[k][1]) is not None and not _phase_like_field(heads[k][1]):
                    plan[heads[k][3]] = "section"
    return plan


def _phase_like_field(text: str) -> bool:
    return field_of(text) is not None or field_of(text.split(":", 1)[0]) == "severity"


def _walk(tokens: list[Token], b: Builder) -> None:
    i = 0
    n = len(tokens)
    in_item = 0
    while i < n:
        tok = tokens[i]
        t = tok.type
        line = (tok.map[0] + 1) if tok.map else 1
        if t == "heading_open":
            raw = tokens[i + 1].content if i + 1 < n else ""
            b.heading(int(tok.tag[1:] or 2), raw, line)
            i += 3
            continue
        if t == "paragraph_open":
            raw = tokens[i + 1].content if i + 1 < n else ""
            if in_item:
                b.item_paragraph(raw, line)
            else:
                b.paragraph(raw, line)
            i += 3
            continue
        if t in ("bullet_list_open", "ordered_list_open"):
            b.list_open()
        elif t == "list_item_open":
            in_item += 1
            b.item_open(line)
        elif t == "list_item_close":
            in_item -= 1
            b.item_close()
        elif t in ("fence", "code_block"):
            offset = 1 if t == "fence" else 0
            b.code(tok.info if t == "fence" else "", tok.content, line + offset)
        elif t == "table_open":
            i = _table(tokens, i, b)
            continue
        i += 1
    b.flush_items()


def _table(tokens: list[Token], i: int, b: Builder) -> int:
    header: list[str] = []
    rows: list[TableRow] = []
    cells: list[str] = []
    row_line = 0
    in_head = False
    n = len(tokens)
    while i < n and tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            cells = []
            row_line = (tok.map[0] + 1) if tok.map else 0
        elif tok.type == "inline":
            cells.append(tok.content)
        elif tok.type == "tr_close":
            if in_head:
                header = [plain(c) for c in cells]
            else:
                rows.append(TableRow(row_line, cells))
        i += 1
    if header and rows:
        b.table(header, rows)
    return i + 1


def _front_matter_alerts(fm: dict[str, object]) -> list[str]:
    """Alert names front matter gives: ``alert``/``alertname``/``alerts`` keys, or a title
    written like an alert name (Hugo per-alert pages)."""
    fm_alerts = [
        a
        for key in ("alert", "alertname", "alert_name", "alerts", "alertnames")
        for a in string_values(fm.get(key))
    ]
    fm_title = next(iter(string_values(fm.get("title"))), "")
    if not fm_alerts and fm_title and looks_like_alert_name(fm_title):
        fm_alerts = [fm_title]
    return fm_alerts


def _finish(b: Builder, fm: dict[str, object], line_count: int) -> list[Section]:
    """Front-matter bindings, alert-table rows, the file's own name, inherited severities and
    kinds; drops sections with nothing in them."""
    fm_alerts = _front_matter_alerts(fm)
    root = next((s for s in b.sections if s.level <= 1), b.sections[0] if b.sections else None)
    if root is not None and fm_alerts:
        root.add_alerts(fm_alerts)
    if root is not None:
        for key in ("severity", "priority"):
            vals = string_values(fm.get(key))
            if vals:
                root.set_severity(vals[0], 1)
        vals = string_values(fm.get("threshold"))
        if vals and root.threshold is None:
            root.threshold = vals[0]
    b.finish_tables()
    drafts = sorted(b.sections, key=lambda s: s.line)
    _bind_file_name(b, root, drafts)
    for s in drafts:  # a severity written only on an enclosing section holds for this one
        parent = s.parent
        while s.severity is None and parent is not None:
            if parent.severity is not None:
                s.severity = parent.severity
                s.note(s.line, f"field:severity {parent.severity} (from '{parent.heading}')")
            parent = parent.parent
    kept = {id(s) for s in drafts if _has_content(s)}
    taken = {s.slug for s in drafts if s is not root}
    if root is not None and not root.from_heading and root.slug in taken:
        root.slug = b.slugs.unique(root.heading)  # a front-matter title repeated by a heading
    out: list[Section] = []
    for i, s in enumerate(drafts):
        if id(s) not in kept:
            continue
        phases = tuple(Phase(p.phase, p.label, p.line, tuple(p.steps)) for p in s.phases if p.steps)
        j = i + 1
        while j < len(drafts) and drafts[j].line <= s.line:
            j += 1
        end_line = drafts[j].line - 1 if j < len(drafts) else line_count
        parent = s.parent  # kept or not: its heading still has that anchor
        out.append(
            Section(
                id=s.slug,
                heading=s.heading,
                line=s.line,
                alerts=tuple(s.alerts),
                severity=s.severity,
                severity_normalized=normalize_severity(s.severity),
                threshold=s.threshold,
                symptoms=tuple(s.symptoms),
                phases=phases,
                level=s.level,
                kind=_kind(s, phases),
                parent=parent.slug if parent is not None else None,
                end_line=max(end_line, s.line),
                runbook_url=s.runbook_url,
                readings=tuple(sorted(s.readings)),
            )
        )
    return out


def _has_content(s: SectionDraft) -> bool:
    return any(p.steps for p in s.phases) or bool(s.alerts) or bool(s.symptoms)


def _bind_file_name(b: Builder, root: SectionDraft | None, drafts: list[SectionDraft]) -> None:
    """A file named like an alert (``KafkaBrokerOffline.md``) answers that alert, but only
    when the document reads as that one section: a page of procedures whose file happens to
    be called ``DatabaseOperations.md`` is not an alert, and binding it would leave the
    other sections unreachable and raise false ``no-steps`` errors."""
    stem = PurePosixPath(b.path).stem
    if root is None or any(s.alerts for s in drafts) or "_" in stem or "-" in stem:
        return  # snake/kebab file names are a naming convention (disk-full.md), not alerts
    if not alert_like_in_heading(stem):
        return
    with_steps = [s for s in drafts if any(p.steps for p in s.phases)]
    if with_steps and all(s is root for s in with_steps):
        root.add_alerts([stem])
        root.note(root.line, f"field:alert {stem} (the file's name)")


def _kind(s: SectionDraft, phases: tuple[Phase, ...]) -> str:
    if s.alerts:
        return "alert"
    words = clean_label(s.heading).lower().split()
    if words and all(w in _SEVERITY_HEADING_WORDS or re.fullmatch(r"p\d|sev\d", w) for w in words):
        return "reference"
    if s.prefixed or s.symptoms or any(p.phase == "detect" for p in phases):
        return "incident"
    if any(_INCIDENT_ANCESTOR.search(a) for a in s.ancestors):
        return "incident"
    return "reference"


def _parse(text: str, path: str) -> Runbook:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
    text = text.removeprefix("\ufeff")
    fm, body, error = split_front_matter(text)
    body = blank_comments(body)
    lines = body.split("\n")
    b = Builder(lines, path)
    fm_title = next(iter(string_values(fm.get("title"))), None)
    if fm_title:
        b.title = fm_title
        root = b.new_section(fm_title, 1, 0, from_heading=False, slug=github_slug(fm_title))
        root.add_alerts(_front_matter_alerts(fm))
    md = _MD_SETEXT if _has_setext(body) else _MD
    tokens = md.parse(body)
    b.plan = _outline_plan(tokens)
    _walk(tokens, b)
    title = (
        b.title
        or next((s.heading for s in b.sections if s.from_heading), None)
        or (PurePosixPath(path).stem)
    )
    return Runbook(
        path=path,
        title=title,
        front_matter=fm,
        sections=tuple(_finish(b, fm, len(lines))),
        errors=(error,) if error else (),
    )


def parse_runbook(text: str, path: str) -> Runbook:
    """Parse Markdown runbook text read from ``path``. Never raises: a failure is recorded in
    ``Runbook.errors`` and whatever could be read is returned."""
    # A parse allocates many short-lived objects (tokens, steps) and creates no reference
    # cycles; pausing the cyclic collector for its duration saves about a quarter of the time
    # on large files. It is switched back on even on errors, and only if it was on.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, path)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; the error is kept
        return Runbook(
            path=path,
            title=PurePosixPath(path).stem,
            errors=(f"could not read runbook: {type(exc).__name__}: {exc}",),
        )
    finally:
        if collecting:
            gc.enable()
