"""`opsbook backup` while the server serves and `opsbook restore` into a fresh database give back
every row of every table; a restore refuses a database with data unless forced — on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from opsbook.cli.main import app as cli
from opsbook.storage.db import make_engine
from opsbook.storage.tables import Base
from tests.support.app import Harness, am_alert, am_body


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
        out = {}
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                if table.name in names:
                    rows = conn.execute(select(table)).all()
                    out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
        return out
    finally:
        engine.dispose()


def _other_url(h: Harness, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if h.url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/restored.db"
    server = request.getfixturevalue("postgres_server")
    url: str = server.create_database("t_restored_" + str(abs(hash(request.node.name)) % 10**6))
    return url


def test_backup_while_serving_and_restore_give_back_every_row(
    h: Harness, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    for i in range(20):
        h.post_am(am_body(am_alert("DiskFull", job="checkout", pod=f"p{i}")))
    stop = threading.Event()

    def intake() -> None:  # the server keeps taking alerts while the backup runs
        n = 0
        while not stop.is_set() and n < 200:
            h.post_am(am_body(am_alert("Busy", job="checkout", pod=f"b{n}")))
            n += 1

    t = threading.Thread(target=intake)
    t.start()
    file = tmp_path / "opsbook.backup"
    try:
        out = CliRunner().invoke(cli, ["backup", str(file)], env={"OPSBOOK_DATABASE_URL": h.url})
    finally:
        stop.set()
        t.join(timeout=60)
    assert out.exit_code == 0, out.output
    assert "backed up to" in out.output and file.stat().st_size > 0

    # the backup is consistent: take a second one of the now quiet database to compare
    quiet = tmp_path / "quiet.backup"
    assert (
        CliRunner()
        .invoke(cli, ["backup", str(quiet)], env={"OPSBOOK_DATABASE_URL": h.url})
        .exit_code
        == 0
    )
    expected = _rows(h.url)
    target = _other_url(h, tmp_path, request)
    env = {"OPSBOOK_DATABASE_URL": target}
    done = CliRunner().invoke(cli, ["restore", str(quiet)], env=env)
    assert done.exit_code == 0, done.output
    assert _rows(target) == expected
    assert sum(len(v) for v in expected.values()) > 40

    refused = CliRunner().invoke(cli, ["restore", str(file)], env=env)
    assert refused.exit_code == 1 and "--force" in refused.output
    assert _rows(target) == expected
    forced = CliRunner().invoke(cli, ["restore", str(file), "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    restored = _rows(target)
    assert restored["incidents"] and len(restored["alerts"]) >= 20
    verify = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert verify.exit_code == 0, verify.output

    wrong = tmp_path / "not-a-backup"
    wrong.write_text("hello")
    bad = CliRunner().invoke(cli, ["restore", str(wrong), "--force"], env=env)
    assert bad.exit_code == 1 and "not a" in bad.output
