"""Tables that list alerts: an alert-name column (or a metric/signal column) next to severity,
threshold, warning/critical or action columns. Each row becomes its own section."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opsbook.runbooks.fields import normalize_severity
from opsbook.runbooks.names import code_spans, looks_like_alert_id, looks_like_alert_name, plain

_ALERT_COLS = ("alert", "alert name", "alertname", "alerts", "alert rule", "rule", "name")
_SUBJECT_COLS = ("metric", "signal", "condition", "check", "symptom", "indicator", "sli")
_SEV_COLS = ("severity", "priority", "sev", "level")
_THR_COLS = (
    "threshold",
    "thresholds",
    "condition",
    "expression",
    "expr",
    "trigger",
    "fires when",
    "when",
    "for",
)
_ACTION_COLS = (
    "action",
    "actions",
    "response",
    "what to do",
    "remediation",
    "mitigation",
    "first steps",
    "next steps",
    "runbook",
    "first response",
    "fix",
)
_EMPTY = ("", "-", "–", "—", "n/a", "na", "none")


@dataclass(frozen=True)
class TableRow:
    """A body row of a Markdown table: its source line and raw cell contents."""

    line: int
    cells: list[str]


@dataclass
class AlertRow:
    """One alert (or monitored signal) listed by a table row."""

    heading: str
    line: int
    alerts: list[str] = field(default_factory=list)
    severity: str | None = None
    threshold: str | None = None
    actions: list[tuple[str, str]] = field(default_factory=list)
    link: str | None = None
    """Where the row's runbook link points (``#anchor`` in this file, or a URL)."""


def _col(header: list[str], names: tuple[str, ...]) -> int | None:
    low = [h.strip().lower() for h in header]
    for name in names:
        if name in low:
            return low.index(name)
    return None


def _cell(row: TableRow, idx: int | None) -> str:
    if idx is None or idx >= len(row.cells):
        return ""
    return row.cells[idx].strip()


def _name_of(raw: str) -> str | None:
    spans = code_spans(raw)
    if (spans and looks_like_alert_name(spans[0])) or (spans and " " not in spans[0]):
        return spans[0]
    text = plain(raw)
    return text if looks_like_alert_name(text) else None


_LINK_COLS = ("runbook", "runbooks", "runbook url", "link", "doc", "docs", "page", "file")
_SUMMARY_COLS = ("summary", "description", "message", "meaning")
_ONLY_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")
_LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]{1,2000})>?(?:\s+\"[^\"]*\")?\s*\)")


def _is_index(header: list[str], rows: list[TableRow]) -> bool:
    """A table of links to runbook pages (an index), not a table of alerts. A generated alert
    table (``| Name | Summary | Severity | Runbook |``, as monitoring mixins publish) links to
    runbooks too, but lists alert names with a severity or summary: that is no index."""
    col = _col(header, _LINK_COLS)
    if col is None:
        return False
    if sum(1 for r in rows if "](" in _cell(r, col)) * 2 < len(rows):
        return False
    targets = [m.group(1) for r in rows if (m := _LINK_TARGET.search(_cell(r, col)))]
    if sum(1 for x in targets if "://" not in x and not x.startswith("#")) * 2 >= len(targets):
        return True  # links to other files of this repository: they hold the write-ups
    name_col = _col(header, _ALERT_COLS)
    if name_col is None or (
        _col(header, _SEV_COLS) is None and _col(header, _SUMMARY_COLS) is None
    ):
        return True
    names = [_cell(r, name_col) for r in rows]
    alerts = sum(1 for raw in names if _strict_name(raw))
    return alerts * 2 < len(rows)


def _strict_name(raw: str) -> str | None:
    spans = code_spans(raw)
    text = spans[0] if spans else plain(raw)
    return text if looks_like_alert_id(text, spans) else None


def _link(row: TableRow, cols: list[int | None]) -> str | None:
    for idx in cols:
        m = _LINK_TARGET.search(_cell(row, idx))
        if m:
            return m.group(1)
    return None


def severity_rows(header: list[str], rows: list[TableRow]) -> list[tuple[str, str, int]]:
    """(name, severity, line) from a table that gives incidents a severity by name
    (``| Incident | Severity | Response time |``): the sections of those names get it."""
    sev_col = _col(header, _SEV_COLS)
    if sev_col is None or sev_col == 0 or len(header) < 2:
        return []
    out = []
    for row in rows:
        name, sev = plain(_cell(row, 0)), plain(_cell(row, sev_col))
        if name and sev and normalize_severity(sev):
            out.append((name, sev, row.line))
    return out


def alert_table_rows(header: list[str], rows: list[TableRow]) -> list[AlertRow]:
    """The alerts a table lists, or nothing when it is not an alert table."""
    header = [h.replace("(s)", "s").strip() for h in header]
    if _is_index(header, rows):
        return []
    alert_col = _col(header, _ALERT_COLS)
    subject_col = _col(header, _SUBJECT_COLS)
    sev_col = _col(header, _SEV_COLS)
    thr_col = _col(header, _THR_COLS)
    if thr_col is not None and thr_col in (alert_col, subject_col):
        thr_col = None
    warn_col = _col(header, ("warning", "warn"))
    crit_col = _col(header, ("critical", "crit", "page"))
    action_col = _col(header, _ACTION_COLS)
    described = any(c is not None for c in (sev_col, thr_col, warn_col, crit_col, action_col))
    out: list[AlertRow] = []
    if alert_col is not None:
        names = [_name_of(_cell(r, alert_col)) for r in rows]
        if sum(1 for nm in names if nm) * 2 < len(rows) or not (
            described or header[alert_col].strip().lower() != "name"
        ):
            alert_col = None
    if alert_col is None and (subject_col is None or not described):
        return out
    for row in rows:
        if alert_col is not None:
            name = _name_of(_cell(row, alert_col))
            if not name:
                continue
            entry = AlertRow(heading=name, line=row.line, alerts=[name])
        else:
            heading = plain(_cell(row, subject_col))
            if not heading:
                continue
            entry = AlertRow(heading=heading, line=row.line)
        sev = plain(_cell(row, sev_col))
        thresholds = []
        if plain(_cell(row, thr_col)).lower() not in _EMPTY:
            thresholds.append(plain(_cell(row, thr_col)))
        for idx, word in ((warn_col, "warning"), (crit_col, "critical")):
            value = plain(_cell(row, idx))
            if idx is not None and value.lower() not in _EMPTY:
                thresholds.append(f"{word} {value}")
                if word == "critical" or not sev:
                    sev = sev if sev and word != "critical" else word
        entry.severity = sev or None
        entry.threshold = "; ".join(thresholds) or None
        entry.link = _link(row, [_col(header, _LINK_COLS), alert_col])
        action = _cell(row, action_col)
        if (
            action_col is not None
            and plain(action).lower() not in _EMPTY
            and not _ONLY_LINK.fullmatch(action.strip())
        ):
            entry.actions.append((header[action_col].strip(), action))
        out.append(entry)
    return out
