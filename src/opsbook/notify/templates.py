"""The default messages, one per channel kind, written to be read at 3 a.m. on a phone.

Kinds: ``email`` (a subject and a plain-text body), ``chat`` (Slack, Teams, ntfy, …: short,
the actions first) and ``webhook`` (``json://`` and friends: a JSON document a program reads).
A team overrides any of them with ``notify.templates.<kind>`` in opsbook.yaml.
"""

from __future__ import annotations

HEADLINES = {
    "triggered": "New incident",
    "escalated": "Still unacknowledged",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "updated": "Incident updated",
    "test": "Test message from opsbook",
}

EMAIL_TITLE = "[{{ severity }}] {{ service }}: {{ title }}"
EMAIL_BODY = """\
{{ headline }}: {{ severity }} on {{ service }} ({{ tenant }})

{{ summary }}

Status: {{ status }}
{% if diagnostics %}
What opsbook checked:
{% for d in diagnostics %}  - {{ d.step }}: {{ d.status }}{% if d.summary %} — {{ d.summary }}{% endif %}
{% endfor %}{% if more_diagnostics %}  … and {{ more_diagnostics }} more on the incident page
{% endif %}{% endif %}
Open the incident: {{ links.page }}
{% if links.acknowledge %}Acknowledge (no login needed): {{ links.acknowledge }}
{% endif %}{% if links.resolve %}Resolve: {{ links.resolve }}
{% endif %}
—
opsbook · message {{ id }}
"""

CHAT_TITLE = "{{ severity }} {{ service }}: {{ title }}"
CHAT_BODY = """\
{{ headline }} · {{ status }}
{{ summary | truncate(300) }}
{% for d in diagnostics[:3] %}• {{ d.step }}: {{ d.status }}
{%- if d.summary %} — {{ d.summary | truncate(120) }}{% endif %}
{% endfor %}{% if links.acknowledge %}Ack: {{ links.acknowledge }}
{% endif %}Open: {{ links.page }}"""

WEBHOOK_TITLE = "{{ severity }} {{ service }}: {{ title }}"
WEBHOOK_BODY = """\
{"id": {{ id | tojson }}, "kind": {{ kind | tojson }}, "incident_id": {{ incident_id | tojson }},
 "update_seq": {{ update_seq | tojson }}, "tenant": {{ tenant | tojson }},
 "service": {{ service | tojson }}, "severity": {{ severity | tojson }},
 "status": {{ status | tojson }}, "title": {{ title | tojson }}, "summary": {{ summary | tojson }},
 "diagnostics": {{ diagnostics | tojson }}, "links": {{ links | tojson }}}"""

DEFAULTS: dict[str, tuple[str, str]] = {
    "email": (EMAIL_TITLE, EMAIL_BODY),
    "chat": (CHAT_TITLE, CHAT_BODY),
    "webhook": (WEBHOOK_TITLE, WEBHOOK_BODY),
}

EMAIL_SCHEMES = frozenset({"mailto", "mailtos", "email", "smtp", "smtps"})
WEBHOOK_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls", "http", "https"})


def channel_kind(scheme: str) -> str:
    """``mailto`` → ``email``; ``json``/``form``/``xml`` → ``webhook``; anything else → ``chat``."""
    s = scheme.lower().split("://", 1)[0]
    if s in EMAIL_SCHEMES:
        return "email"
    if s in WEBHOOK_SCHEMES:
        return "webhook"
    return "chat"
