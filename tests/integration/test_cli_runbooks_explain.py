"""`opsbook runbooks explain FILE#SECTION` and the per-document score of `runbooks lint`, run
as a user runs them (a subprocess, exit codes, output)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "world_runbooks" / "structure"


def opsbook(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbook.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_explain_shows_how_each_line_of_a_single_incident_runbook_was_read() -> None:
    target = f"{CORPUS / 'single-incident-deep.md'}#search-index-corruption"
    r = opsbook("runbooks", "explain", target)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "alerts: SearchIndexChecksumMismatch" in lines[0] and "P0" in lines[0]
    by_no = {int(line.split()[0]): line for line in lines[1:] if line.strip()}
    assert "heading: phase investigate" in by_no[19]  # ## Triage is a phase, not a section
    assert "field:alert SearchIndexChecksumMismatch" in by_no[13]
    assert "step 3 kubectl destructive" in by_no[38] and "--replicas=0" in by_no[38]
    assert "fence end" in by_no[39]


def test_explain_refuses_an_ambiguous_heading_and_names_the_ids() -> None:
    path = CORPUS / "duplicate-incidents.md"
    r = opsbook("runbooks", "explain", f"{path}#Disk full")
    assert r.returncode == 1
    assert "ambiguous" in r.stderr and "disk-full (line 5)" in r.stderr
    assert "disk-full-1 (line 20)" in r.stderr
    r = opsbook("runbooks", "explain", f"{path}#database-tier/disk-full")
    assert r.returncode == 0, r.stderr
    assert "#disk-full-1: Disk full" in r.stdout and "severity: P1" in r.stdout
    r = opsbook("runbooks", "explain", f"{path}#nope")
    assert r.returncode == 1 and "no section 'nope'" in r.stderr and "replica-lag" in r.stderr


def test_lint_prints_a_score_with_reasons_and_what_it_could_not_classify(tmp_path: Path) -> None:
    doc = tmp_path / "cache.md"
    doc.write_text(
        "# Cache\n\n## CacheDown\n\nRestart it:\n\nsudo systemctl restart redis\n\n"
        "```bash\n./bin/flush-all\n```\n"
    )
    r = opsbook("runbooks", "lint", str(doc))
    assert r.returncode == 0, r.stdout + r.stderr  # only warnings
    assert f"{doc}: score 89/100" in r.stdout
    assert "commands of unknown safety" in r.stdout
    assert f"{doc}:7: not classified: sudo systemctl restart redis" in r.stdout
    assert "read as prose" in r.stdout
    assert f"{doc}:3: not classified: CacheDown" in r.stdout  # no severity
    clean = tmp_path / "ok.md"
    clean.write_text("# Ok\n\n## DiskFull\n\n**Severity:** P2\n\n```bash\ndf -h\n```\n")
    r = opsbook("runbooks", "lint", str(clean))
    assert "score" not in r.stdout
    r = opsbook("runbooks", "lint", str(clean), "--verbose")
    assert f"{clean}: score 100/100" in r.stdout
