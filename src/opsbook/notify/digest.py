"""A digest: many pending messages to one person's contact, sent as one.

In a storm a person would otherwise get one message per incident, held back by the channel's
rate limit for hours. When several are pending for one contact, the outbox folds them into one
digest ("37 incidents on checkout-api: 1 P0 sent on its own, 36 P3"). A P0 is never folded:
it goes alone, at once, and the digest only counts it. Pure: no storage, no sending.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from opsbook.notify.templates import channel_kind

DIGEST_AFTER = 5
"""Fold a contact's pending non-P0 messages once at least this many wait (one is sent as is)."""

LINES_MAX = 25
"""Incidents listed one by one in a digest; the rest are counted and linked."""

TITLE_MAX = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MENTION = re.compile(r"(<!|@)(channel|here|everyone|all)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Item:
    """One message folded into a digest: about which incident, how severe, its headline."""

    incident_id: str
    service: str
    severity: str
    title: str
    link: str


@dataclass(frozen=True, slots=True)
class Digest:
    """The rendered digest: a one-line title and a body for the channel kind."""

    title: str
    body: str


def _one_line(text: str, limit: int = TITLE_MAX) -> str:
    line = " ".join(_CONTROL.sub(" ", text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _names(services: Sequence[str]) -> str:
    """``a``; ``a and b``; ``a, b and 3 more``."""
    if len(services) <= 2:
        return " and ".join(services)
    return f"{services[0]}, {services[1]} and {len(services) - 2} more"


def headline(items: Sequence[Item], p0_alone: int = 0) -> str:
    """``"37 incidents on checkout-api: 1 P0 sent on its own, 36 P3"``."""
    incidents = {i.incident_id: i for i in items}
    services = list(Counter(i.service for i in incidents.values()))
    by_sev = Counter(i.severity for i in incidents.values())
    parts = []
    if p0_alone:
        parts.append(f"{p0_alone} P0 sent on its own")
    parts += [f"{by_sev[s]} {s}" for s in sorted(by_sev)]
    total = len(incidents) + p0_alone
    noun = "incident" if total == 1 else "incidents"
    return f"{total} {noun} on {_names(services)}: {', '.join(parts)}"


def render_digest(
    digest_id: str,
    channel_scheme: str,
    items: Sequence[Item],
    *,
    p0_alone: int = 0,
    more_link: str = "",
) -> Digest:
    """The digest of ``items`` for a channel: JSON for webhooks, text for chat and email.

    ``p0_alone`` counts the P0 pages this contact got on their own meanwhile; ``more_link``
    is where the whole list is (the incidents page).
    """
    title = _one_line(headline(items, p0_alone))
    incidents = list({i.incident_id: i for i in items}.values())
    shown, rest = incidents[:LINES_MAX], max(0, len(incidents) - LINES_MAX)
    kind = channel_kind(channel_scheme)
    if kind == "webhook":
        body = json.dumps(
            {
                "id": digest_id,
                "kind": "digest",
                "title": title,
                "count": len(incidents),
                "p0_sent_alone": p0_alone,
                "by_severity": dict(sorted(Counter(i.severity for i in incidents).items())),
                "services": list(Counter(i.service for i in incidents)),
                "incidents": [
                    {
                        "id": i.incident_id,
                        "service": i.service,
                        "severity": i.severity,
                        "title": i.title,
                        "link": i.link,
                    }
                    for i in shown
                ],
                "more": rest,
                "more_link": more_link or None,
            },
            ensure_ascii=False,
        )
        return Digest(title, body)
    lines = [
        f"{title}.",
        "These are collected in one message instead of one each"
        + ("; the P0 went out on its own." if p0_alone else "."),
        "",
    ]
    lines += [f"- {i.severity} {_one_line(i.title, 160)} — {i.link}" for i in shown]
    if rest:
        lines.append(f"… and {rest} more" + (f": {more_link}" if more_link else ""))
    body = "\n".join(lines)
    if kind == "chat":
        body = _MENTION.sub(lambda m: f"{m.group(1)}\u200b{m.group(2)}", body)
    return Digest(title, _CONTROL.sub("", body))
