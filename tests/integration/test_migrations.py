"""The migrations build exactly the schema the models describe, as one head, and the newest ones
go down and up again — on SQLite and PostgreSQL 15 — so an upgraded install is a fresh one."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from opsbook.storage import migrate
from opsbook.storage.db import make_engine
from opsbook.storage.tables import Base


def _differences(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def test_one_head_and_the_models_match_the_migrated_schema(db_url: str) -> None:
    assert len(migrate.head_revisions()) == 1, migrate.head_revisions()
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    engine.dispose()
    assert _differences(db_url) == []


def test_the_newest_revisions_go_down_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    cfg = migrate._alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert migrate.current_revisions(engine) == {"0006"}
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    engine.dispose()
    assert _differences(db_url) == []


def test_every_revision_goes_down_to_base_and_up_again(db_url: str) -> None:
    """Every migration's downgrade works: from the heads down to an empty schema and back."""
    from sqlalchemy import inspect

    engine = make_engine(db_url)
    migrate.upgrade(engine)
    cfg = migrate._alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert migrate.current_revisions(engine) == set()
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    engine.dispose()
    assert _differences(db_url) == []
