"""`opsbook incidents …`: talks to a running server with an API token."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer

from opsbook.cli.client import Client
from opsbook.cli.render import ago, shorten, table, when

app = typer.Typer(
    help="List and act on incidents of a running server (token from OPSBOOK_TOKEN).",
    no_args_is_help=True,
)
UrlOpt = typer.Option(
    None, "--url", help="server URL \\[env OPSBOOK_URL; default http://127.0.0.1:8080]"
)
TokenOpt = typer.Option(None, "--token", help="API token \\[env OPSBOOK_TOKEN]", show_default=False)
JsonOpt = typer.Option(False, "--json", help="print the raw JSON answer")
ShowOpt = typer.Option(False, "--show", help="print the whole incident afterwards")


def _ack(inc: dict[str, Any]) -> str:
    a = inc["acknowledgement"]
    if a["met"] is True:
        return "met"
    if a["breached"]:
        return "BREACHED"
    if inc["status"] != "triggered":
        return "-"
    left = int(
        (
            datetime.fromisoformat(a["deadline"].replace("Z", "+00:00")) - datetime.now(UTC)
        ).total_seconds()
    )
    return f"due in {left // 60}m{left % 60:02d}s"


def _print_detail(inc: dict[str, Any]) -> None:
    typer.echo(f"{inc['id']}  {inc['severity']}  {inc['status'].upper()}  {inc['service']}")
    typer.echo(f"  {inc['title']}")
    typer.echo(
        f"  opened {when(inc['created_at'])}  commander {inc['commander'] or '-'}  "
        f"ack {_ack(inc)} (deadline {when(inc['acknowledgement']['deadline'])})"
    )
    if inc.get("alerts"):
        typer.echo("\nAlerts:")
        typer.echo(
            table(
                ["STATUS", "ALERT", "FINGERPRINT", "SEEN", "LABELS"],
                [
                    [
                        a["status"],
                        a["alertname"],
                        a["fingerprint"][:16],
                        str(a["receive_count"]),
                        ", ".join(  # the alert name has its own column
                            f"{k}={v}" for k, v in sorted(a["labels"].items()) if k != "alertname"
                        ),
                    ]
                    for a in inc["alerts"]
                ],
                flex=[4],
                wrap=[4],
            )
        )
    if inc.get("timeline"):
        typer.echo("\nTimeline (UTC):")
        for e in inc["timeline"]:
            typer.echo(f"  {when(e['at'])}  {e['actor']:<24} {e['message']}")


def _out(data: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        _print_detail(data)


def _what(inc: dict[str, Any]) -> str:
    """``inc_… (P1 checkout-api: title)``: which incident a one-line answer is about."""
    return f"{inc['id']} ({inc['severity']} {inc['service']}: {shorten(inc['title'], 60)})"


def _done(inc: dict[str, Any], line: str, as_json: bool, show: bool) -> None:
    """What an action changed, in one line (3 a.m. needs no wall of text); --show or --json
    print the incident as well."""
    if as_json:
        typer.echo(json.dumps(inc, indent=2))
        return
    typer.echo(line)
    if show:
        typer.echo()
        _print_detail(inc)


@app.command("list")
def list_(
    status: list[str] = typer.Option(
        None, "--status", "-s", help="triggered, acknowledged, resolved, closed (repeat)"
    ),
    severity: list[str] = typer.Option(None, "--severity", help="P0…P3 (repeat)"),
    service: str = typer.Option(None, "--service"),
    open_only: bool = typer.Option(False, "--open", help="only triggered and acknowledged"),
    limit: int = typer.Option(50, "--limit"),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="print only the ids, one a line (INC_ID=$(… -q | head -1))"
    ),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Incidents, open ones first, then by severity and age."""
    params: dict[str, Any] = {"limit": limit}
    statuses = list(status or []) + (["triggered", "acknowledged"] if open_only else [])
    if statuses:
        params["status"] = statuses
    if severity:
        params["severity"] = severity
    if service:
        params["service"] = service
    page = Client(url, token).call("GET", "/api/v1/incidents", params=params)
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        return
    if quiet:
        for i in page["items"]:
            typer.echo(i["id"])
        return
    rows = [
        [
            i["id"],
            i["severity"],
            i["status"],
            i["service"],
            ago(i["created_at"]),
            _ack(i),
            i["commander"] or "-",
            i["title"],
        ]
        for i in page["items"]
    ]
    head = ["ID", "SEV", "STATUS", "SERVICE", "AGE", "ACK", "COMMANDER", "TITLE"]
    typer.echo(table(head, rows, flex=[7]))
    if page["total"] > len(page["items"]):
        typer.echo(f"({len(page['items'])} of {page['total']}; use --limit)")


