"""`opsbook silences add|list|expire`: Alertmanager-style silences on a running server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer

from opsbook.cli.client import Client
from opsbook.cli.common import fail
from opsbook.cli.render import table, when

app = typer.Typer(
    help="Silence alerts by label matchers (token from OPSBOOK_TOKEN, server from OPSBOOK_URL).",
    no_args_is_help=True,
)
UrlOpt = typer.Option(
    None, "--url", help="server URL \\[env OPSBOOK_URL; default http://127.0.0.1:8080]"
)
TokenOpt = typer.Option(None, "--token", help="API token \\[env OPSBOOK_TOKEN]", show_default=False)
JsonOpt = typer.Option(False, "--json", help="print the raw JSON answer")


@app.command("add")
def add(
    matchers: list[str] = typer.Argument(..., help="label matchers: job=api 'env=~\"prod|stage\"'"),
    duration: str = typer.Option("2h", "--duration", "-d", help="how long, e.g. 30m, 2h, 1d"),
    comment: str = typer.Option(..., "--comment", "-c", help="why (shown to everyone)"),
    force: bool = typer.Option(False, "--force", help="admin only: skip the guardrails"),
    url: str | None = UrlOpt,
    token: str | None = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Silence matching alerts now for --duration; they are kept but open no incident."""
    from opsbook.config.durations import parse_duration

    try:
        length = parse_duration(duration)
    except ValueError as exc:
        fail(str(exc))
    ends = datetime.now(UTC) + length
    body = {"matchers": matchers, "endsAt": ends.isoformat(), "comment": comment, "force": force}
    out = Client(url, token).call("POST", "/api/v1/silences", json=body)
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(
        f"{out['id']}  {out['status']['state']} until {when(out['endsAt'])}  "
        + " ".join(out["matchers"])
    )


@app.command("list")
def list_(
    state: str | None = typer.Option(None, "--state", help="pending, active or expired"),
    url: str | None = UrlOpt,
    token: str | None = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The tenant's silences, latest end first."""
    params = {"state": state} if state else {}
    out = Client(url, token).call("GET", "/api/v1/silences", params=params)
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    rows = [
        [
            s["id"],
            s["status"]["state"],
            when(s["endsAt"]),
            s["createdBy"],
            " ".join(s["matchers"]),
            s["comment"],
        ]
        for s in out
    ]
    typer.echo(
        table(["ID", "STATE", "ENDS", "BY", "MATCHERS", "COMMENT"], rows, flex=[4, 5])
        if rows
        else "no silences"
    )


@app.command("expire")
def expire(
    silence_id: str = typer.Argument(..., help="the silence id (from `opsbook silences list`)"),
    url: str | None = UrlOpt,
    token: str | None = TokenOpt,
) -> None:
    """End a silence now; matching alerts open incidents again."""
    out = Client(url, token).call("DELETE", f"/api/v1/silences/{silence_id}")
    typer.echo(f"{out['id']}  expired at {when(out['endsAt'])}")
