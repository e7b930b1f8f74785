"""Runbook parsing speed: opsbook's whole parse next to markdown-it-py's bare tokenizing of the
same text (the floor: opsbook parses with markdown-it, then finds sections, steps and safety).

    .venv/bin/python bench/parse.py                 # 5,000 / 50,000 / 200,000 lines, best of 5
    .venv/bin/python bench/parse.py --lines 50000 --repeat 3 --json bench/results/parse.json
    .venv/bin/python bench/parse.py --mixed --lines 50000   # the world corpus, every style

``--mixed`` parses the runbooks of tests/fixtures/world_runbooks (prompt transcripts, text
blocks, inline commands, command tables, alert tables …) concatenated to the size asked, each
copy's headings renamed so that its sections stay distinct.

CPU time of this process is reported beside wall time, so a busy neighbour shows as the gap.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the generated runbook lives beside the tests that use it
    sys.path.insert(0, str(REPO))

from markdown_it import MarkdownIt  # noqa: E402
from tests.support.big_runbook import generated_runbook  # noqa: E402

from opsbook.runbooks.classify import classify  # noqa: E402
from opsbook.runbooks.parse import parse_runbook  # noqa: E402


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best CPU and best wall seconds of ``repeat`` calls."""
    cpu = wall = float("inf")
    for _ in range(repeat):
        classify.cache_clear()  # every run classifies from scratch
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu, wall = min(cpu, time.process_time() - c), min(wall, time.perf_counter() - w)
    return cpu, wall


def mixed_runbook(lines: int) -> tuple[str, int]:
    """The world corpus's runbooks concatenated to about ``lines`` lines, and their count."""
    corpus = REPO / "tests" / "fixtures" / "world_runbooks"
    docs = [p.read_text() for p in sorted(corpus.rglob("*.md")) if p.parent != corpus]
    parts: list[str] = []
    total = 0
    while docs and total < lines:
        doc = docs[len(parts) % len(docs)].replace("\n## ", f"\n## copy{len(parts)} ")
        parts.append(doc)
        total += doc.count("\n") + 1
    return "\n".join(parts), len(parts)


def measure(lines: int, repeat: int, *, mixed: bool = False) -> dict[str, Any]:
    """One size: lines/s of opsbook and of markdown-it, and their ratio."""
    text, sections = mixed_runbook(lines) if mixed else generated_runbook(lines)
    md = MarkdownIt("commonmark")
    ours_cpu, ours_wall = _best(lambda: parse_runbook(text, "big.md"), repeat)
    ref_cpu, ref_wall = _best(lambda: md.parse(text), repeat)
    n = text.count("\n")
    return {
        "lines": n,
        "sections": sections,
        "opsbook_cpu_s": round(ours_cpu, 3),
        "opsbook_wall_s": round(ours_wall, 3),
        "markdown_it_cpu_s": round(ref_cpu, 3),
        "markdown_it_wall_s": round(ref_wall, 3),
        "opsbook_lines_per_s": round(n / ours_cpu),
        "ratio": round(ours_cpu / ref_cpu, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", default="5000,50000,200000", help="comma-separated sizes")
    ap.add_argument("--repeat", type=int, default=5, help="runs per size; the best counts")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--mixed", action="store_true", help="the world corpus instead of one style")
    args = ap.parse_args()
    rows = []
    print(f"{'lines':>8} {'opsbook cpu':>12} {'wall':>7} {'markdown-it cpu':>16} {'ratio':>6}")
    for size in (int(x) for x in args.lines.split(",")):
        r = measure(size, max(1, args.repeat), mixed=args.mixed)
        rows.append(r)
        print(
            f"{r['lines']:>8} {r['opsbook_cpu_s']:>11.3f}s {r['opsbook_wall_s']:>6.3f}s "
            f"{r['markdown_it_cpu_s']:>15.3f}s {r['ratio']:>5.2f}x"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
