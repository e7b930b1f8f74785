"""The runbooks pages of the web UI: ``/ui/runbooks`` (list and search) and ``/ui/runbooks/{id}``.

A tenant sees the runbooks its services name, as loaded at start or the last reload (the same
catalog the API's ``/api/v1/runbooks`` reads). A runbook's page shows its source Markdown
rendered *sanitised*: raw HTML is escaped (markdown-it with ``html`` off), only ``http``,
``https``, ``mailto`` and relative link targets survive, and every link gets
``rel="noopener noreferrer"``. Below it come the parsed sections with their steps badged by safety
class, and the lint findings with ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from markdown_it import MarkdownIt
from markdown_it.common.normalize_url import validateLink
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

from opsbook.api.auth import state_of
from opsbook.api.state import AppState
from opsbook.runbooks.catalog import MAX_BYTES
from opsbook.runbooks.frontmatter import split_front_matter
from opsbook.runbooks.lint import Finding, lint
from opsbook.runbooks.models import Runbook, Section, Step
from opsbook.web.auth import signed_in
from opsbook.web.pages import base, to_login
from opsbook.web.render import page
from opsbook.web.sessions import SignedIn

router = APIRouter()

MAX_QUERY = 200
SAFE_SCHEMES = ("http", "https", "mailto")
_SCHEME_PART = re.compile(r"[/?#]")


def safe_link(url: str) -> bool:
    """May ``url`` be a link or image target? markdown-it's own check (no ``javascript:``,
    ``vbscript:``, ``file:``, ``data:``), then only ``http``, ``https``, ``mailto`` or a relative
    reference. A colon before the first ``/``, ``?`` or ``#`` counts as a scheme, so nothing a
    browser could read as another scheme slips through as "relative"."""
    if not validateLink(url):
        return False
    head = _SCHEME_PART.split(url.strip().lower(), maxsplit=1)[0]
    if ":" not in head:
        return True
    return head.split(":", 1)[0] in SAFE_SCHEMES


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _heading_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tok = tokens[idx]
    if tok.map:  # the source line, so the parsed sections and lint findings can link here
        tok.attrSet("id", f"md-L{tok.map[0] + 1}")
    return self.renderToken(tokens, idx, options, env)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "maxNesting": 40}).enable("table")
    md.validateLink = safe_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("heading_open", _heading_open)
    return md


_MD = _markdown()


def render_markdown(text: str) -> Markup:
    """Runbook Markdown as inert HTML: raw HTML shown as text, unsafe link targets left as text.

    Front matter is blanked out (its lines kept) so heading ids match the parser's line numbers.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
    _, body, _ = split_front_matter(text.removeprefix("\ufeff"))
    return Markup(_MD.render(body))  # noqa: S704 - html is off and links are validated above


def source_path(st: AppState, rb: Runbook) -> Path:
    """Where the runbook file is: its path as loaded, against the config file's directory."""
    path = Path(rb.path)
    if path.is_absolute():
        return path
    return (st.config_path.parent if st.config_path else Path.cwd()) / path


def read_source(st: AppState, rb: Runbook) -> str | None:
    """The runbook's text, or None when it cannot be read now (moved, too large, not a file)."""
    path = source_path(st, rb)
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


@dataclass(frozen=True)
class RunbookRow:
    """One line of the runbooks table."""

    id: str
    title: str
    path: str
    services: list[str]
    sections: int
    steps: int
    alerts: list[str]
    errors: int
    warnings: int


@dataclass(frozen=True)
class StepHit:
    """A step whose title or text contains one of the search words."""

    line: int
    phase: str
    step: Step


@dataclass
class SectionHit:
    """A section where every search word occurs (heading, alerts, symptoms or steps)."""

    runbook_id: str
    runbook_title: str
    path: str
    section: Section
    steps: list[StepHit] = field(default_factory=list)


def _known_variables(st: AppState, tenant: str) -> set[str]:
    return {n for s in st.config.services if s.tenant == tenant for n in (*s.variables, *s.secrets)}


