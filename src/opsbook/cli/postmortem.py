"""`opsbook postmortem …`: export a post-mortem as Markdown and list action items (server calls)."""

from __future__ import annotations

import json

import typer

from opsbook.cli.client import Client
from opsbook.cli.common import fail
from opsbook.cli.render import table

app = typer.Typer(
    help="Post-mortems of a running server (token from OPSBOOK_TOKEN).", no_args_is_help=True
)
UrlOpt = typer.Option(
    None, "--url", help="server URL \\[env OPSBOOK_URL; default http://127.0.0.1:8080]"
)
TokenOpt = typer.Option(None, "--token", help="API token \\[env OPSBOOK_TOKEN]", show_default=False)


def _text(client: Client, path: str) -> str:
    """GET a non-JSON answer (the Markdown export), with the same error messages as Client.call."""
    import httpx

    try:
        r = httpx.get(
            client.url + path, headers={"Authorization": f"Bearer {client.token}"}, timeout=30
        )
    except httpx.HTTPError as exc:
        fail(
            f"cannot reach opsbook at {client.url} ({exc.__class__.__name__}); is `opsbook serve` "
            "running? Set --url or OPSBOOK_URL"
        )
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail") or r.text
        except ValueError:
            detail = r.text
        fail(f"{r.status_code}: {detail}")
    return r.text


@app.command("export")
def export(
    incident_id: str = typer.Argument(..., help="the incident id (inc_…)"),
    url: str = UrlOpt,
    token: str = TokenOpt,
) -> None:
    """Print the incident's post-mortem as Markdown (times in UTC): `opsbook postmortem export ID > pm.md`."""
    typer.echo(
        _text(Client(url, token), f"/api/v1/incidents/{incident_id}/postmortem.md"), nl=False
    )


@app.command("actions")
def actions(
    status: str = typer.Option(None, "--status", help="open or done; default both"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = typer.Option(False, "--json", help="print the raw JSON answer"),
) -> None:
    """List action items across incidents, soonest due first."""
    params = {"status": status} if status else {}
    items = Client(url, token).call("GET", "/api/v1/action-items", params=params)
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    typer.echo(
        table(
            ["ID", "STATUS", "DUE", "OWNER", "INCIDENT", "TITLE"],
            [
                [
                    a["id"],
                    a["status"],
                    a["due_date"] or "-",
                    a["owner"] or "-",
                    a["incident_id"],
                    a["title"][:60],
                ]
                for a in items
            ],
        )
    )
