"""The two machine-readable faces of a status page: a Statuspage-style JSON summary and Atom.

Both are built from :class:`PublicIncident` and :class:`PublicUpdate` values — text commanders
published and component states — so they cannot carry a private field by construction.

The Atom feed is serialised by the standard library's ElementTree, which does the namespacing
and XML escaping. feedgen was tried instead and kept out: it writes ``+00:00`` where every
other opsbook time (API, JSON summary, this feed's readers' tests) is ``Z``, it prepends
entries unless told otherwise, and it would put lxml on the public page's path for ~30 lines.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsbook.core.clock import isoformat
from opsbook.statuspage.models import ComponentState, UpdateStatus

ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class PublicUpdate:
    id: str
    status: UpdateStatus
    body: str
    created_at: datetime


@dataclass(frozen=True)
class PublicIncident:
    """The public side of an incident (or maintenance): its published name and updates, newest first."""

    id: str
    name: str
    status: UpdateStatus
    components: Sequence[str]
    created_at: datetime
    updated_at: datetime
    updates: Sequence[PublicUpdate]
    impact: ComponentState = ComponentState.OPERATIONAL


@dataclass(frozen=True)
class ScheduledMaintenance:
    id: str
    name: str
    status: str  # scheduled | in_progress
    scheduled_for: datetime
    scheduled_until: datetime
    components: Sequence[str]
    description: str


@dataclass(frozen=True)
class Page:
    """Everything the public page shows for one tenant."""

    tenant: str
    title: str
    url: str
    updated_at: datetime
    indicator: str
    description: str
    components: Mapping[str, ComponentState]
    incidents: Sequence[PublicIncident]
    maintenances: Sequence[ScheduledMaintenance]


def _incident(i: PublicIncident) -> dict[str, Any]:
    return {
        "id": i.id,
        "name": i.name,
        "status": i.status.value,
        "impact": i.impact.value,
        "created_at": isoformat(i.created_at),
        "updated_at": isoformat(i.updated_at),
        "components": [{"name": c} for c in i.components],
        "incident_updates": [
            {
                "id": u.id,
                "status": u.status.value,
                "body": u.body,
                "created_at": isoformat(u.created_at),
            }
            for u in i.updates
        ],
        "updates": [
            {"status": u.status.value, "body": u.body, "created_at": isoformat(u.created_at)}
            for u in i.updates
        ],
    }


def summary(page: Page) -> dict[str, Any]:
    """The shape of Statuspage's ``/api/v2/summary.json`` (``incident_updates`` plus a short
    ``updates`` alias)."""
    return {
        "page": {
            "id": page.tenant,
            "name": page.title,
            "url": page.url,
            "updated_at": isoformat(page.updated_at),
        },
        "status": {"indicator": page.indicator, "description": page.description},
        "components": [
            {"name": name, "status": state.value} for name, state in page.components.items()
        ],
        "incidents": [_incident(i) for i in page.incidents],
        "scheduled_maintenances": [
            {
                "id": m.id,
                "name": m.name,
                "status": m.status,
                "scheduled_for": isoformat(m.scheduled_for),
                "scheduled_until": isoformat(m.scheduled_until),
                "components": [{"name": c} for c in m.components],
                "description": m.description,
            }
            for m in page.maintenances
        ],
    }


def atom(page: Page, history: Sequence[PublicIncident], feed_url: str) -> bytes:
    """An Atom 1.0 feed (RFC 4287): one entry per public incident, its updates in the content."""
    ET.register_namespace("", ATOM_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        e = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            e.text = text
        return e

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    el(feed, "id", f"{page.url}#feed")
    el(feed, "title", page.title)
    newest = max((i.updated_at for i in history), default=page.updated_at)
    el(feed, "updated", isoformat(newest))
    el(feed, "link", rel="alternate", type="text/html", href=page.url)
    el(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    author = el(feed, "author")
    el(author, "name", page.title)
    for inc in history:
        entry = el(feed, "entry")
        el(entry, "id", f"{page.url}#{inc.id}")
        el(entry, "title", f"{inc.name} ({inc.status.value.replace('_', ' ')})")
        el(entry, "updated", isoformat(inc.updated_at))
        el(entry, "published", isoformat(inc.created_at))
        el(entry, "link", rel="alternate", type="text/html", href=f"{page.url}#{inc.id}")
        lines = [
            f"{isoformat(u.created_at)} — {u.status.value.replace('_', ' ')}: {u.body}"
            for u in inc.updates
        ]
        el(entry, "content", "\n\n".join(lines), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
