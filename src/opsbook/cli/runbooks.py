"""`opsbook runbooks …`: read, lint, show and export Markdown runbooks, offline (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsbook.cli.common import config_or_exit, fail, settings

if TYPE_CHECKING:  # imported inside the commands: keeps `opsbook --help` fast
    from opsbook.runbooks.lint import Finding
    from opsbook.runbooks.models import Runbook, Section

app = typer.Typer(
    help="Read, lint, show and export Markdown runbooks (works offline, no server).",
    no_args_is_help=True,
)

_BADGE = {
    "read-only": "read-only",
    "mutating": "MUTATING",
    "destructive": "DESTRUCTIVE",
    "unknown": "UNKNOWN",
}


def _load(paths: list[str], *, strict: bool = False) -> list[Runbook]:
    """The runbooks at ``paths``; ``strict`` (show, export): a path that matches nothing or
    cannot be read is an error (exit 1), not an empty runbook."""
    from opsbook.runbooks.catalog import load_paths

    books = load_paths(paths, ".")
    if not books:
        fail("no runbook found; give files, directories or globs such as docs/runbooks/*.md")
    broken = [err for b in books if not b.sections for err in b.errors]
    if strict and broken:
        fail("; ".join(broken) + " (give runbook files, directories or globs that exist)")
    return books


@app.command("lint")
def lint_cmd(
    paths: list[str] = typer.Argument(
        None, help="files, directories or globs \\[default: every service's runbooks]"
    ),
    rules: list[Path] = typer.Option(
        None, "--rules", help="Prometheus rule file: every alert needs a section"
    ),
    config: Path = typer.Option(
        None, "--config", "-c", help="opsbook.yaml: check variables against services"
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="list every line not classified, also for full scores"
    ),
) -> None:
    """Report what a reviewer would flag, as file:line, then per document a 0–100 score with
    the top reasons it is lower and the lines that could not be classified (and why).
    Exit 1 on errors, so it can gate CI."""
    from opsbook.runbooks.catalog import load_paths
    from opsbook.runbooks.lint import alerts_from_rules_yaml, lint

    known: set[str] | None = None
    if config is not None or not paths:
        cfg, cfg_path = config_or_exit(config, settings())
        known = {n for s in cfg.services for n in (*s.variables, *s.secrets)}
        if not paths:
            books = load_paths([p for s in cfg.services for p in s.runbooks], cfg_path.parent)
        else:
            books = _load(paths)
    else:
        books = _load(paths)
    rule_alerts: list[str] = []
    rules_label = "rules"
    for r in rules or []:
        try:
            rule_alerts += alerts_from_rules_yaml(r.read_text(encoding="utf-8"))
        except OSError as exc:
            fail(f"cannot read {r}: {exc.strerror}")
        rules_label = str(r)
    findings = lint(books, known, rule_alerts or None, rules_path=rules_label)
    for f in findings:
        typer.echo(str(f))
    _print_reviews(books, findings, verbose=verbose)
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    steps = sum(len(s.steps) for b in books for s in b.sections)
    typer.echo(
        f"{len(books)} runbooks, {sum(len(b.sections) for b in books)} sections, {steps} steps: "
        f"{errors} errors, {warnings} warnings",
        err=True,
    )
    raise typer.Exit(1 if errors else 0)


def _print_reviews(books: list[Runbook], findings: list[Finding], *, verbose: bool) -> None:
    """Per document: its score and reasons, and what could not be classified (at most 10
    lines each unless --verbose)."""
    from opsbook.runbooks.review import review

    for rb in books:
        try:
            text = Path(rb.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
        rev = review(rb, findings, text)
        if rev.score == 100 and not verbose:
            continue
        typer.echo(rev.summary())
        shown = rev.unclassified if verbose else rev.unclassified[:10]
        for u in shown:
            typer.echo(f"  {rb.path}:{u.line}: not classified: {u.text[:70]} — {u.why}")
        if len(rev.unclassified) > len(shown):
            typer.echo(f"  … {len(rev.unclassified) - len(shown)} more (--verbose)")


def _print_section(s: Section) -> None:
    head = f"\n{s.heading}  (line {s.line}"
    head += f", alerts: {', '.join(s.alerts)}" if s.alerts else ""
    head += f", severity: {s.severity} → {s.severity_normalized}" if s.severity else ""
    typer.echo(head + ")")
    if s.threshold:
        typer.echo(f"  threshold: {s.threshold}")
    for sym in s.symptoms:
        typer.echo(f"  symptom: {sym}")
    for phase in s.phases:
        typer.echo(f"  [{phase.phase}] {phase.label}  (line {phase.line})")
        for i, step in enumerate(phase.steps, 1):
            first = step.text.strip().splitlines()[0] if step.text.strip() else step.title
            if step.executable:
                kind = step.kind + (f"→{step.inner_kind}" if step.inner_kind else "")
                typer.echo(
                    f"    {i:>2}. {_BADGE.get(step.safety, step.safety):<11} {kind:<14} {first[:90]}"
                )
                if step.safety != "read-only":
                    typer.echo(f"        why: {step.reason}")
                if step.variables:
                    typer.echo(f"        needs: {', '.join(step.variables)}")
            else:
                typer.echo(
                    f"    {i:>2}. {'':<11} {step.kind if step.kind != 'text' else '':<14} {first[:90]}"
                )


@app.command("show")
def show(
    path: str = typer.Argument(..., help="a runbook file"),
    section: str = typer.Option(
        None, "--section", "-s", help="only this section (id, heading or alert name)"
    ),
) -> None:
    """Print a runbook's structure: sections, alerts, phases, and each step with its kind and safety."""
    for rb in _load([path], strict=True):
        for err in rb.errors:
            typer.echo(f"error: {err}", err=True)
        typer.echo(f"{rb.path}: {rb.title}")
        chosen = list(rb.sections)
        if section:
            chosen = [s for s in rb.sections if section in (s.id, s.heading) or section in s.alerts]
            if not chosen:
                fail(
                    f"no section {section!r} in {rb.path}; sections: {', '.join(s.id for s in rb.sections)}"
                )
        for s in chosen:
            _print_section(s)