def tenant_runbooks(st: AppState, tenant: str) -> list[tuple[str, Runbook]]:
    """(id, runbook) for every runbook this tenant's services name, in catalog order."""
    cat = st.catalog
    return [(rid, cat.runbooks[rid]) for rid in cat.ids_for_tenant(tenant)]


def tenant_findings(
    st: AppState, tenant: str, books: list[tuple[str, Runbook]] | None = None
) -> list[Finding]:
    """Lint findings over the tenant's runbooks together (duplicates across files count)."""
    books = tenant_runbooks(st, tenant) if books is None else books
    return lint((rb for _, rb in books), _known_variables(st, tenant))


def _haystack(section: Section) -> str:
    parts = [section.heading, *section.alerts, *section.symptoms]
    parts += [t for step in section.steps for t in (step.title, step.text)]
    return "\n".join(parts).lower()


def search(books: list[tuple[str, Runbook]], query: str) -> list[SectionHit]:
    """Sections where every word of ``query`` occurs (case-insensitive), with the steps that
    contain any of the words. An empty query finds nothing."""
    words = query.lower().split()
    if not words:
        return []
    hits: list[SectionHit] = []
    for rid, rb in books:
        for section in rb.sections:
            if not all(w in _haystack(section) for w in words):
                continue
            hit = SectionHit(rid, rb.title, rb.path, section)
            for ph in section.phases:
                for step in ph.steps:
                    text = f"{step.title}\n{step.text}".lower()
                    if any(w in text for w in words):
                        hit.steps.append(StepHit(step.line, ph.label or ph.phase, step))
            hits.append(hit)
    return hits


def runbooks_context(st: AppState, who: SignedIn, query: str) -> dict[str, Any]:
    """The list page: every runbook of the tenant with counts, and the search hits for ``query``."""
    books = tenant_runbooks(st, who.tenant)
    findings = tenant_findings(st, who.tenant, books)
    rows = [
        RunbookRow(
            id=rid,
            title=rb.title,
            path=rb.path,
            services=st.catalog.services_of(who.tenant, rid),
            sections=len(rb.sections),
            steps=sum(len(s.steps) for s in rb.sections),
            alerts=[a for s in rb.sections for a in s.alerts],
            errors=sum(1 for f in findings if f.path == rb.path and f.severity == "error"),
            warnings=sum(1 for f in findings if f.path == rb.path and f.severity != "error"),
        )
        for rid, rb in books
    ]
    return {**base(who), "rows": rows, "q": query, "hits": search(books, query)}


def runbook_context(st: AppState, who: SignedIn, rid: str) -> dict[str, Any] | None:
    """The runbook page, or None when this tenant has no runbook ``rid``."""
    rb = st.catalog.get(who.tenant, rid)
    if rb is None:
        return None
    text = read_source(st, rb)
    return {
        **base(who),
        "id": rid,
        "rb": rb,
        "services": st.catalog.services_of(who.tenant, rid),
        "source": render_markdown(text) if text is not None else None,
        "findings": [f for f in tenant_findings(st, who.tenant) if f.path == rb.path],
    }


def _not_found(who: SignedIn, rid: str) -> Response:
    return page(
        "error.html",
        {"who": who, "title": "not found", "detail": f"no runbook {rid!r}", "code": 404},
        status=404,
    )


@router.get("/runbooks")
async def runbooks_page(request: Request) -> Response:
    """Every runbook the tenant's services load, with lint counts, and a search (``?q=``)."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    st = state_of(request)
    query = request.query_params.get("q", "")[:MAX_QUERY].strip()
    ctx = await run_in_threadpool(runbooks_context, st, who, query)
    return page("runbooks.html", ctx)


@router.get("/runbooks/{runbook_id}")
async def runbook_page(request: Request, runbook_id: str) -> Response:
    """One runbook: its Markdown rendered safely, its parsed sections and its lint findings."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    rid = runbook_id[:64]
    ctx = await run_in_threadpool(runbook_context, state_of(request), who, rid)
    if ctx is None:  # also another tenant's runbook: not found, as in the API
        return _not_found(who, rid)
    return page("runbooks_detail.html", ctx)
