"""`opsbook rollout …`: canary rollouts of a running server (start, status, pause, promote, abort)."""

from __future__ import annotations

import json
from typing import Any

import typer

from opsbook.cli.client import Client
from opsbook.cli.incidents import JsonOpt, TokenOpt, UrlOpt
from opsbook.cli.render import table, when

app = typer.Typer(
    help="Canary rollouts: shift traffic in steps, judged by SLO gates, rolled back on failure.",
    no_args_is_help=True,
)


def _line(r: dict[str, Any]) -> str:
    step = f"step {r['step']}/{len(r['steps'])}" if r["steps"] else f"step {r['step']}"
    extra = f" — {r['reason']}" if r["reason"] else ""
    inc = f" (incident {r['incident_id']})" if r["incident_id"] else ""
    return f"{r['id']}  {r['service']} {r['version']}: {r['status']} at {r['weight']} %, {step}{extra}{inc}"


def _detail(r: dict[str, Any]) -> None:
    typer.echo(_line(r))
    typer.echo(f"  started {when(r['started_at'])} by {r['started_by']}")
    latest: dict[str, dict[str, Any]] = {}
    for e in r["evaluations"]:
        latest[e["gate"]] = e
    if r["gates"]:
        rows = []
        for g in r["gates"]:
            e = latest.get(g["name"])
            bound = ", ".join(
                f"{k} {g[k]:g}"
                for k in ("max", "min", "max_increase", "max_ratio")
                if g[k] is not None
            )
            value = "-" if e is None or e["value"] is None else f"{e['value']:.4g}"
            rows.append([g["name"], value, bound, e["verdict"] if e else "-"])
        typer.echo(table(["GATE", "VALUE", "THRESHOLD", "VERDICT"], rows))
    for ev in r["events"][-10:]:
        weight = f" {ev['weight']} %" if "weight" in ev else ""
        typer.echo(f"  {when(ev['at'])}  {ev['event']}{weight}  {ev.get('reason', '')}".rstrip())


@app.command("start")
def start(
    service: str = typer.Argument(..., help="the rollout plan's name or its service"),
    version: str = typer.Option(..., "--version", "-v", help="the version being rolled out"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Start rolling out VERSION: `opsbook rollout start checkout-api --version v2.4.1`."""
    r = Client(url, token).call(
        "POST", "/api/v1/rollouts", json={"service": service, "version": version}
    )
    typer.echo(json.dumps(r, indent=2) if as_json else _line(r))


@app.command("status")
def status(
    rollout_id: str = typer.Argument(None, help="one rollout \\[default: list the newest]"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The newest rollouts, or one with its gates' latest values and its history."""
    c = Client(url, token)
    if rollout_id:
        r = c.call("GET", f"/api/v1/rollouts/{rollout_id}")
        if as_json:
            typer.echo(json.dumps(r, indent=2))
        else:
            _detail(r)
        return
    rows = c.call("GET", "/api/v1/rollouts")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no rollouts yet; start one with `opsbook rollout start SERVICE --version V`")
    for r in rows:
        typer.echo(_line(r))


def _act(action: str, rollout_id: str, url: str | None, token: str | None, as_json: bool) -> None:
    r = Client(url, token).call("POST", f"/api/v1/rollouts/{rollout_id}/{action}")
    typer.echo(json.dumps(r, indent=2) if as_json else _line(r))


@app.command("pause")
def pause(
    rollout_id: str, url: str = UrlOpt, token: str = TokenOpt, as_json: bool = JsonOpt
) -> None:
    """Hold the current step; gates are still judged and a failure still rolls back."""
    _act("pause", rollout_id, url, token, as_json)


@app.command("resume")
def resume(
    rollout_id: str, url: str = UrlOpt, token: str = TokenOpt, as_json: bool = JsonOpt
) -> None:
    """Go on with the steps after a pause."""
    _act("resume", rollout_id, url, token, as_json)


@app.command("promote")
def promote(
    rollout_id: str, url: str = UrlOpt, token: str = TokenOpt, as_json: bool = JsonOpt
) -> None:
    """Skip the remaining steps: 100 % to the new version now (commanders)."""
    _act("promote", rollout_id, url, token, as_json)


@app.command("abort")
def abort(
    rollout_id: str, url: str = UrlOpt, token: str = TokenOpt, as_json: bool = JsonOpt
) -> None:
    """Traffic back to 0 % now and stop; no incident is opened."""
    _act("abort", rollout_id, url, token, as_json)
