"""The ``Notification`` value: one message about one incident update to one contact.

Its id is a hash of (incident id, update sequence, contact), so the outbox can insert it
idempotently and a receiver can drop duplicates: a retry carries the same id, a new update a
new one ("one message per incident update, not per alert").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def notification_id(incident_id: str, update_seq: int, contact: str) -> str:
    """Stable id of the message about update ``update_seq`` of an incident to ``contact``."""
    key = f"{incident_id}\x1f{update_seq}\x1f{contact}".encode()
    return "ntf_" + hashlib.sha256(key).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """The outcome of one automatic runbook step, as a message shows it."""

    step: str
    status: str
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Links:
    """Where a reader can go: the incident page and the signed one-tap actions."""

    page: str
    acknowledge: str | None = None
    resolve: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """Everything a template may show about one incident update, plus where it goes."""

    incident_id: str
    update_seq: int
    contact: str
    kind: str
    tenant: str
    service: str
    severity: str
    status: str
    summary: str
    links: Links
    title: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "id", notification_id(self.incident_id, self.update_seq, self.contact)
        )

    def context(self, max_diagnostics: int = 5) -> dict[str, Any]:
        """The template variables (see docs/oncall.md); plain data only, no objects."""
        return {
            "id": self.id,
            "kind": self.kind,
            "incident_id": self.incident_id,
            "update_seq": self.update_seq,
            "tenant": self.tenant,
            "service": self.service,
            "severity": self.severity,
            "status": self.status,
            "title": self.title or self.summary,
            "summary": self.summary,
            "diagnostics": [
                {"step": d.step, "status": d.status, "summary": d.summary}
                for d in self.diagnostics[:max_diagnostics]
            ],
            "more_diagnostics": max(0, len(self.diagnostics) - max_diagnostics),
            "details": dict(self.details),
            "links": {
                "page": self.links.page,
                "acknowledge": self.links.acknowledge,
                "resolve": self.links.resolve,
            },
        }
