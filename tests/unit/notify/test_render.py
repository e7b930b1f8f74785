"""Messages per channel kind, rendered in the sandbox; hostile incident text stays text."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from opsbook.config.oncall import MessageTemplate, NotifySettings
from opsbook.notify.models import Diagnostic, Links, Notification, notification_id
from opsbook.notify.render import TemplateRefused, render, render_safe
from opsbook.notify.templates import channel_kind

HOSTILE = "DB down {{ 7*7 }} {% raw %}x{% endraw %} <!channel> @here\r\nBcc: evil@example.com"


def note(summary: str = HOSTILE, diagnostics: int = 2) -> Notification:
    return Notification(
        incident_id="inc_42",
        update_seq=3,
        contact="mailto://alice@example.com",
        kind="triggered",
        tenant="intelgraph",
        service="assistant-api",
        severity="P0",
        status="triggered",
        summary=summary,
        links=Links(
            page="https://ops.example.com/incidents/inc_42",
            acknowledge="https://ops.example.com/l/ack-token",
            resolve="https://ops.example.com/l/res-token",
        ),
        diagnostics=tuple(
            Diagnostic(f"step{i}", "failed" if i == 0 else "ok", f"result {i}")
            for i in range(diagnostics)
        ),
    )


@dataclass
class Tpl:
    title: str
    body: str


def test_id_is_stable_per_update_and_contact() -> None:
    assert (
        note().id
        == note("other text").id
        == notification_id("inc_42", 3, "mailto://alice@example.com")
    )
    assert notification_id("inc_42", 4, "mailto://alice@example.com") != note().id
    assert notification_id("inc_42", 3, "slack://x") != note().id


@pytest.mark.parametrize(
    ("scheme", "kind"),
    [
        ("mailto", "email"),
        ("mailtos", "email"),
        ("slack", "chat"),
        ("msteams", "chat"),
        ("ntfy", "chat"),
        ("json", "webhook"),
        ("jsons", "webhook"),
        ("pagerduty", "chat"),
    ],
)
def test_channel_kinds(scheme: str, kind: str) -> None:
    assert channel_kind(scheme) == kind


def test_email_has_everything_a_responder_needs() -> None:
    title, body = render("triggered", "mailto", note().context())
    assert title.startswith("[P0] assistant-api: DB down {{ 7*7 }}")
    assert "\n" not in title and "\r" not in title  # no header injection through the subject
    assert "{{ 7*7 }}" in body and "49" not in body  # incident text is never template code
    for part in (
        "step0: failed — result 0",
        "step1: ok",
        "https://ops.example.com/incidents/inc_42",
        "Acknowledge (no login needed): https://ops.example.com/l/ack-token",
        "Resolve: https://ops.example.com/l/res-token",
        note().id,
    ):
        assert part in body


def test_chat_is_short_and_defuses_mentions() -> None:
    title, body = render(
        "escalated", "slack", note(summary=HOSTILE + " x" * 1000, diagnostics=9).context()
    )
    assert body.startswith("Still unacknowledged · triggered")
    assert "<!channel>" not in body and "@here" not in body
    assert body.count("• ") == 3
    assert len(body) < 1000 and "Ack: https://ops.example.com/l/ack-token" in body
    assert len(title) <= 200


def test_webhook_is_json() -> None:
    _, body = render("resolved", "json", note().context())
    data = json.loads(body)
    assert data["id"] == note().id and data["kind"] == "resolved"
    assert data["summary"] == HOSTILE  # JSON-escaped, exactly as the incident said
    assert data["diagnostics"][0] == {"step": "step0", "status": "failed", "summary": "result 0"}
    assert data["links"]["acknowledge"].endswith("ack-token")


def test_custom_template_overrides_a_kind() -> None:
    custom = {"chat": Tpl("{{ severity }}!", "{{ service }} {{ summary|upper }}")}
    title, body = render("triggered", "ntfy", note("down").context(), custom)
    assert (title, body) == ("P0!", "assistant-api DOWN")
    # other kinds keep the defaults
    assert render("triggered", "mailto", note().context(), custom)[0].startswith("[P0]")


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ links.__class__.__init__.__globals__ }}",
        "{{ summary.format.__globals__ }}",
        "{{ no_such_variable }}",
        "{% for x in %}",
    ],
)
def test_unsafe_or_broken_templates_are_refused(text: str) -> None:
    with pytest.raises(TemplateRefused):
        render("triggered", "slack", note().context(), {"chat": Tpl("t", text)})
    with pytest.raises(ValidationError, match="does not render"):
        MessageTemplate(body=text)


def test_a_broken_template_never_stops_a_page() -> None:
    _title, body, warning = render_safe(
        "triggered", "slack", note().context(), {"chat": Tpl("t", "{{ ''.__class__ }}")}
    )
    assert warning and "refused" in warning
    assert "Ack: https://ops.example.com/l/ack-token" in body


def test_webhook_template_must_produce_json() -> None:
    with pytest.raises(TemplateRefused, match="JSON"):
        render("triggered", "json", note().context(), {"webhook": Tpl("t", "not json")})


def test_settings_accept_valid_templates() -> None:
    s = NotifySettings.model_validate(
        {"templates": {"email": {"title": "{{ severity }}", "body": "{{ summary }}"}}}
    )
    assert s.templates["email"].title == "{{ severity }}"
    with pytest.raises(ValidationError):
        NotifySettings.model_validate({"templates": {"pager": {"body": "x"}}})