@app.command("show")
def show(
    incident_id: str, url: str = UrlOpt, token: str = TokenOpt, as_json: bool = JsonOpt
) -> None:
    """One incident with its alerts and timeline."""
    _out(Client(url, token).call("GET", f"/api/v1/incidents/{incident_id}"), as_json)


@app.command("ack")
def ack(
    incident_id: str,
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
    show: bool = ShowOpt,
) -> None:
    """Acknowledge: you are on it (stops escalation)."""
    inc = Client(url, token).call("POST", f"/api/v1/incidents/{incident_id}/acknowledge")
    by = f" by {inc['acknowledged_by']}" if inc.get("acknowledged_by") else ""
    at = when(inc.get("acknowledged_at") or inc["updated_at"])
    _done(inc, f"acknowledged {_what(inc)}{by} at {at}", as_json, show)


@app.command("resolve")
def resolve(
    incident_id: str,
    note: str = typer.Option("", "--note", "-m"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
    show: bool = ShowOpt,
) -> None:
    """Resolve (commander role)."""
    inc = Client(url, token).call(
        "POST", f"/api/v1/incidents/{incident_id}/resolve", json={"note": note}
    )
    at = when(inc.get("resolved_at") or inc["updated_at"])
    _done(inc, f"resolved {_what(inc)} at {at}", as_json, show)


@app.command("close")
def close(
    incident_id: str,
    reason: str = typer.Option(
        "resolved", "--reason", help="resolved, false_positive, duplicate, wont_fix, other"
    ),
    note: str = typer.Option("", "--note", "-m"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
    show: bool = ShowOpt,
) -> None:
    """Close with a reason (commander role)."""
    body = {"reason": reason, "note": note}
    inc = Client(url, token).call("POST", f"/api/v1/incidents/{incident_id}/close", json=body)
    at = when(inc.get("closed_at") or inc["updated_at"])
    why = (inc.get("close_reason") or reason).replace("_", " ")
    _done(inc, f"closed {_what(inc)} as {why} at {at}", as_json, show)


@app.command("comment")
def comment(
    incident_id: str,
    text: str,
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
    show: bool = ShowOpt,
) -> None:
    """Add a note to the timeline."""
    inc = Client(url, token).call(
        "POST", f"/api/v1/incidents/{incident_id}/comment", json={"text": text}
    )
    at = when((inc.get("timeline") or [{}])[-1].get("at") or inc["updated_at"])
    _done(inc, f"commented on {_what(inc)} at {at}: {shorten(text, 60)}", as_json, show)


@app.command("declare")
def declare(
    service: str = typer.Option(..., "--service"),
    severity: str = typer.Option(..., "--severity", help="P0…P3"),
    title: str = typer.Option(..., "--title"),
    commander: str = typer.Option(None, "--commander"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
    show: bool = ShowOpt,
) -> None:
    """Open an incident by hand, e.g. from a customer report."""
    body = {
        "service": service,
        "severity": severity.upper(),
        "title": title,
        "commander": commander,
    }
    inc = Client(url, token).call("POST", "/api/v1/incidents", json=body)
    _done(inc, f"declared {_what(inc)} at {when(inc['created_at'])}", as_json, show)


@app.command("update")
def update(
    incident_id: str,
    severity: str = typer.Option(None, "--severity", help="new severity P0…P3"),
    commander: str = typer.Option(None, "--commander", help="user who takes command"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
    show: bool = ShowOpt,
) -> None:
    """Change severity or assign the commander (commander role)."""
    body = {
        k: v
        for k, v in (("severity", severity and severity.upper()), ("commander", commander))
        if v
    }
    inc = Client(url, token).call("PATCH", f"/api/v1/incidents/{incident_id}", json=body)
    changed = ", ".join(f"{k} {inc.get(k)}" for k in body) or "nothing to change"
    _done(inc, f"updated {_what(inc)}: {changed}", as_json, show)


_FINAL = {
    "ok",
    "failed",
    "error",
    "timeout",
    "unavailable",
    "rejected",
    "expired",
    "interrupted",
    "changed",
    "skipped",
}


def _vars(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            from opsbook.cli.common import fail

            fail(f"--var takes NAME=VALUE, got {pair!r}")
        out[name] = value
    return out


def _print_result(run: dict[str, Any]) -> None:
    res = run.get("result") or {}
    mark = "✓" if run["status"] == "ok" else "✗"
    typer.echo(
        f"{mark} step {run['step']} {run['status']}"
        + (f" in {res.get('duration_ms', 0):.0f} ms" if res else "")
        + (f": {res.get('summary')}" if res.get("summary") else "")
    )
    for block in res.get("blocks", []):
        if block.get("kind") == "table":
            typer.echo(table(block["columns"], block["rows"]))
        elif block.get("kind") in ("code", "text"):
            typer.echo(block.get("text", ""))


def _wait(client: Client, incident_id: str, run_id: str, timeout: float) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    shown = ""
    while True:
        runs = client.call("GET", f"/api/v1/incidents/{incident_id}/runs")
        run: dict[str, Any] = next(r for r in runs if r["id"] == run_id)
        if run["status"] != shown:
            typer.echo(f"… {run['status']}", err=True)
            shown = run["status"]
        if (
            run["status"] in _FINAL
            or run["status"] == "awaiting_approval"
            or time.monotonic() > deadline
        ):
            return run
        time.sleep(0.5)


def _print_review(run: dict[str, Any]) -> None:
    """What an approver is shown for one request: the exact command and argv, every variable
    with its source, the target and the safety reason, and the hash an approval sends back."""
    rv = run.get("review")
    typer.echo(
        f"request {run['id']} for step {run['step']} by {run['requested_by']}: {run['status']}"
    )
    if not rv:
        typer.echo("  (made before requests were shown in full: reject it and request it again)")
        return
    typer.echo(f"  will run: {rv['command']}")
    for argv in rv["argv"] or []:
        typer.echo("  argv:     " + " ".join(json.dumps(w, ensure_ascii=False) for w in argv))
    typer.echo(f"  target:   {rv['target']}")
    typer.echo(f"  safety:   {rv['safety']} ({rv['reason']})")
    for v in rv["variables"]:
        unused = "" if v["used"] else ", not a variable of this step"
        typer.echo(f"  var:      {v['name']}={v['value']} (from {v['source']}{unused})")
    if run.get("current") is False:
        typer.echo("  CHANGED since it was asked for: it can no longer be approved")
    for d in run.get("decisions", []):
        marks = [
            m
            for m, on in (("self-approved", d["self_approved"]), ("BREAK GLASS", d["break_glass"]))
            if on
        ]
        typer.echo(
            f"  {d['decision']} by {d['actor']} ({d['role']})"
            + (f" [{', '.join(marks)}]" if marks else "")
            + (f": {d['comment']}" if d["comment"] else "")
        )
    typer.echo(f"  shown_hash: {rv['shown_hash']}")


def _shown(client: Client, incident_id: str, run_id: str, shown_hash: str | None) -> str:
    """The hash to approve: the one given (as seen earlier), else the request's review, printed
    first so that what is approved is what was just shown."""
    from opsbook.cli.common import fail

    if run_id.isdigit():
        steps = client.call("GET", f"/api/v1/incidents/{incident_id}/steps")
        waiting = [
            f"{w['id']} (by {w['requested_by']}: {w['command']})"
            for s in steps
            if str(s["step"]) == run_id
            for w in s["pending"]
        ]
        fail(
            f"name the run request (run_…), not step {run_id}: approvals are of one request as "
            "shown; waiting for that step: " + (", ".join(waiting) or "none")
        )
    if shown_hash:
        return shown_hash
    run = client.call("GET", f"/api/v1/incidents/{incident_id}/runs/{run_id}")
    _print_review(run)
    if not run.get("review"):
        fail(f"request {run_id} has no review to approve; request the step again")
    return str(run["review"]["shown_hash"])


@app.command("steps")
def steps_(
    incident_id: str, url: str = UrlOpt, token: str = TokenOpt, as_json: bool = JsonOpt
) -> None:
    """The incident's runbook steps: number, phase, safety, who may approve, last result, and
    the requests waiting for approval (their ids)."""
    data = Client(url, token).call("GET", f"/api/v1/incidents/{incident_id}/steps")
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    rows = [
        [
            str(s["step"]),
            s["phase"],
            s["safety"] if s["executable"] else "",
            (s["needs_role"] or "") + (" +1" if s.get("second_person") else ""),
            (s["last_run"] or {}).get("status", ""),
            (s["title"] or s["text"]).splitlines()[0][:70],
        ]
        for s in data
    ]
    typer.echo(table(["#", "PHASE", "SAFETY", "APPROVER", "LAST", "STEP"], rows))
    for s in data:
        for w in s.get("pending", []):
            typer.echo(f"step {s['step']} waits: {w['id']} by {w['requested_by']}: {w['command']}")


@app.command("run")
def run_(
    incident_id: str,
    step: int,
    var: list[str] = typer.Option(
        None, "--var", help="NAME=VALUE for a variable the step asks for"
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="show the resolved command and who must approve"
    ),
    approve: bool = typer.Option(
        False,
        "--approve",
        help="approve your own request at once (self-approval), where your role and the gate "
        "allow it; otherwise a gated step waits for someone's approval",
    ),
    confirm: str = typer.Option(
        None, "--confirm", help="the step's name, to self-approve a destructive step (--approve)"
    ),
    wait: float = typer.Option(120, "--wait", help="seconds to wait for the result"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run step N of the incident's runbook section, showing progress and the result; a gated
    step becomes a request (run_…) that someone approves as shown."""
    client = Client(url, token)
    body = {
        "variables": _vars(var),
        "dry_run": dry_run,
        "confirmation": confirm,
        "approve": approve,
    }
    run = client.call("POST", f"/api/v1/incidents/{incident_id}/steps/{step}/run", json=body)
    if dry_run:
        if as_json:
            typer.echo(json.dumps(run, indent=2))
            return
        typer.echo(f"{run['command']}\n  target: {run['target']}")
        for v in run["variables"]:
            typer.echo(f"  var: {v['name']}={v['value']} (from {v['source']})")
        typer.echo(
            f"  safety: {run['safety']} ({run['reason']})\n  needs: "
            f"{run['needs_role'] or 'nobody: runs at once'}"
            + (" and a second person" if run["second_person"] else "")
            + (f"\n  confirm by typing: {run['confirmation']}" if run["confirmation"] else "")
        )
        return
    if run["status"] == "awaiting_approval":
        if as_json:
            typer.echo(json.dumps(run, indent=2))
            return
        _print_review(run)
        typer.echo(
            f"step {step} waits for approval: `opsbook incidents approve {incident_id} "
            f"{run['id']} --hash {run['review']['shown_hash']}`"
        )
        return
    final = _wait(client, incident_id, run["id"], wait)
    if as_json:
        typer.echo(json.dumps(final, indent=2))
    else:
        _print_result(final)
    raise typer.Exit(0 if final["status"] == "ok" else 1)


@app.command("review")
def review_(
    incident_id: str,
    run_id: str,
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show run request RUN_ID as its approver sees it, with the shown_hash to approve it by."""
    run = Client(url, token).call("GET", f"/api/v1/incidents/{incident_id}/runs/{run_id}")
    if as_json:
        typer.echo(json.dumps(run, indent=2))
    else:
        _print_review(run)


HashOpt = typer.Option(
    None,
    "--hash",
    help="the shown_hash of the request as you reviewed it; without it the request is shown "
    "here first and that is what is approved",
)


def _after_approval(
    client: Client, incident_id: str, run: dict[str, Any], wait: float, as_json: bool
) -> None:
    final = _wait(client, incident_id, run["id"], wait)
    if as_json:
        typer.echo(json.dumps(final, indent=2))
    else:
        _print_result(final)


@app.command("approve")
def approve_(
    incident_id: str,
    run_id: str,
    shown_hash: str = HashOpt,
    confirm: str = typer.Option(
        None, "--confirm", help="the step's name, required for destructive steps"
    ),
    self_approve: bool = typer.Option(
        False, "--self", help="approve your own request (only where no second person is needed)"
    ),
    comment: str = typer.Option("", "--comment", "-m"),
    wait: float = typer.Option(120, "--wait"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Approve run request RUN_ID exactly as shown; it runs at once and the result is shown."""
    client = Client(url, token)
    body = {
        "shown_hash": _shown(client, incident_id, run_id, shown_hash),
        "confirmation": confirm,
        "comment": comment,
        "self_approve": self_approve,
    }
    run = client.call("POST", f"/api/v1/incidents/{incident_id}/runs/{run_id}/approve", json=body)
    _after_approval(client, incident_id, run, wait, as_json)


@app.command("break-glass")
def break_glass_(
    incident_id: str,
    run_id: str,
    reason: str = typer.Option(
        ..., "--reason", help="why nobody else approves it now; the team is paged with it"
    ),
    shown_hash: str = HashOpt,
    confirm: str = typer.Option(None, "--confirm", help="the step's name, for destructive steps"),
    wait: float = typer.Option(120, "--wait"),
    url: str = UrlOpt,
    token: str = TokenOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Approve RUN_ID without the second person, with a written reason (commanders): the team
    is paged and the timeline says BREAK GLASS."""
    client = Client(url, token)
    body = {
        "shown_hash": _shown(client, incident_id, run_id, shown_hash),
        "reason": reason,
        "confirmation": confirm,
    }
    run = client.call(
        "POST", f"/api/v1/incidents/{incident_id}/runs/{run_id}/break-glass", json=body
    )
    _after_approval(client, incident_id, run, wait, as_json)


@app.command("reject")
def reject_(
    incident_id: str,
    run_id: str,
    comment: str = typer.Option("", "--comment", "-m"),
    url: str = UrlOpt,
    token: str = TokenOpt,
) -> None:
    """Reject run request RUN_ID (or withdraw your own)."""
    Client(url, token).call(
        "POST",
        f"/api/v1/incidents/{incident_id}/runs/{run_id}/reject",
        json={"comment": comment},
    )
    typer.echo(f"rejected request {run_id}")
