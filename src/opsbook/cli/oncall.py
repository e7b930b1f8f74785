"""`opsbook oncall`: who is on call now, at a time, and the shifts ahead (from a running server)."""

from __future__ import annotations

import json

import typer

from opsbook.cli.client import Client
from opsbook.cli.incidents import JsonOpt, TokenOpt, UrlOpt
from opsbook.cli.render import table, when


def oncall(
    schedule: str = typer.Option(
        None, "--schedule", "-s", help="one schedule \\[default: all of your tenant]"
    ),
    at: str = typer.Option(
        None, "--at", help="an ISO time, e.g. 2026-12-24T22:00:00Z \\[default: now]"
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
            ["SCHEDULE", "ON CALL", "AT"],
            [[d["schedule"], ", ".join(d["on_call"]) or "(nobody)", when(d["at"])] for d in data],
        )
    )
    for d in data:
        if d["next"]:
            typer.echo(f"\n{d['schedule']} ({d['timezone']}):")
            typer.echo(
                table(
                    ["FROM", "TO", "WHO", "LAYER"],
                    [[when(x["start"]), when(x["end"]), x["user"], x["layer"]] for x in d["next"]],
                )
            )


overrides_app = typer.Typer(
    help="Cover someone's shift: overrides made at run time, kept in the database.",
    no_args_is_help=True,
)


@overrides_app.command("add")
def override_add(
    schedule: str = typer.Option(..., "--schedule", "-s"),
    user: str = typer.Option(..., "--user", "-u", help="who covers"),
    start: str = typer.Option(..., "--from", help="ISO time with zone, e.g. 2026-12-24T18:00:00Z"),
    end: str = typer.Option(..., "--to", help="ISO time with zone"),
    replaces: str = typer.Option(None, "--replaces", help="only this person's time"),
    url: str = UrlOpt,
    token: str = TokenOpt,
) -> None:
    """`opsbook overrides add -s primary -u bob --replaces alice --from … --to …`"""
    body = {"user": user, "replaces": replaces, "start": start, "end": end}
    out = Client(url, token).call("POST", f"/api/v1/schedules/{schedule}/overrides", json=body)
    typer.echo(
        f"{out['id']}: {user} covers {schedule}"
        + (f" for {replaces}" if replaces else "")
        + f" from {when(out['start'])} to {when(out['end'])}"
    )


@overrides_app.command("list")
def override_list(
    schedule: str = typer.Option(..., "--schedule", "-s"), url: str = UrlOpt, token: str = TokenOpt
) -> None:
    rows = Client(url, token).call("GET", f"/api/v1/schedules/{schedule}/overrides")
    typer.echo(
        table(
            ["ID", "WHO", "REPLACES", "FROM", "TO", "BY"],
            [
                [
                    o["id"],
                    o["user"],
                    o["replaces"] or "-",
                    when(o["start"]),
                    when(o["end"]),
                    o["created_by"],
                ]
                for o in rows
            ],
        )
    )


@overrides_app.command("remove")
def override_remove(
    override_id: str,
    schedule: str = typer.Option(..., "--schedule", "-s"),
    url: str = UrlOpt,
    token: str = TokenOpt,
) -> None:
    Client(url, token).call("DELETE", f"/api/v1/schedules/{schedule}/overrides/{override_id}")
    typer.echo(f"removed {override_id}")
