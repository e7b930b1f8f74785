"""Vocabulary of runbooks: phase words, field labels (Alert, Severity, Threshold, Symptoms)
and severity normalisation to P0–P3.

Severity mapping (documented in docs/runbook-format.md): an explicit ``P0``–``P3`` in the text
wins (``Warning (P1)`` → P1); ``SEV0``/``SEV1`` → P0, ``SEV2`` → P1, ``SEV3`` → P2, ``SEV4``+ → P3;
``S1``–``S4`` (GitLab) like SEV1–SEV4; otherwise words: critical/emergency/fatal/page/disaster
→ P0, high/major/error → P1,
warning/medium/moderate/average → P2, low/minor/info/notice/none → P3.
"""

from __future__ import annotations

import functools
import re

_PHASE_WORDS: dict[str, str] = {}
for _phase, _words in {
    "detect": "detect detection detecting detected meaning impact description acknowledge "
    "acknowledgment acknowledgement acknowledge-assess identification alerting signals",
    "investigate": "investigate investigation investigations investigating triage diagnosis "
    "diagnose diagnosing diagnostic diagnostics check checks checking debug debugging "
    "troubleshoot troubleshooting analysis analyze analyse assess assessment inspect "
    "inspection understand causes cause",
    "mitigate": "mitigate mitigation mitigations mitigating remediate remediation remediations "
    "resolve resolution resolving rollback rollbacks fix fixes fixing recovery recover "
    "recovering restore failover workaround workarounds solution solutions repair respond response "
    "procedure procedures runbook",
    "validate": "validate validation validating verify verification verifying confirm confirmation",
    "escalate": "escalate escalation escalations escalating",
    "postmortem": "postmortem postmortems prevention prevent preventive preventative followup "
    "followups retrospective retro lessons aftermath",
}.items():
    for _w in _words.split():
        _PHASE_WORDS[_w] = _phase

_PHASE_PHRASES: tuple[tuple[str, str], ...] = (
    ("immediate actions", "mitigate"),
    ("immediate action", "mitigate"),
    ("immediate steps", "mitigate"),
    ("first response", "mitigate"),
    ("roll back", "mitigate"),
    ("post mortem", "postmortem"),
    ("post incident", "postmortem"),
    ("follow up", "postmortem"),
    ("follow ups", "postmortem"),
    ("after resolution", "postmortem"),
    ("lessons learned", "postmortem"),
    ("root cause", "investigate"),
    ("how to detect", "detect"),
    ("how to fix", "mitigate"),
    ("what to do", "mitigate"),
    ("next steps", "mitigate"),
    ("actions to take", "mitigate"),
    ("action items", "postmortem"),
    ("quick checks", "investigate"),
    ("health checks", "investigate"),
)
_WEAK = frozenset(
    {
        "causes",
        "cause",
        "procedure",
        "procedures",
        "runbook",
        "response",
        "respond",
        "check",
        "checks",
        "restore",
        "understand",
        "impact",
        "description",
        "alerting",
        "signals",
    }
)
_FILLER = frozenset(
    {
        "steps",
        "step",
        "actions",
        "action",
        "the",
        "and",
        "to",
        "a",
        "an",
        "of",
        "for",
        "how",
        "quick",
        "initial",
        "next",
        "manual",
        "detailed",
        "possible",
        "common",
        "further",
        "additional",
        "general",
        "tasks",
        "items",
        "plan",
        "process",
        "options",
        "notes",
        "guide",
    }
)
_NUMBERING = re.compile(
    r"^\s*(?:(?:step|phase|part|section)\s*)?(?:[0-9]{1,4}(?:[.)][0-9]{1,4}){0,5}[.)]?|[ivx]{1,5}[.)]|[a-z][.)])\s+",
    re.I,
)
_PAREN = re.compile(r"\([^()]{0,200}\)|\[[^\[\]]{0,200}\]")


@functools.lru_cache(maxsize=8192)
def clean_label(text: str) -> str:
    """A heading or label without numbering, parentheses, emoji and trailing colon."""
    text = _NUMBERING.sub("", text)
    text = _PAREN.sub("", text)
    text = re.sub(r"[^\w\s&/'’+-]", " ", text)
    return re.sub(r"\s+", " ", text).strip(" :-–—")


@functools.lru_cache(maxsize=8192)
def phase_of(label: str, *, strict: bool = True) -> str | None:
    """The phase a heading or label names (``Diagnosis Steps`` → investigate), else None.

    With ``strict`` (headings), a phase word must open the label, or the label must be short,
    so an incident called "Redis recovery failure" is not mistaken for a phase.
    """
    words = re.sub(r"[^a-z0-9]+", " ", clean_label(label).lower()).split()
    if not words:
        return None
    joined = " ".join(words)
    for phrase, phase in _PHASE_PHRASES:
        if joined.startswith(phrase) or (not strict and f" {phrase}" in f" {joined}"):
            return phase
    content = [w for w in words if w not in _FILLER]
    if not content:
        return None
    first = content[0]
    if first in _PHASE_WORDS and first not in _WEAK:
        return _PHASE_WORDS[first]
    limit = 3 if strict else 6
    strong = [w for w in content if w in _PHASE_WORDS and w not in _WEAK]
    if strong and len(content) <= limit:
        return _PHASE_WORDS[strong[0]]
    if first in _PHASE_WORDS and len(content) <= 2:
        return _PHASE_WORDS[first]
    return None


