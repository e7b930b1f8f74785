"""Runbooks written in the styles found in public runbook repositories (in the project's own
words), each with a truth file: the reader must find every section with its alerts and
severity, every command as a step of the right kind and safety, and no step the truth lacks.
Format: tests/fixtures/world_runbooks/README.md; figures per style: bench/corpus.py."""

from __future__ import annotations

import pytest
from bench.corpus import CORPUS, Case, compare, figures, load_cases, table

CASES = load_cases()


def test_the_corpus_is_there_and_documented() -> None:
    """The corpus and its format description exist, and every Markdown file has its truth."""
    assert (CORPUS / "README.md").is_file()
    assert len(CASES) >= 20
    without = [
        str(md.relative_to(CORPUS))
        for md in CORPUS.rglob("*.md")
        if md.parent != CORPUS and not md.with_name(md.stem + ".truth.yaml").is_file()
    ]
    assert without == [], f"fixtures without a NAME.truth.yaml: {without}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_document_reads_as_its_truth(case: Case) -> None:
    """Sections, alerts, severities, commands (kind, safety, interactive) match the truth."""
    result = compare(case)
    assert result.problems == [], f"{case.name} ({case.style}):\n  " + "\n  ".join(result.problems)


def test_figures_per_style_add_up() -> None:
    """The per-style table the bench prints covers every document once, in an "all" row."""
    rows = figures(compare(c) for c in CASES)
    assert rows["all"]["docs"] == len(CASES)
    assert sum(r["docs"] for s, r in rows.items() if s != "all") == len(CASES)
    print("\n" + table(rows))
