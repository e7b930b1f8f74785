"""load_paths(): files, directories and globs relative to a base; bad files never raise."""

from __future__ import annotations

from pathlib import Path

from opsbook.runbooks.catalog import load_paths


def test_globs_directories_and_errors(tmp_path: Path) -> None:
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "a.md").write_text("## A\n**Alert:** `ApiDown`\n- `kubectl get pods`\n")
    (tmp_path / "rb" / "sub").mkdir()
    (tmp_path / "rb" / "sub" / "b.md").write_text("## B\n- `redis-cli ping`\n")
    (tmp_path / "rb" / "bad.md").write_bytes(b"## Bad \xff\xfe\n- `df -h`\n")
    books = load_paths(["rb/**/*.md", "rb/a.md", "missing/*.md", "nope.md"], tmp_path)
    assert [b.path for b in books] == [
        "rb/a.md",
        "rb/bad.md",
        "rb/sub/b.md",
        "missing/*.md",
        "nope.md",
    ]
    assert books[0].sections[0].alerts == ("ApiDown",)
    assert books[1].sections[0].heading == "Bad \ufffd\ufffd"
    assert books[3].errors == ("missing/*.md: no file matches",)
    assert "cannot read" in books[4].errors[0]
    by_dir = load_paths(["rb"], tmp_path)
    assert [b.path for b in by_dir] == ["rb/a.md", "rb/bad.md", "rb/sub/b.md"]
