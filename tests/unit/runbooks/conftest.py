"""Fixtures for the runbook reader tests: the five seed runbooks and the project's examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.runbooks.models import Runbook, Step
from opsbook.runbooks.parse import parse_runbook

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO.parent / "shared" / "seeds"
EXAMPLES = REPO / "examples" / "runbooks"


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    """Seed runbook texts by their number ("000" … "004")."""
    files = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not files:
        pytest.skip(f"seed runbooks not found at {SEEDS}")
    return {f.name[:3]: f.read_text(encoding="utf-8") for f in files}


@pytest.fixture(scope="session")
def seeds(seed_texts: dict[str, str]) -> dict[str, Runbook]:
    """Parsed seed runbooks by their number."""
    return {k: parse_runbook(v, f"seeds/{k}.md") for k, v in seed_texts.items()}


def steps_of(rb: Runbook) -> list[Step]:
    """Every step of a runbook in order."""
    return [st for s in rb.sections for st in s.steps]


def parse(text: str, path: str = "runbooks/test.md") -> Runbook:
    """Parse Markdown written inline in a test (dedented)."""
    import textwrap

    return parse_runbook(textwrap.dedent(text).lstrip("\n"), path)