FIELD_ALIASES: dict[str, str] = {
    "alert": "alert",
    "alerts": "alert",
    "alarm": "alert",
    "alarms": "alert",
    "alarm name": "alert",
    "alert id": "alert",
    "alert rule": "alert",
    "alert name": "alert",
    "alertname": "alert",
    "alert names": "alert",
    "alerting rule": "alert",
    "prometheus alert": "alert",
    "related alerts": "alert",
    "triggered by": "alert",
    "severity": "severity",
    "priority": "severity",
    "sev": "severity",
    "level": "severity",
    "threshold": "threshold",
    "thresholds": "threshold",
    "condition": "threshold",
    "trigger": "threshold",
    "fires when": "threshold",
    "expression": "threshold",
    "expr": "threshold",
    "symptoms": "symptoms",
    "symptom": "symptoms",
    "signs": "symptoms",
    "what you see": "symptoms",
    "problem": "problem",
    "issue": "problem",
}


@functools.lru_cache(maxsize=8192)
def field_of(label: str) -> str | None:
    """The field a label names: alert, severity, threshold, symptoms or problem."""
    key = re.sub(r"\s+", " ", clean_label(label).lower())
    return FIELD_ALIASES.get(key)


_LABEL_LINE = re.compile(
    r"""^\s*(?:[-*+]\s+|\d+[.)]\s+)?(?:\[[ xX]\]\s+)?
    (?:(?P<b>\*\*|__|\*|_)(?P<bold>[^*_`\n]{1,60}?)\s*(?P<bc>:?)\s*(?P=b)\s*(?P<bc2>:?)
      |(?P<plainlabel>[A-Za-z][\w /&'-]{0,40}?)\s*(?P<pc>:))
    \s*(?P<rest>.*)$""",
    re.X | re.S,
)


@functools.lru_cache(maxsize=8192)
def split_label(line: str) -> tuple[str, str, bool] | None:
    """Split ``**Label:** rest``, ``**Label**: rest``, ``*Label*: rest``, ``**Label**`` or
    ``Label: rest``.

    Returns (label, rest, bold). A plain ``Label:`` counts only when the label is short.
    """
    m = _LABEL_LINE.match(line)
    if not m:
        return None
    if m.group("bold") is not None:
        return m.group("bold").strip(), m.group("rest").strip(), True
    label = m.group("plainlabel").strip()
    if len(label.split()) > 4:
        return None
    return label, m.group("rest").strip(), False


_P_LEVEL = re.compile(r"\bP\s?-?([0-9])\b", re.I)
_SEV_LEVEL = re.compile(r"\bSEV(?:ERITY)?\s?-?([0-9])\b", re.I)
_S_LEVEL = re.compile(r"^\s*S([1-5])\b")  # GitLab's S1 (blocker) … S4
_SEVERITY_WORDS: tuple[tuple[str, str], ...] = (
    ("critical", "P0"),
    ("crit", "P0"),
    ("emergency", "P0"),
    ("fatal", "P0"),
    ("page", "P0"),
    ("disaster", "P0"),
    ("blocker", "P0"),
    ("urgent", "P0"),
    ("high", "P1"),
    ("major", "P1"),
    ("error", "P1"),
    ("severe", "P1"),
    ("warning", "P2"),
    ("warn", "P2"),
    ("medium", "P2"),
    ("moderate", "P2"),
    ("average", "P2"),
    ("low", "P3"),
    ("minor", "P3"),
    ("info", "P3"),
    ("informational", "P3"),
    ("notice", "P3"),
    ("none", "P3"),
    ("trivial", "P3"),
    ("ticket", "P3"),
)


@functools.lru_cache(maxsize=8192)
def normalize_severity(text: str | None) -> str | None:
    """P0–P3 for a severity as written (``Critical (P0)``, ``warning``, ``SEV2``), else None."""
    if not text:
        return None
    m = _P_LEVEL.search(text)
    if m:
        return f"P{min(int(m.group(1)), 3)}"
    m = _SEV_LEVEL.search(text) or _S_LEVEL.search(text)
    if m:
        return f"P{min(max(int(m.group(1)) - 1, 0), 3)}"
    words = re.findall(r"[a-z]+", text.lower())
    for word, level in _SEVERITY_WORDS:
        if word in words:
            return level
    return None


WARNING_WORDS = re.compile(
    r"\b(?:warn(?:ing|s)?|caution|careful(?:ly)?|danger(?:ous)?|destructive|irreversibl[ey]"
    r"|cannot be undone|can't be undone|data loss|lose data|loses data|use with care|beware"
    r"|double[- ]check|deletes? (?:all|every))\b|⚠|☢|🛑|❗|‼",
    re.I,
)
