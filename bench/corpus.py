"""How well the reader reads runbooks it has never seen: every fixture under
tests/fixtures/world_runbooks/**/NAME.md is parsed and compared with NAME.truth.yaml
(format in that folder's README.md). Prints one row of figures per style.

    .venv/bin/python bench/corpus.py                 # table per style, then the differences
    .venv/bin/python bench/corpus.py --quiet         # the table only

tests/unit/runbooks/test_world_corpus.py uses ``load_cases`` and ``compare`` from here, so the
figures and the test can never disagree.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from opsbook.runbooks.models import Runbook, Section, Step  # noqa: E402
from opsbook.runbooks.parse import parse_runbook  # noqa: E402

CORPUS = REPO / "tests" / "fixtures" / "world_runbooks"
SAFETIES = ("read-only", "mutating", "destructive", "unknown")


@dataclass(frozen=True)
class Case:
    """One fixture: the Markdown file, its truth file and the truth as read."""

    markdown: Path
    truth_path: Path
    truth: dict[str, Any]

    @property
    def name(self) -> str:
        """The fixture's path inside the corpus, for test ids and messages."""
        return str(self.markdown.relative_to(CORPUS))

    @property
    def style(self) -> str:
        """The style the truth names (figures are reported per style)."""
        return str(self.truth.get("style") or "unstyled")


@dataclass
class Result:
    """What differs between the reader and the truth for one document, with counts."""

    name: str
    style: str
    problems: list[str] = field(default_factory=list)
    sections: int = 0
    sections_found: int = 0
    alerts: int = 0
    alerts_bound: int = 0
    severities: int = 0
    severities_right: int = 0
    commands: int = 0
    commands_found: int = 0
    kind_right: int = 0
    safety_right: int = 0
    risky: int = 0
    """Truth commands that are mutating, destructive or unknown."""
    risky_missed: int = 0
    """Of those, how many are not steps at all or were read as read-only."""
    extra_steps: int = 0
    """Executable steps the truth does not list (each one also is a problem)."""


def _check_truth(truth: object, where: Path) -> dict[str, Any]:
    """The truth as a dict, or ValueError naming the file and the field that is wrong."""
    if not isinstance(truth, dict):
        raise ValueError(f"{where}: truth must be a mapping")
    for key in ("sections", "commands", "not_steps"):
        value = truth.get(key) or []
        if not isinstance(value, list):
            raise ValueError(f"{where}: {key} must be a list")
        truth[key] = value
    for i, sec in enumerate(truth["sections"]):
        if not isinstance(sec, dict) or not isinstance(sec.get("id"), str):
            raise ValueError(f"{where}: sections[{i}] needs an id")
        if not isinstance(sec.get("alerts") or [], list):
            raise ValueError(f"{where}: sections[{i}].alerts must be a list")
        sev = sec.get("severity")
        if sev is not None and sev not in ("P0", "P1", "P2", "P3"):
            raise ValueError(f"{where}: sections[{i}].severity must be P0..P3 or null")
    for i, cmd in enumerate(truth["commands"]):
        if not isinstance(cmd, dict) or not all(
            isinstance(cmd.get(k), str) for k in ("section", "text", "kind", "safety")
        ):
            raise ValueError(f"{where}: commands[{i}] needs section, text, kind and safety")
        if cmd["safety"] not in SAFETIES:
            raise ValueError(f"{where}: commands[{i}].safety must be one of {SAFETIES}")
    return truth


def load_cases(root: Path = CORPUS) -> list[Case]:
    """Every NAME.md under root that has a NAME.truth.yaml beside it, sorted by path."""
    cases = []
    for md in sorted(root.rglob("*.md")):
        if md.name.lower() == "readme.md" and md.parent == root:
            continue
        truth_path = md.with_name(md.stem + ".truth.yaml")
        if not truth_path.is_file():
            continue
        truth = _check_truth(yaml.safe_load(truth_path.read_text(encoding="utf-8")), truth_path)
        cases.append(Case(md, truth_path, truth))
    return cases


def parse_case(case: Case) -> Runbook:
    """The fixture as the reader reads it (path relative to the corpus, as a catalog would)."""
    return parse_runbook(case.markdown.read_text(encoding="utf-8"), case.name)


