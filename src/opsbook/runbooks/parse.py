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

from markdown_it import MarkdownIt
from markdown_it.token import Token

from opsbook.runbooks.builder import Builder, SectionDraft
from opsbook.runbooks.fields import (
    clean_label,
    normalize_severity,
)
from opsbook.runbooks.frontmatter import split_front_matter, string_values
from opsbook.runbooks.models import Phase, Runbook, Section
from opsbook.runbooks.names import (
    github_slug,
    looks_like_alert_name,
    plain,
)
from opsbook.runbooks.tables import TableRow


def _markdown(*, setext: bool) -> MarkdownIt:
    """A block-only CommonMark parser with tables; inline Markdown is read lazily by names.py.
    HTML blocks and link reference definitions are read as text; setext headings only when the
    text has an underline, because that rule is the slowest."""
    md = MarkdownIt("commonmark", {"maxNesting": 40}).enable("table")
    md.core.ruler.disable("inline")
    md.block.ruler.disable(["html_block", "reference"] + ([] if setext else ["lheading"]))
    return md


_MD = _markdown(setext=False)
_MD_SETEXT = _markdown(setext=True)
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


def _finish(b: Builder, fm: dict[str, object]) -> list[Section]:
    """Front-matter bindings, per-file alert names, kinds; drops sections with nothing in them."""
    fm_alerts = _front_matter_alerts(fm)
    root = next((s for s in b.sections if s.level <= 1), b.sections[0] if b.sections else None)
    if root is not None and fm_alerts:
        root.add_alerts(fm_alerts)
    if root is not None:
        for key in ("severity", "priority"):
            vals = string_values(fm.get(key))
            if vals and root.severity is None:
                root.severity = vals[0]
        vals = string_values(fm.get("threshold"))
        if vals and root.threshold is None:
            root.threshold = vals[0]
    stem = PurePosixPath(b.path).stem
    if root is not None and not any(s.alerts for s in b.sections) and looks_like_alert_name(stem):
        root.add_alerts([stem])
    out: list[Section] = []
    for s in sorted(b.sections, key=lambda s: s.line):
        phases = tuple(Phase(p.phase, p.label, p.line, tuple(p.steps)) for p in s.phases if p.steps)
        if not phases and not s.alerts and not s.symptoms:
            continue
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
            )
        )
    return out


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
    lines = body.split("\n")
    b = Builder(lines, path)
    fm_title = next(iter(string_values(fm.get("title"))), None)
    if fm_title:
        b.title = fm_title
        root = b.new_section(fm_title, 1, 0, from_heading=False, slug=github_slug(fm_title))
        root.add_alerts(_front_matter_alerts(fm))
    md = _MD_SETEXT if _has_setext(body) else _MD
    _walk(md.parse(body), b)
    title = (
        b.title
        or next((s.heading for s in b.sections if s.from_heading), None)
        or (PurePosixPath(path).stem)
    )
    return Runbook(
        path=path,
        title=title,
        front_matter=fm,
        sections=tuple(_finish(b, fm)),
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
