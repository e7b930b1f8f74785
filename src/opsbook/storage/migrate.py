"""Schema migrations with Alembic, driven from code (``opsbook db upgrade``, ``serve`` on SQLite)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from opsbook.storage.db import translate_errors

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep start-up output to what matters
    cfg = _alembic_config(engine)
    with translate_errors(), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def head_revisions() -> set[str]:
    """The newest revision of every branch (features may add branches; ``heads`` applies all)."""
    return set(ScriptDirectory(str(MIGRATIONS)).get_heads())


def head_revision() -> str | None:
    heads = sorted(head_revisions())
    return ",".join(heads) if heads else None


def current_revisions(engine: Engine) -> set[str]:
    with translate_errors(), engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def current_revision(engine: Engine) -> str | None:
    revs = sorted(current_revisions(engine))
    return ",".join(revs) if revs else None


def is_current(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()
