"""API fixtures: every storage/API test runs against SQLite and against a real PostgreSQL 15."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.app import Harness, running_app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/opsbook.db"
    url: str = request.getfixturevalue("postgres_db")
    return url


@pytest.fixture
def h(db_url: str) -> Iterator[Harness]:
    with running_app(db_url) as harness:
        yield harness
