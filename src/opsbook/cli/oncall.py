"""`opsbook oncall`: who is on call now, at a time, and the shifts ahead (from a running server)."""

from __future__ import annotations

import json

import typer

from opsbook.cli.client import Client
from opsbook.cli.incidents import JsonOpt, TokenOpt, UrlOpt
from opsbook.cli.render import table


def oncall(
    schedule: str = typer.Option(
        None, "--schedule", "-s", help="one schedule [default: all of your tenant]"
    ),
    at: str = typer.Option(
        None, "--at", help="an ISO time, e.g. 2026-12-24T22:00:00Z [default: now]"
    ),
    next_: str = typer.Option(
        "0d", "--next", help="also list the shifts of the next N days, e.g. 14d"
    ),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Who is on call now (or --at a time); --next 14d lists the shifts ahead."""
    days = int(next_.rstrip("d") or 0) if next_.rstrip("d").isdigit() else 0
    params: dict[str, object] = {"days": days}
    if schedule:
        params["schedule"] = schedule
    if at:
        params["at"] = at
    data = Client(url, token).call("GET", "/api/v1/oncall", params=params)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(
        table(
            ["SCHEDULE", "ON CALL", "AT (UTC)"],
            [[d["schedule"], ", ".join(d["on_call"]) or "(nobody)", d["at"][:16]] for d in data],
        )
    )
    for d in data:
        if d["next"]:
            typer.echo(f"\n{d['schedule']} ({d['timezone']}):")
            typer.echo(
                table(
                    ["FROM (UTC)", "TO (UTC)", "WHO", "LAYER"],
                    [[x["start"][:16], x["end"][:16], x["user"], x["layer"]] for x in d["next"]],
                )
            )
