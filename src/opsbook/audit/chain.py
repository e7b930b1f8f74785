"""Hash chain of audit entries: each hash is sha256(previous hash + canonical JSON of the entry).

Changing, removing or reordering any stored entry breaks the chain from that entry on, and
``verify`` names the first entry that no longer fits. Pure: no storage, no clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""The "previous hash" of the first entry."""


@dataclass(frozen=True)
class Entry:
    """One security-relevant act. ``actor``/``subject`` are pseudonyms for people (see
    :func:`opsbook.audit.people.pseudonym`), so erasing a person never rewrites the log."""

    seq: int
    at: datetime
    tenant: str
    action: str
    actor: str
    subject: str | None
    target: str | None
    data: Mapping[str, Any]

    def canonical(self) -> str:
        """The exact text that is hashed: sorted keys, no spaces, UTC time to the microsecond."""
        at = self.at.astimezone(UTC) if self.at.tzinfo else self.at.replace(tzinfo=UTC)
        body = {
            "seq": self.seq,
            "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "tenant": self.tenant,
            "action": self.action,
            "actor": self.actor,
            "subject": self.subject,
            "target": self.target,
            "data": dict(self.data),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link(prev_hash: str, entry: Entry) -> str:
    """The hash of ``entry`` following an entry whose hash is ``prev_hash``."""
    return hashlib.sha256((prev_hash + entry.canonical()).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Stored:
    """An entry as read back, with the hashes stored beside it."""

    entry: Entry
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Broken:
    """Where the chain stops fitting: the entry's sequence number and why."""

    seq: int
    reason: str


def verify(
    rows: Iterable[Stored],
    head: tuple[int, str] | None = None,
    start: tuple[int, str] = (0, GENESIS),
) -> tuple[int, Broken | None]:
    """Check ``rows`` (in sequence order) from ``start`` (seq, hash before the first row);
    returns (entries checked, the first break or None). ``head`` is the (seq, hash) the
    log's head says was written last: a missing tail is found too."""
    expect_seq, prev = start
    checked = 0
    for row in rows:
        expect_seq += 1
        if row.entry.seq != expect_seq:
            return checked, Broken(
                expect_seq, f"entry {expect_seq} is missing (next stored is {row.entry.seq})"
            )
        if row.prev_hash != prev:
            return checked, Broken(
                row.entry.seq, "its previous-hash does not match the entry before"
            )
        if link(prev, row.entry) != row.hash:
            return checked, Broken(row.entry.seq, "its content does not match its hash (changed)")
        prev = row.hash
        checked += 1
    if head is not None and (expect_seq, prev) != head:
        if head[0] > expect_seq:
            return checked, Broken(
                expect_seq + 1, f"entries {expect_seq + 1}…{head[0]} are missing"
            )
        return checked, Broken(expect_seq, "the last entry does not match the log's head")
    return checked, None
