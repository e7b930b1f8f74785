"""`opsbook heartbeats …`: a running server's dead man's switches — list them, or ping one."""

from __future__ import annotations

import json

import typer

from opsbook.cli.client import Client
from opsbook.cli.render import table

app = typer.Typer(help="Heartbeats (dead man's switches): list, ping.", no_args_is_help=True)
UrlOpt = typer.Option(None, "--url", help="server URL \\[env OPSBOOK_URL]")
TokenOpt = typer.Option(None, "--token", help="API token \\[env OPSBOOK_TOKEN]", show_default=False)
JsonOpt = typer.Option(False, "--json", help="print JSON")


def _ago(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


@app.command("list")
def list_cmd(url: str = UrlOpt, token: str = TokenOpt, as_json: bool = JsonOpt) -> None:
    """Each heartbeat of the token's tenant: state, last ping (and how), when the next is due."""
    beats = Client(url, token).call("GET", "/api/v1/heartbeats")
    if as_json:
        typer.echo(json.dumps(beats, indent=2))
        return
    rows = [
        [b["name"], b["service"], b["status"].upper() + (" (overdue)" if b["overdue"] and
         b["status"] != "late" else ""), b["severity"],
         f"{_ago(b['interval'])} + {_ago(b['grace'])}", b["last_ping_at"] or "never",
         b["last_ping_via"] or "-", b["due_at"] or "-"]
        for b in beats
    ]  # fmt: skip
    if not rows:
        typer.echo("no heartbeats (add `heartbeats:` to the config)")
        return
    headers = ["NAME", "SERVICE", "STATE", "SEV", "EVERY", "LAST PING", "VIA", "DUE"]
    typer.echo(table(headers, rows))


@app.command("ping")
def ping_cmd(
    name: str = typer.Argument(..., help="the heartbeat's name"),
    url: str = UrlOpt,
    token: str = typer.Option(
        None, "--token", help="intake token \\[env OPSBOOK_TOKEN]", show_default=False
    ),
) -> None:
    """Ping a heartbeat with an intake token (what a cron job's `curl` does)."""
    out = Client(url, token).call("POST", f"/api/v1/heartbeats/{name}/ping")
    typer.echo(f"{out['heartbeat']}: {out['state']}, next ping due by {out['due_at']}")
