"""Load runbooks from paths and globs (as ``runbooks:`` in opsbook.yaml lists them).

A file that cannot be read becomes a Runbook with an error recorded; loading never raises.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from opsbook.runbooks.models import Runbook
from opsbook.runbooks.parse import parse_runbook

MAX_BYTES = 5 * 1024 * 1024
_SUFFIXES = (".md", ".markdown", ".mdx", ".txt")


def _expand(pattern: str, base: Path) -> list[Path]:
    full = pattern if os.path.isabs(pattern) else str(base / pattern)
    if any(c in pattern for c in "*?["):
        return [Path(p) for p in sorted(glob.glob(full, recursive=True)) if Path(p).is_file()]
    path = Path(full)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
    return [path]


def _display(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_file(path: Path, display: str) -> Runbook:
    """Read and parse one file; unreadable or oversized files become a Runbook with an error."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return Runbook(
                path=display,
                title=path.stem,
                errors=(f"{display}: {size} bytes is larger than {MAX_BYTES}",),
            )
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        return Runbook(
            path=display,
            title=path.stem,
            errors=(f"{display}: cannot read: {exc.strerror or exc}",),
        )
    return parse_runbook(text, display)


def load_paths(patterns: list[str], base_dir: str | os.PathLike[str] = ".") -> list[Runbook]:
    """Runbooks for files, directories (every Markdown file below) and globs (``**`` allowed),
    relative to ``base_dir``; each file once, in pattern order."""
    base = Path(base_dir)
    seen: set[Path] = set()
    out: list[Runbook] = []
    for pattern in patterns:
        paths = _expand(pattern, base)
        if not paths:
            out.append(
                Runbook(path=pattern, title=pattern, errors=(f"{pattern}: no file matches",))
            )
        for path in paths:
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
            out.append(load_file(path, _display(path, base)))
    return out