@app.command("explain")
def explain_cmd(
    target: str = typer.Argument(
        ..., metavar="FILE#SECTION", help="a runbook file and a section id, heading or alert"
    ),
) -> None:
    """Show how each line of a section was read: heading, field, phase, step (kind, safety,
    why), code-block output, prose. Exit 1 when the section is unknown or ambiguous."""
    from opsbook.runbooks.catalog import load_file
    from opsbook.runbooks.explain import explain, find_section

    file_part, _, wanted = target.partition("#")
    path = Path(file_part)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file_part}: {getattr(exc, 'strerror', None) or exc}")
    rb = load_file(path, file_part)
    ids = ", ".join(s.id for s in rb.sections) or "none"
    if not wanted:
        fail(f"which section of {file_part}? give FILE#SECTION; sections: {ids}")
    section, candidates = find_section(rb, wanted)
    if section is None and candidates:
        fail(
            f"{wanted!r} is ambiguous in {file_part}: it could be "
            + ", ".join(f"{s.id} (line {s.line})" for s in candidates)
            + "; give one of these ids"
        )
    if section is None:
        fail(f"no section {wanted!r} in {file_part}; sections: {ids}")
    head = f"{file_part}#{section.id}: {section.heading} (lines {section.line}–{section.end_line}"
    head += f", alerts: {', '.join(section.alerts)}" if section.alerts else ""
    if section.severity:
        head += f", severity: {section.severity} → {section.severity_normalized}"
    typer.echo(head + ")")
    for r in explain(rb, section, text):
        typer.echo(f"{r.line:>5}  {r.reading[:78]:<78}  {r.text[:80]}".rstrip())


@app.command("export")
def export(
    paths: list[str] = typer.Argument(..., help="files, directories or globs"),
    fmt: str = typer.Option(
        "json", "--format", "-f", help="json (documented in docs/runbook-format.md)"
    ),
) -> None:
    """Print the parsed model in the stable JSON format."""
    if fmt != "json":
        fail(f"unknown format {fmt!r}; only json is supported")
    from opsbook.runbooks.export import to_json_dict

    typer.echo(json.dumps(to_json_dict(_load(paths, strict=True)), indent=2, ensure_ascii=False))
