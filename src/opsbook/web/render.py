"""Jinja2 for the web UI: autoescaped templates under ``templates/ui``, filters, security headers."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from opsbook.core.clock import isoformat

WEB = Path(__file__).resolve().parent
STATIC_UI = WEB / "static" / "ui"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def span(seconds: float) -> str:
    """A short human duration: ``45s``, ``12m``, ``3h 05m``, ``2d 4h``."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s" if s < 600 else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def human(t: datetime | None) -> str:
    """The one way the UI writes a moment: ``2026-12-04 03:12:05 UTC`` (as the CLI and the
    post-mortem do)."""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else ""


def ago(t: datetime | None, now: datetime) -> str:
    """How long ago ``t`` was, roughly: ``just now``, ``5 min ago``, ``3 h ago``, ``in 10 min``
    (``app.js`` keeps it current from the ``datetime`` attribute)."""
    if t is None:
        return ""
    secs = (now - t).total_seconds()
    if abs(secs) < 45:
        return "just now"
    a = abs(secs)
    if a < 3600:
        text = f"{max(1, round(a / 60))} min"
    elif a < 86400:
        text = f"{a / 3600:.0f} h"
    else:
        text = f"{a / 86400:.0f} d"
    return f"{text} ago" if secs > 0 else f"in {text}"


@lru_cache(maxsize=1)
def env() -> Environment:
    """The one environment: autoescape everywhere (also for strings), undefined names fail loudly."""
    e = Environment(
        loader=FileSystemLoader(str(WEB / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    e.filters["iso"] = isoformat
    e.filters["human"] = human
    e.filters["span"] = span
    e.filters["ago"] = ago
    e.filters["words"] = lambda v: str(v).replace("_", " ")
    return e


def page(
    template: str, context: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """Render ``ui/<template>`` with the security headers every UI page carries."""
    html = env().get_template(f"ui/{template}").render(**context)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
