"""`opsbook checks …`: list a running server's checks, run one check now from the config, or
propose checks from a runbook's own health-endpoint and ping steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from opsbook.cli.client import Client
from opsbook.cli.common import ConfigOpt, config_or_exit, fail, settings
from opsbook.cli.render import table

app = typer.Typer(help="Health checks: list, run one now, suggest from a runbook.",
                  no_args_is_help=True)  # fmt: skip
UrlOpt = typer.Option(None, "--url", help="server URL \\[env OPSBOOK_URL]")
TokenOpt = typer.Option(None, "--token", help="API token \\[env OPSBOOK_TOKEN]", show_default=False)
JsonOpt = typer.Option(False, "--json", help="print JSON")


def _latencies(history: list[dict[str, Any]]) -> str:
    return " ".join(f"{h['latency_ms']:.0f}" for h in history[-8:]) or "-"


@app.command("list")
def list_cmd(url: str = UrlOpt, token: str = TokenOpt, as_json: bool = JsonOpt) -> None:
    """Each check of the token's tenant: state, last result, latency (ms) of the last runs."""
    checks = Client(url, token).call("GET", "/api/v1/checks")
    if as_json:
        typer.echo(json.dumps(checks, indent=2))
        return
    rows = [
        [c["service"], c["name"], c["kind"], c["status"].upper(),
         (c["last_result"] or {}).get("summary", "-")[:70], _latencies(c["history"])]
        for c in checks
    ]  # fmt: skip
    typer.echo(table(["SERVICE", "CHECK", "KIND", "STATE", "LAST RESULT", "LATENCY MS"], rows))


@app.command("run")
def run_cmd(
    name: str = typer.Argument(..., help="CHECK or SERVICE/CHECK"),
    config: Path = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Probe one check now, from the config (no server, nothing stored or alerted).
    Exit 0 healthy, 1 unhealthy."""
    from opsbook.checks.probes import run_probe
    from opsbook.flows.steps import context_for

    cfg, _ = config_or_exit(config, settings())
    service, _, check_name = name.rpartition("/")
    found = [(svc, c) for svc in cfg.services for c in svc.checks
             if c.name == check_name and (not service or svc.name == service)]  # fmt: skip
    if not found:
        fail(f"no check {name!r} in the config; `opsbook checks list` shows them")
    if len(found) > 1:
        fail(f"{len(found)} services have a check {check_name!r}: write SERVICE/{check_name}", 2)
    svc, check = found[0]
    res = run_probe(check, context_for(svc, {}, check.timeout))
    if as_json:
        typer.echo(json.dumps(res.to_dict(), indent=2))
    else:
        mark = "✓" if res.ok else "✗"
        typer.echo(f"{mark} {svc.name}/{check.name} {res.status} {res.duration_ms:.0f} ms "
                   f"{res.summary}")  # fmt: skip
    raise typer.Exit(0 if res.ok else 1)


@app.command("suggest")
def suggest_cmd(runbook: Path = typer.Argument(..., help="a Markdown runbook")) -> None:
    """Print `checks:` YAML proposed from the runbook's health-endpoint curls and ping steps;
    review it and paste it under the service in opsbook.yaml."""
    import yaml

    from opsbook.checks.suggest import suggest
    from opsbook.runbooks.catalog import load_paths

    books = load_paths([str(runbook)], ".")
    if not books:
        fail(f"no runbook at {runbook}")
    checks = [c for rb in books for c in suggest(rb)]
    if not checks:
        typer.echo("# no health-endpoint, ping or SELECT 1 step found in this runbook")
        return
    for c in checks:
        source = c.pop("source")
        typer.echo(f"# from {source}")
        typer.echo(yaml.safe_dump({"checks": [c]}, sort_keys=False).split("\n", 1)[1], nl=False)
