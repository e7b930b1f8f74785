"""Find the runbook section written for an alert.

Rules, tried in order (the first that finds something wins; ``Match.rule`` records which):
1. ``exact`` — the alert name is bound to a section (score 1.0);
2. ``normalized`` — the same name ignoring case and punctuation: ``HighErrorRate`` =
   "High Error Rate" = ``high-error-rate``, against bound names and headings (score 0.9);
3. ``runbook_url`` — the alert's ``runbook_url`` annotation names a loaded file (by path
   suffix or page name) and optionally a section ``#anchor`` (score 0.8);
4. ``fulltext`` — BM25 of the alert name, summary, description and label values against
   section headings, alert names and symptoms; a *suggestion*, scored with the BM25 score and
   accepted only above ``min_score`` with enough of the alert name's words matched.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from opsbook.runbooks.bm25 import BM25, tokens
from opsbook.runbooks.fields import clean_label
from opsbook.runbooks.models import Runbook, Section
from opsbook.runbooks.names import github_slug, normalize_key

RULES = ("exact", "normalized", "runbook_url", "fulltext")
_PREFIX = re.compile(
    r"^(?:runbook|problem|incident|issue|alert(?:\s*name)?|scenario|playbook|failure|case"
    r"|symptom|q|question)\s*#?\d*\s*[:\-–—]\s*",
    re.I,
)
_TEXT_ANNOTATIONS = ("summary", "description", "message", "title")
_SKIP_LABELS = frozenset(
    {
        "severity",
        "prometheus",
        "instance",
        "endpoint",
        "pod",
        "container",
        "namespace",
        "receiver",
        "le",
        "quantile",
        "replica",
        "id",
        "uid",
        "fingerprint",
    }
)


@dataclass(frozen=True)
class Match:
    """The section found for an alert, the rule that found it and its score."""

    section: Section
    runbook: Runbook
    rule: str
    score: float

    @property
    def suggested(self) -> bool:
        """True for a full-text match, shown to people as a suggestion."""
        return self.rule == "fulltext"


def heading_key(heading: str) -> str:
    """Normalised key of a heading: prefixes (``Runbook:``), numbering, parentheses dropped."""
    return normalize_key(clean_label(_PREFIX.sub("", heading.strip())))


def _exact(catalog: Sequence[Runbook], alertname: str) -> Match | None:
    found = [(rb, s) for rb in catalog for s in rb.sections if alertname in s.alerts]
    if not found:
        return None
    rb, s = next(((rb, s) for rb, s in found if s.steps), found[0])  # one with steps first
    return Match(s, rb, "exact", 1.0)


def _normalized(catalog: Sequence[Runbook], alertname: str) -> Match | None:
    key = normalize_key(alertname)
    if not key:
        return None
    for rb in catalog:
        for s in rb.sections:
            if any(normalize_key(a) == key for a in s.alerts):
                return Match(s, rb, "normalized", 0.9)
    for rb in catalog:
        for s in rb.sections:
            if heading_key(s.heading) == key:
                return Match(s, rb, "normalized", 0.9)
    return None


def _url_parts(url: str) -> tuple[list[str], str]:
    parts = urlsplit(url.strip())
    segments = [unquote(p) for p in parts.path.split("/") if p]
    return segments, unquote(parts.fragment)


def _path_score(segments: list[str], path: str) -> int:
    """How many trailing path segments agree (0 when the file name does not match)."""
    file_parts = [p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in ("/", ".")]
    if not segments or not file_parts:
        return 0
    last = re.sub(r"\.(md|markdown|html?)$", "", segments[-1], flags=re.I).lower()
    stem = PurePosixPath(file_parts[-1]).stem.lower()
    if last != stem and segments[-1] != file_parts[-1]:
        return 0
    n = 1
    while n < min(len(segments), len(file_parts)) and (
        segments[-1 - n].lower() == file_parts[-1 - n].lower()
    ):
        n += 1
    return n


def _runbook_url(
    catalog: Sequence[Runbook], alertname: str, annotations: Mapping[str, str]
) -> Match | None:
    url = next(
        (
            str(annotations[k])
            for k in ("runbook_url", "runbook", "runbookUrl", "runbook_link")
            if annotations.get(k)
        ),
        "",
    )
    if not url:
        return None
    segments, fragment = _url_parts(url)
    ranked = sorted(
        ((_path_score(segments, rb.path), i) for i, rb in enumerate(catalog)), reverse=True
    )
    if not ranked or ranked[0][0] == 0:
        return None
    rb = catalog[ranked[0][1]]
    if not rb.sections:
        return None
    if fragment:
        frag = fragment.lower()
        for s in rb.sections:
            if frag in (s.id.lower(), github_slug(s.heading)):
                return Match(s, rb, "runbook_url", 0.8)
    for s in rb.sections:
        if alertname in s.alerts or any(
            normalize_key(a) == normalize_key(alertname) for a in s.alerts
        ):
            return Match(s, rb, "runbook_url", 0.8)
    best = max(rb.sections, key=lambda s: (bool(s.alerts), len(s.steps) > 0, -s.line))
    return Match(best, rb, "runbook_url", 0.8)


_Index = tuple[list[list[str]], list[tuple[Runbook, Section]], BM25]
_INDEXES: dict[tuple[int, ...], tuple[tuple[Runbook, ...], _Index]] = {}
_INDEX_LOCK = threading.Lock()


def _index(catalog: Sequence[Runbook]) -> _Index:
    """The BM25 index of a catalog's sections, kept for the last few catalogs: runbooks are
    immutable, so the same runbook objects always give the same index."""
    key = tuple(id(rb) for rb in catalog)
    with _INDEX_LOCK:
        hit = _INDEXES.get(key)
    if hit is not None:
        return hit[1]
    docs: list[list[str]] = []
    where: list[tuple[Runbook, Section]] = []
    for rb in catalog:
        for s in rb.sections:
            text = " ".join([s.heading, s.heading, *s.alerts, *s.symptoms, s.threshold or ""])
            docs.append(tokens(text))
            where.append((rb, s))
    built: _Index = (docs, where, BM25(docs))
    with _INDEX_LOCK:
        if len(_INDEXES) >= 8:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[key] = (tuple(catalog), built)  # holding the runbooks keeps their ids unique
    return built


def _fulltext(
    catalog: Sequence[Runbook],
    alertname: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    min_score: float,
) -> Match | None:
    docs, where, index = _index(catalog)
    if not docs:
        return None
    name_terms = tokens(alertname)
    query = list(name_terms)
    for key in _TEXT_ANNOTATIONS:
        if annotations.get(key):
            query.extend(tokens(str(annotations[key])))
    for key, value in labels.items():
        if key not in _SKIP_LABELS and key != "alertname":
            query.extend(tokens(str(value)))
    if not query:
        return None
    best_i, best = -1, 0.0
    for i in range(len(docs)):
        score = index.score(query, i)
        if score > best:
            best_i, best = i, score
    if best_i < 0 or best < min_score:
        return None
    matched = set(docs[best_i]) & set(query)
    name_hits = set(name_terms) & set(docs[best_i])
    if len(matched) < 2 and not (name_terms and len(name_hits) * 2 >= len(set(name_terms))):
        return None
    rb, s = where[best_i]
    return Match(s, rb, "fulltext", round(best, 3))


def match_section(
    catalog: list[Runbook],
    alertname: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    *,
    min_score: float = 1.0,
) -> Match | None:
    """The section for an alert, by the first rule that finds one; None when nothing fits.

    ``catalog`` should be the runbooks of the alert's service: every rule searches only it.
    """
    return (
        _exact(catalog, alertname)
        or _normalized(catalog, alertname)
        or _runbook_url(catalog, alertname, annotations)
        or _fulltext(catalog, alertname, labels, annotations, min_score)
    )
