"""`opsbook routes test`: where an alert with these labels would go, and who would be paged now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from opsbook.cli.common import fail
from opsbook.cli.incidents import JsonOpt, TokenOpt, UrlOpt
from opsbook.cli.render import when

app = typer.Typer(
    help="Check routing before an alert fires: route, service, severity, runbook and who is paged.",
    no_args_is_help=True,
)


def parse_labels(pairs: list[str], joined: str | None) -> dict[str, str]:
    """``["a=b", "c=d"]`` plus ``"e=f,g=h"`` → a dict; exits 2 naming a pair without ``=``."""
    items = list(pairs)
    if joined:
        items += [x for x in joined.split(",") if x.strip()]
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            fail(f"label {item!r} is not NAME=VALUE (e.g. alertname=HighErrorRate)", 2)
        out[name] = value.strip().strip('"')
    if not out:
        fail("give at least one label, e.g. `opsbook routes test alertname=X severity=critical`", 2)
    return out


def _local(
    config_path: Path, labels: dict[str, str], annotations: dict[str, str], tenant: str
) -> dict[str, Any]:
    """Evaluate against a config file, without a server: no overrides or silences are known."""
    from opsbook.cli.common import config_or_exit, settings
    from opsbook.core.clock import SystemClock
    from opsbook.flows.route_test import explain_route, verdict_json
    from opsbook.flows.runbook_catalog import RunbookCatalog

    cfg, path = config_or_exit(config_path, settings())
    catalog = RunbookCatalog.load(cfg, path.parent)
    verdict = explain_route(
        cfg, catalog, tenant, labels, SystemClock().now(), annotations=annotations
    )
    out = verdict_json(verdict)
    notes = out["notes"]
    assert isinstance(notes, list)
    notes.append(
        "evaluated from the config file: overrides and silences on the server are not seen"
    )
    return out


def _minutes(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def render(v: dict[str, Any]) -> str:
    """The verdict as a few aligned lines, the way a person checks a route."""
    labels = ", ".join(f'{k}="{val}"' for k, val in v["labels"].items())
    lines = [
        f"labels     {{{labels}}}",
        f"route      {v['route']}",
        f"service    {v['service']}  severity {v['severity']}  "
        f"(acknowledge within {_minutes(v['ack_within_seconds'])})",
        "grouped by " + (", ".join(f"{k}={val}" for k, val in v["group_labels"].items()) or "-"),
        f"quiet      {v['quiet'] or 'no (it would open or join an incident)'}",
    ]
    rb = v["runbook"]
    if rb:
        how = "suggested, full-text" if rb.get("suggested") else rb["rule"]
        lines.append(f"runbook    {rb['path']}#{rb['section']}  ({how})")
    else:
        lines.append("runbook    none matched")
    policy = v["escalation_policy"]
    repeat = f", repeats {v['repeat']}x" if v["repeat"] else ""
    lines.append(f"policy     {policy or 'none'}{repeat}")
    for lv in v["levels"]:
        people = ", ".join(
            p["user"]
            + (f" ({', '.join(p['channels'])})" if p["channels"] else "")
            + (f" [{p['note']}]" if p["note"] else "")
            for p in lv["people"]
        )
        extra = f" [{lv['note']}]" if lv["note"] else ""
        lines.append(
            f"  level {lv['level']} at +{_minutes(lv['fires_after_seconds'])}: {people or '-'}{extra}"
        )
    if v["quiet"]:
        lines.append("pages now  nobody: the alert would be kept quiet")
    elif v["pages_now"]:
        lines.append(f"pages now  {', '.join(v['pages_now'])}")
    else:
        lines.append(f"pages now  NOBODY: {v['nobody_paged']}")
    lines += [f"note       {n}" for n in v["notes"]]
    lines.append(f"at         {when(v['at'])}")
    return "\n".join(lines)


@app.command("test")
def test(
    pairs: list[str] = typer.Argument(
        None, help="labels as NAME=VALUE, e.g. alertname=X severity=critical"
    ),
    labels: str = typer.Option(None, "--labels", "-l", help="labels as one comma-separated list"),
    annotation: list[str] = typer.Option(
        None, "--annotation", "-a", help="an annotation NAME=VALUE (runbook_url helps matching)"
    ),
    at: str = typer.Option(
        None, "--at", help="an ISO time with zone \\[default: now; server only]"
    ),
    config: Path = typer.Option(
        None,
        "--config",
        "-c",
        help="evaluate this opsbook.yaml locally instead of asking the server",
    ),
    tenant: str = typer.Option("default", "--tenant", help="tenant, with --config only"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Where an alert with these labels would go: route, service, severity, silence, runbook
    section, escalation policy and who each level would page now. Nothing is stored or sent.

    `opsbook routes test alertname=HighErrorRate severity=critical job=api` asks the server (its
    overrides and silences count); add `--config opsbook.yaml` to check a config file offline.
    Exit code 0 when someone would be paged (or the alert is deliberately quiet), 1 when nobody.
    """
    wanted = parse_labels(pairs or [], labels)
    notes = parse_labels(annotation, None) if annotation else {}
    if config is not None:
        out = _local(config, wanted, notes, tenant)
    else:
        from opsbook.cli.client import Client

        body: dict[str, Any] = {"labels": wanted, "annotations": notes}
        if at:
            body["at"] = at
        out = Client(url, token).call("POST", "/api/v1/routes/test", json=body)
    typer.echo(json.dumps(out, indent=2) if as_json else render(out))
    if not out["quiet"] and not out["pages_now"]:
        raise typer.Exit(1)