def _short(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    return first if len(first) <= 70 else first[:67] + "…"


def _where(rb: Runbook, step: Step) -> str:
    sec = next((s for s in rb.sections if step in s.steps), None)
    return sec.id if sec else "?"


def _interactive(step: Step) -> bool:
    return bool(getattr(step, "interactive", False))


def compare(case: Case, rb: Runbook | None = None) -> Result:
    """Compare the reader's view of one fixture with its truth."""
    rb = rb if rb is not None else parse_case(case)
    truth = case.truth
    res = Result(case.name, case.style)
    by_id: dict[str, Section] = {}
    for s in rb.sections:
        by_id.setdefault(s.id, s)
    truth_ids = {sec["id"] for sec in truth["sections"]}
    for sec in truth["sections"]:
        res.sections += 1
        want_alerts = sorted(set(sec.get("alerts") or []))
        want_sev = sec.get("severity")
        res.alerts += len(want_alerts)
        res.severities += 1
        got = by_id.get(sec["id"])
        if got is None:
            res.problems.append(
                f"section {sec['id']!r} not found; reader has: {', '.join(by_id) or 'none'}"
            )
            continue
        res.sections_found += 1
        got_alerts = sorted(set(got.alerts))
        res.alerts_bound += len(set(want_alerts) & set(got_alerts))
        if got_alerts != want_alerts:
            res.problems.append(f"section {sec['id']!r}: alerts {got_alerts} != {want_alerts}")
        if got.severity_normalized == want_sev:
            res.severities_right += 1
        else:
            res.problems.append(
                f"section {sec['id']!r}: severity {got.severity_normalized} "
                f"(written {got.severity!r}) != {want_sev}"
            )
    for s in rb.sections:
        if s.alerts and s.id not in truth_ids:
            res.problems.append(
                f"section {s.id!r} (line {s.line}) binds {list(s.alerts)} but the truth has no "
                "such section"
            )
    used: set[int] = set()
    for cmd in truth["commands"]:
        res.commands += 1
        risky = cmd["safety"] != "read-only"
        res.risky += risky
        sec = by_id.get(cmd["section"])
        candidates = [st for st in (sec.steps if sec else ()) if st.executable]
        step = next(
            (st for st in candidates if id(st) not in used and cmd["text"] in st.text), None
        )
        if step is None:
            res.risky_missed += risky
            elsewhere = next(
                (
                    st
                    for s in rb.sections
                    for st in s.steps
                    if cmd["text"] in st.text and id(st) not in used
                ),
                None,
            )
            hint = ""
            if elsewhere is not None:
                hint = (
                    f" (found in section {_where(rb, elsewhere)!r} line {elsewhere.line} as "
                    f"{'executable ' + elsewhere.kind if elsewhere.executable else 'text'})"
                )
            res.problems.append(
                f"command {cmd['text']!r} not an executable step of {cmd['section']!r}{hint}"
            )
            continue
        used.add(id(step))
        res.commands_found += 1
        if step.kind == cmd["kind"]:
            res.kind_right += 1
        else:
            res.problems.append(
                f"line {step.line} {cmd['text']!r}: kind {step.kind} != {cmd['kind']}"
            )
        if step.safety == cmd["safety"]:
            res.safety_right += 1
        else:
            res.problems.append(
                f"line {step.line} {cmd['text']!r}: safety {step.safety} != {cmd['safety']} "
                f"({step.reason})"
            )
        if risky and step.safety == "read-only":
            res.risky_missed += 1
        want_inter = bool(cmd.get("interactive", False))
        if _interactive(step) != want_inter:
            res.problems.append(
                f"line {step.line} {cmd['text']!r}: interactive {_interactive(step)} != {want_inter}"
            )
    for s in rb.sections:
        for st in s.steps:
            if not st.executable:
                continue
            for text in truth["not_steps"]:
                if text in st.text:
                    res.problems.append(
                        f"line {st.line} in {s.id!r}: {text!r} must not be an executable step "
                        f"(read as {st.kind}: {_short(st.text)!r})"
                    )
            if id(st) not in used:
                res.extra_steps += 1
                res.problems.append(
                    f"line {st.line} in {s.id!r}: executable step not in the truth: "
                    f"{st.kind} {st.safety} {_short(st.text)!r}"
                )
    return res


_COLUMNS = (
    ("docs", None),
    ("sections", ("sections_found", "sections")),
    ("alerts", ("alerts_bound", "alerts")),
    ("severity", ("severities_right", "severities")),
    ("commands", ("commands_found", "commands")),
    ("kind", ("kind_right", "commands")),
    ("safety", ("safety_right", "commands")),
    ("risky missed", ("risky_missed", "risky")),
    ("extra steps", ("extra_steps", None)),
)


def figures(results: Iterable[Result]) -> dict[str, dict[str, int]]:
    """Summed counts per style, plus an "all" row."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        for style in (r.style, "all"):
            row = out.setdefault(style, {"docs": 0, "clean": 0})
            row["docs"] += 1
            row["clean"] += not r.problems
            for name in Result.__dataclass_fields__:
                value = getattr(r, name)
                if isinstance(value, int):
                    row[name] = row.get(name, 0) + value
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == "all", kv[0])))


def table(rows: dict[str, dict[str, int]]) -> str:
    """Figures as a fixed-width text table: found/total (percent) per column."""
    head = ["style", "docs", "clean"] + [c for c, _ in _COLUMNS[1:]]
    lines = [head]
    for style, row in rows.items():
        cells = [style, str(row["docs"]), str(row["clean"])]
        for _, spec in _COLUMNS[1:]:
            assert spec is not None
            num, den = spec
            if den is None:
                cells.append(str(row.get(num, 0)))
                continue
            n, d = row.get(num, 0), row.get(den, 0)
            cells.append(f"{n}/{d}" + (f" {100 * n // d}%" if d else ""))
        lines.append(cells)
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table per style (and, unless --quiet, every difference)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=CORPUS)
    ap.add_argument("--quiet", action="store_true", help="only the table")
    ap.add_argument("--style", help="only documents of this style")
    args = ap.parse_args(argv)
    cases = [c for c in load_cases(args.root) if not args.style or c.style == args.style]
    results = [compare(c) for c in cases]
    if not args.quiet:
        for r in results:
            for p in r.problems:
                print(f"{r.name}: {p}")
        print()
    print(table(figures(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
