"""Keep the report's summary rows (``storage.tables_summary``) as alerts arrive and pages go out.

Both writes are idempotent upserts (a name already noted, a lower level) that never read first,
so concurrent writers on PostgreSQL neither conflict nor lose a value.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from opsbook.storage.tables_summary import IncidentAlertName, IncidentLevel

NAMES: Table = IncidentAlertName.__table__  # type: ignore[assignment]
LEVELS: Table = IncidentLevel.__table__  # type: ignore[assignment]


def _insert(s: Session, table: Table) -> sqlite.Insert | postgresql.Insert:
    if s.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def note_alertnames(s: Session, tenant: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Record that each (incident id, alert name) occurred; one statement per call."""
    rows = [{"incident_id": i, "alertname": n, "tenant": tenant} for i, n in sorted(set(pairs))]
    if rows:
        s.execute(_insert(s, NAMES).on_conflict_do_nothing(), rows)


def note_level(s: Session, tenant: str, incident_id: str, level: int) -> None:
    """Record that the incident paged escalation ``level`` (keeps the highest)."""
    stmt = _insert(s, LEVELS).values(incident_id=incident_id, tenant=tenant, level=level)
    highest = func.greatest if s.get_bind().dialect.name == "postgresql" else func.max
    s.execute(
        stmt.on_conflict_do_update(
            index_elements=[LEVELS.c.incident_id],
            set_={"level": highest(LEVELS.c.level, stmt.excluded.level)},
        )
    )
