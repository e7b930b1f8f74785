"""Per-document review on top of lint findings: what the reader could not classify and why,
and a 0–100 score an author can act on (the top reasons it is lower, with the points each
costs). The scoring table is documented in docs/runbook-format.md ("Lint score").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from opsbook.runbooks.lint import Finding
from opsbook.runbooks.models import Runbook, Section
from opsbook.runbooks.parse import blank_comments

# points lost per finding (or document-level reason) and the most one reason may cost
PENALTIES: dict[str, tuple[int, int]] = {
    "read-error": (100, 100),
    "no-steps": (15, 45),
    "destructive-without-warning": (10, 40),
    "duplicate-alert": (10, 30),
    "unknown-safety": (5, 30),
    "unknown-kind": (3, 15),
    "interactive-step": (2, 10),
    "undefined-variable": (2, 10),
    "read-as-prose": (4, 20),
    "duplicate-heading": (3, 9),
    "no-severity": (2, 10),
}
_OTHER = (3, 15)
REASONS: dict[str, str] = {
    "read-error": "the file could not be read",
    "no-steps": "alert sections without any step",
    "destructive-without-warning": "destructive steps without a warning",
    "duplicate-alert": "alerts bound by two sections",
    "unknown-safety": "commands of unknown safety (run as destructive)",
    "unknown-kind": "code blocks in a language that is not a command",
    "interactive-step": "interactive or never-ending commands (never auto-run)",
    "undefined-variable": "variables no service defines",
    "read-as-prose": "lines that look like commands but were read as prose",
    "duplicate-heading": "headings used by two sections (ids get -1, -2)",
    "no-severity": "alert sections without a severity",
}


@dataclass(frozen=True)
class Unclassified:
    """A source line the reader could not classify for sure, and why."""

    line: int
    text: str
    why: str


@dataclass(frozen=True)
class DocumentReview:
    """One runbook's score (0–100), the reasons it is lower and what was not classified."""

    path: str
    score: int
    reasons: tuple[tuple[str, int, int], ...]
    """(reason code, how many, points lost), the costliest first."""
    unclassified: tuple[Unclassified, ...]

    def summary(self) -> str:
        """``path: score 82/100 — −10 2× unknown-safety (…), …`` on one line."""
        head = f"{self.path}: score {self.score}/100"
        if not self.reasons:
            return head
        parts = [
            f"−{lost} {count}× {REASONS.get(code, code)}" for code, count, lost in self.reasons[:4]
        ]
        return head + " — " + "; ".join(parts)


_COMMANDISH = re.compile(
    r"^\s*(?:\$\s+|sudo\s+|(?:kubectl|oc|helm|docker|podman|systemctl|journalctl|curl|wget|psql"
    r"|mysql|redis-cli|aws|gcloud|az|terraform|ansible|ssh|scp|rsync|rm|mv|cp|chmod|chown"
    r"|kill|pkill|reboot|shutdown|apt|apt-get|yum|dnf|pip|npm|git|make|service|iptables)\s+\S)"
)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


def _covered_lines(rb: Runbook) -> set[int]:
    lines: set[int] = set()
    for s in rb.sections:
        for st in s.steps:
            lines.update(range(st.line, st.line + st.text.count("\n") + 1))
    return lines


def _prose_commands(rb: Runbook, text: str) -> list[Unclassified]:
    """Lines outside code blocks that start like a command line but are in no step."""
    covered = _covered_lines(rb)
    out: list[Unclassified] = []
    fence = ""
    text = blank_comments(text.replace("\r\n", "\n"))
    for n, line in enumerate(text.split("\n"), 1):
        m = _FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = ""
            continue
        if m:
            fence = m.group(1)
            continue
        body = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line)
        if n not in covered and _COMMANDISH.match(body) and not body.rstrip().endswith(":"):
            out.append(Unclassified(n, body.strip(), "looks like a command but was read as prose"))
    return out


def _duplicate_headings(rb: Runbook) -> list[Unclassified]:
    seen: dict[str, list[Section]] = {}
    for s in rb.sections:
        seen.setdefault(s.heading, []).append(s)
    out = []
    for heading, secs in seen.items():
        if len(secs) < 2:
            continue
        ids = ", ".join(s.id for s in secs)
        qualified = ", ".join(f"{s.parent}/{s.id}" for s in secs if s.parent)
        out.append(
            Unclassified(
                secs[1].line,
                heading,
                f"heading used by {len(secs)} sections ({ids}); FILE#{secs[0].id} is the first "
                f"one — link by id{' or parent/id (' + qualified + ')' if qualified else ''}",
            )
        )
    return out


def review(rb: Runbook, findings: Iterable[Finding], text: str | None = None) -> DocumentReview:
    """Score one runbook from its lint findings plus document-level checks (command-like prose
    lines when ``text`` is given, duplicate headings, alert sections without a severity)."""
    mine = [f for f in findings if f.path == rb.path]
    counts: Counter[str] = Counter(f.code for f in mine)
    unclassified: list[Unclassified] = []
    for s in rb.sections:
        for st in s.steps:
            if st.executable and st.safety == "unknown":
                unclassified.append(Unclassified(st.line, st.text.split("\n", 1)[0], st.reason))
            elif getattr(st, "interactive", False):
                why = getattr(st, "interactive_reason", "") or "interactive"
                unclassified.append(Unclassified(st.line, st.text.split("\n", 1)[0], why))
        if s.alerts and s.severity_normalized is None:
            counts["no-severity"] += 1
            unclassified.append(
                Unclassified(
                    s.line,
                    s.heading,
                    "alert section without a severity (no Severity field, heading, rule label "
                    "or enclosing section gives one)",
                )
            )
    dups = _duplicate_headings(rb)
    counts["duplicate-heading"] += len(dups)
    unclassified += dups
    if text is not None:
        prose = _prose_commands(rb, text)
        counts["read-as-prose"] += len(prose)
        unclassified += prose
    reasons = []
    for code, count in counts.items():
        if not count:
            continue
        each, cap = PENALTIES.get(code, _OTHER)
        reasons.append((code, count, min(each * count, cap)))
    reasons.sort(key=lambda r: (-r[2], r[0]))
    score = max(0, 100 - sum(lost for _, _, lost in reasons))
    return DocumentReview(
        rb.path, score, tuple(reasons), tuple(sorted(unclassified, key=lambda u: u.line))
    )
