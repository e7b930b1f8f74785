"""Fixed-window request counters in the database, shared by every replica.

A key is a hash of what is limited (``"subscribe-client\\0" + address``), so the table holds
no client address or email in clear. Counting is one atomic UPDATE per request, so two
replicas counting the same key at once never lose a hit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from opsbook.storage.tables_comms import RateLimitRow

_T: Table = RateLimitRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Count:
    """Hits of this window including the one just counted, and when the window ends."""

    hits: int
    resets_at: datetime


def key_of(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}\x00{value}".encode()).hexdigest()


def hit(s: Session, key: str, now: datetime, window: timedelta) -> Count:
    """Count one request for ``key`` in the caller's transaction (commit it even on refusal)."""
    insert: Any = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    s.execute(
        insert(_T)
        .values(key=key, window_start=now, hits=0)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    fresh = _T.c.window_start <= now - window
    hits, start = s.execute(
        update(_T)
        .where(_T.c.key == key)
        .values(
            hits=case((fresh, 1), else_=_T.c.hits + 1),
            window_start=case((fresh, now), else_=_T.c.window_start),
        )
        .returning(_T.c.hits, _T.c.window_start)
    ).one()
    if hits == 1:  # a new window: forget keys whose windows ended long ago
        s.execute(delete(_T).where(_T.c.window_start < now - 2 * window))
    return Count(hits, start + window)
