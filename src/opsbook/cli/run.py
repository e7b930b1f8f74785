"""`opsbook run FILE[#SECTION]`: run a runbook section's steps locally — no server, no config.

For runbook authors: variables come from --var, --env-file and the environment; read-only
steps run, anything above the allowed safety class stops the run (a terminal asks first).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from opsbook.cli.render import table

if TYPE_CHECKING:  # the executors (httpx, database drivers) load only when a run starts
    from opsbook.executors import ExecContext, StepResult
    from opsbook.runbooks.models import Runbook, Section, Step

_RANK = {"read-only": 0, "mutating": 1, "destructive": 2, "unknown": 2}
_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|PRIVATE_KEY|CREDENTIALS?)$", re.I
)
EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 1, 2, 3
_MARK = {"ok": "✓", "failed": "✗", "error": "✗", "timeout": "⏱", "unavailable": "–"}


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _interactive(as_json: bool) -> bool:
    return not as_json and sys.stdin.isatty() and sys.stderr.isatty()


def _read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; ``#`` comments, ``export`` prefixes and surrounding quotes allowed."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        _err(f"error: cannot read --env-file {path}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_USAGE) from None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            _err(f"error: {path}:{number}: expected NAME=VALUE, got {line!r}")
            raise typer.Exit(EXIT_USAGE)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _err(f"error: --var wants NAME=VALUE, got {pair!r}")
            raise typer.Exit(EXIT_USAGE)
        values[key] = value
    return values


def _describe(section: Section) -> list[str]:
    runnable = sum(1 for s in section.steps if s.executable)
    alerts = ", ".join(section.alerts) or "-"
    return [section.id, section.heading, alerts, str(runnable)]


def _list_sections(runbook: Runbook, message: str) -> None:
    _err(message)
    rows = [_describe(s) for s in runbook.sections]
    _err(table(["SECTION", "HEADING", "ALERTS", "STEPS"], rows))
    _err(
        f"\nrun one with: opsbook run {runbook.path}#SECTION   (a section id, heading or alert name)"
    )


def _find_section(runbook: Runbook, wanted: str) -> Section | None:
    found = runbook.section(wanted)
    if found:
        return found
    from opsbook.runbooks.names import normalize_key

    key = normalize_key(wanted)
    for section in runbook.sections:
        names = [section.id, section.heading, *section.alerts]
        if any(normalize_key(n) == key for n in names):
            return section
    return None


def _select(section: Section, phase: str | None, step_no: int | None) -> list[Step]:
    steps = [
        s
        for p in section.phases
        if phase is None or phase.lower() in (p.phase, p.label.lower())
        for s in p.steps
        if s.executable
    ]
    if step_no is not None:
        if not 1 <= step_no <= len(steps):
            _err(f"error: --step {step_no} is out of range: this selection has {len(steps)} steps")
            raise typer.Exit(EXIT_USAGE)
        steps = [steps[step_no - 1]]
    return steps


def _context(values: dict[str, str], timeout: float) -> ExecContext:
    from pydantic import SecretStr

    from opsbook.executors import ExecContext

    variables = {k: v for k, v in values.items() if not _SECRET_NAME.search(k)}
    secrets = {k: SecretStr(v) for k, v in values.items() if _SECRET_NAME.search(k)}
    from opsbook.core.settings import Settings

    return ExecContext(
        variables=variables,
        secrets=secrets,
        timeout=timeout,
        workdir=os.getcwd(),
        step_path=Settings().step_path,  # OPSBOOK_STEP_PATH, as the server's steps get it
    )


def _missing(steps: list[Step], ctx: ExecContext) -> list[str]:
    from opsbook.executors import MissingVariables, resolve

    names: list[str] = []
    for step in steps:
        try:
            resolve(step, ctx)
        except MissingVariables as exc:
            names += [n for n in exc.names if n not in names]
    return names


def _ask_missing(names: list[str], values: dict[str, str], interactive: bool) -> None:
    if not interactive:
        flags = " ".join(f"--var {n}=VALUE" for n in names)
        _err(f"error: missing variable{'s' if len(names) > 1 else ''}: {', '.join(names)}")
        _err(f"pass {'them' if len(names) > 1 else 'it'} with {flags} (or --env-file FILE)")
        raise typer.Exit(EXIT_USAGE)
    for name in names:
        values[name] = typer.prompt(
            f"value for {name}", hide_input=bool(_SECRET_NAME.search(name)), err=True
        )


def _gate(step: Step, allowed: int, interactive: bool, label: str) -> str | None:
    """None when the step may run; otherwise why it stopped."""
    rank = _RANK.get(step.safety, 2)
    if rank <= allowed:
        return None
    flag = "--allow mutating" if rank == 1 else "--allow destructive"
    why = f"{label} is {step.safety} ({step.reason})"
    if not interactive:
        return f"stopped before {why}; pass {flag} to run it"
    if rank == 1:
        if typer.confirm(f"{why}. Run it?", default=False, err=True):
            return None
        return f"stopped before {why}: not confirmed"
    word = step.text.split()[0] if step.text.split() else step.title
    typed = typer.prompt(
        f"{why}.\nType the step's title ({step.title!r}) or its first word ({word!r}) to run it",
        default="",
        show_default=False,
        err=True,
    )
    if typed.strip() in (step.title, word):
        return None
    return f"stopped before {why}: confirmation did not match"


def _name(step: Step) -> str:
    return step.title or " ".join(step.text.split())[:60]


def render_result(res: StepResult) -> str:
    """A result for a terminal: aligned tables, indented text and code."""
    from opsbook.executors import ChartBlock, CodeBlock, TableBlock, TextBlock

    out: list[str] = []
    for block in res.blocks:
        if isinstance(block, TableBlock):
            out.append(table(block.columns, block.rows) if block.rows else "(no rows)")
            if block.truncated:
                out.append("… (more rows not shown)")
        elif isinstance(block, TextBlock | CodeBlock):
            out.append(block.text)
        elif isinstance(block, ChartBlock):
            for s in block.series:
                points = s["points"]
                last = points[-1][1] if points else "-"
                out.append(f"chart {s['name']}: {len(points)} points, latest {last}")
    return "\n".join("    " + line for text in out for line in text.splitlines())


def _service_values(name: str, config: Path | None) -> dict[str, str]:
    """A service's variables and readable secrets, as the server's steps get them."""
    from opsbook.cli.common import config_or_exit, settings

    cfg, path = config_or_exit(config, settings())
    found = [s for s in cfg.services if s.name == name]
    if len(found) != 1:
        known = ", ".join(sorted({s.name for s in cfg.services})) or "none"
        why = "is in several tenants" if found else "is not"
        _err(f"error: service {name!r} {why} in {path}; services: {known}")
        raise typer.Exit(EXIT_USAGE)
    values = dict(found[0].variables)
    for key, ref in found[0].secrets.items():
        if ref.env and ref.env in os.environ:
            values[key] = os.environ[ref.env]
        elif ref.file:
            with contextlib.suppress(OSError):  # unreadable: asked for below, like any missing one
                values[key] = Path(ref.file).read_text(encoding="utf-8").strip()
    return values


def run_command(
    target: str = typer.Argument(..., metavar="FILE[#SECTION]", help="runbook file and section"),
    phase: str = typer.Option(None, "--phase", help="only this phase (investigate, detect, …)"),
    step_no: int = typer.Option(
        None, "--step", help="only the N-th step of the selection (1-based)"
    ),
    var: list[str] = typer.Option([], "--var", help="NAME=VALUE for a variable (repeatable)"),
    env_file: Path = typer.Option(None, "--env-file", help="file of NAME=VALUE lines"),
    dry: bool = typer.Option(False, "--dry-run", help="show the resolved commands; run nothing"),
    allow: str = typer.Option(
        "read-only", "--allow", help="highest safety class to run: mutating or destructive"
    ),
    as_json: bool = typer.Option(False, "--json", help="print all results as JSON on stdout"),
    timeout: float = typer.Option(30.0, "--timeout", help="seconds per step"),
    service: str = typer.Option(
        None,
        "--service",
        help="take variables from this service in opsbook.yaml (its variables, and its secrets "
        "from their env/file); --var and --env-file still win",
    ),
    config: Path = typer.Option(
        None, "--config", "-c", help="opsbook.yaml for --service \\[env OPSBOOK_CONFIG]"
    ),
) -> None:
    """Run a runbook section's steps here and now, in order, and show what they return.

    By default only read-only steps run; the run stops before any step above --allow (a
    terminal asks first). Secrets (names ending in PASSWORD, TOKEN, SECRET, KEY) are masked.
    Exit codes: 0 all ok, 1 a step did not succeed, 2 usage (missing section or variables),
    3 stopped before a step above the allowed safety class.
    """
    from opsbook.executors import dry_run, execute
    from opsbook.runbooks.catalog import load_file

    if allow not in ("read-only", "mutating", "destructive"):
        _err("error: --allow takes mutating or destructive")
        raise typer.Exit(EXIT_USAGE)
    file_part, _, wanted = target.partition("#")
    path = Path(file_part)
    if not path.is_file():
        _err(f"error: {file_part}: no such runbook file")
        raise typer.Exit(EXIT_USAGE)
    runbook = load_file(path, file_part)
    if runbook.errors:
        _err("error: " + "; ".join(runbook.errors))
        raise typer.Exit(EXIT_USAGE)
    if not wanted:
        _list_sections(runbook, f"{file_part}: which section? pick one of these:")
        raise typer.Exit(EXIT_USAGE)
    section = _find_section(runbook, wanted)
    if section is None:
        _list_sections(runbook, f"{file_part}: no section {wanted!r}; the sections are:")
        raise typer.Exit(EXIT_USAGE)
    steps = _select(section, phase, step_no)
    if not steps:
        _err(f"{section.heading}: no executable steps{f' in phase {phase}' if phase else ''}")
        raise typer.Exit(EXIT_USAGE)

    interactive = _interactive(as_json)
    values: dict[str, str] = {}
    needed = {n for s in steps for n in s.variables}
    values.update({k: v for k, v in os.environ.items() if k in needed})
    if service:
        values.update(_service_values(service, config))
    if env_file is not None:
        values.update(_read_env_file(env_file))
    values.update(_parse_vars(var))
    missing = _missing(steps, _context(values, timeout))
    if missing:
        _ask_missing(missing, values, interactive)
    ctx = _context(values, timeout)

    total = len(steps)
    if dry:
        shown = []
        for n, step in enumerate(steps, 1):
            command = dry_run(step, ctx)
            shown.append({"step": n, "line": step.line, "title": step.title, "kind": step.kind,
                          "safety": step.safety, "command": command})  # fmt: skip
            if not as_json:
                typer.echo(
                    f"step {n}/{total} [{step.kind}, {step.safety}] {_name(step)}\n    $ {command}"
                )
        if as_json:
            typer.echo(
                json.dumps({"file": file_part, "section": section.id, "dry_run": shown}, indent=2)
            )
        return

    allowed = _RANK[allow]
    results: list[dict[str, Any]] = []
    stopped: str | None = None
    for n, step in enumerate(steps, 1):
        label = f"step {n}/{total} {step.kind} {_name(step)!r}"
        stopped = _gate(step, allowed, interactive, label)
        if stopped:
            _err(f"■ {stopped}")
            break
        first = " ".join(dry_run(step, ctx).split())[:60]
        _err(f"▶ step {n}/{total} {step.kind} {first} …")
        res = execute(step, ctx)
        _err(f"  {_MARK[res.status]} {res.status} {res.duration_ms:.0f} ms  {res.summary}")
        if not as_json:
            body = render_result(res)
            if body:
                typer.echo(body)
        results.append({"step": n, "line": step.line, "title": step.title, "kind": step.kind,
                        "safety": step.safety, "result": res.to_dict()})  # fmt: skip
    if as_json:
        doc = {"file": file_part, "section": section.id, "results": results, "stopped": stopped}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    if any(r["result"]["status"] != "ok" for r in results):
        raise typer.Exit(EXIT_FAILED)
    if stopped:
        raise typer.Exit(EXIT_STOPPED)
