"""Render a message with Jinja2's sandbox: incident text is data, never template code.

Templates come from us (``templates.DEFAULTS``) or from the team's config; both render in a
``SandboxedEnvironment`` with ``StrictUndefined``, so ``{{ ''.__class__ }}`` is refused and a
misspelt variable is an error found by ``opsbook config check`` (:func:`check_template`), not
an empty line in a page. Values from the incident (summary, diagnostics) are inserted as text:
``{{ 7*7 }}`` in a summary stays ``{{ 7*7 }}``.

Titles are one line (newlines would let an alert's text add mail headers), at most 200
characters; chat bodies defuse ``@channel``/``<!here>`` mentions an alert could smuggle in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from opsbook.notify.templates import DEFAULTS, HEADLINES, channel_kind

TITLE_MAX = 200
BODY_MAX = {"email": 100_000, "chat": 3_500, "webhook": 100_000}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MENTION = re.compile(r"(<!|@)(channel|here|everyone|all)\b", re.IGNORECASE)

_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, trim_blocks=False
)

SAMPLE_CONTEXT: dict[str, Any] = {
    "id": "ntf_sample",
    "kind": "triggered",
    "headline": "New incident",
    "incident_id": "inc_sample",
    "update_seq": 1,
    "tenant": "sample",
    "service": "sample-api",
    "severity": "P0",
    "status": "triggered",
    "title": "Sample is down",
    "summary": "Sample is down {{ 7*7 }}",
    "diagnostics": [{"step": "healthz", "status": "failed", "summary": "503"}],
    "more_diagnostics": 0,
    "details": {},
    "links": {"page": "https://opsbook/i/1", "acknowledge": None, "resolve": None},
}
"""What :func:`check_template` renders with; the variables every template may use."""


class TemplateRefused(ValueError):
    """A template that cannot render: syntax, unknown variable, or unsafe access."""


@lru_cache(maxsize=256)
def _compile(text: str) -> Template:
    return _ENV.from_string(text)


def _render_text(text: str, context: Mapping[str, Any]) -> str:
    try:
        return _compile(text).render(**context)
    except TemplateError as exc:  # SecurityError and UndefinedError are TemplateErrors
        raise TemplateRefused(f"{type(exc).__name__}: {exc}") from None


def _one_line(text: str) -> str:
    line = " ".join(_CONTROL.sub(" ", text).split())
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1] + "…"


def _clean_body(text: str, kind: str) -> str:
    body = _CONTROL.sub("", text).strip("\n")
    if kind == "chat":
        body = _MENTION.sub(lambda m: f"{m.group(1)}\u200b{m.group(2)}", body)
    limit = BODY_MAX[kind]
    return body if len(body) <= limit else body[: limit - 1] + "…"


def render(
    kind: str,
    channel_scheme: str,
    context: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> tuple[str, str]:
    """(title, body) of a ``kind`` message (``triggered``, ``escalated``, …) for a channel.

    ``context`` is ``Notification.context()``; ``overrides`` maps a channel kind to an object
    with ``title`` and ``body`` template text (``config.oncall.MessageTemplate``). Raises
    :class:`TemplateRefused` when the chosen template cannot render.
    """
    channel = channel_kind(channel_scheme)
    title_tpl, body_tpl = DEFAULTS[channel]
    custom = (overrides or {}).get(channel)
    if custom is not None:
        title_tpl, body_tpl = custom.title, custom.body
    ctx = {**context, "kind": kind, "headline": HEADLINES.get(kind, kind.capitalize())}
    title = _one_line(_render_text(title_tpl, ctx))
    body = _clean_body(_render_text(body_tpl, ctx), channel)
    if channel == "webhook":
        try:
            json.loads(body)
        except ValueError as exc:
            raise TemplateRefused(f"the webhook template did not produce JSON: {exc}") from None
    return title, body


def render_safe(
    kind: str,
    channel_scheme: str,
    context: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> tuple[str, str, str | None]:
    """Like :func:`render`, but a broken custom template falls back to the default.

    A page must go out even when a team's template is wrong; the third value says why the
    default was used (record it on the timeline), else None.
    """
    try:
        return (*render(kind, channel_scheme, context, overrides), None)
    except TemplateRefused as exc:
        if not overrides:
            raise
        return (*render(kind, channel_scheme, context, None), f"custom template refused: {exc}")


def check_template(title: str, body: str) -> None:
    """Raise ValueError with the reason if a custom template would not render.

    Used by the config models, so ``opsbook config check`` names the file and line.
    """
    for part, text in (("title", title), ("body", body)):
        try:
            _render_text(text, SAMPLE_CONTEXT)
        except TemplateRefused as exc:
            raise ValueError(f"template {part} does not render: {exc}") from None
