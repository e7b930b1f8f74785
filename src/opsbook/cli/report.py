"""`opsbook report --since 30d`: the tenant's incident figures against the targets, as a table."""

from __future__ import annotations

import json
from typing import Any

import typer

from opsbook.cli.client import Client
from opsbook.cli.render import table, when


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f} %"


def _times(stats: dict[str, Any]) -> str:
    if not stats["count"]:
        return "-"
    from opsbook.postmortem.build import fmt_duration

    return " / ".join(fmt_duration(stats[k]) for k in ("mean", "median", "p90"))


def _actual(t: dict[str, Any]) -> str:
    if t["actual"] is None:
        return "no data"
    if t["metric"] in ("false_positive_rate", "runbook_accuracy"):
        return _pct(t["actual"])
    from opsbook.postmortem.build import fmt_duration

    return fmt_duration(t["actual"])


def _rows(groups: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [
        [
            name,
            str(f["incidents"]),
            _times(f["mtta_seconds"]),
            _times(f["mttd_seconds"]),
            _times(f["mttr_seconds"]),
            str(f["ack_breaches"]),
            str(f["escalated"]),
            _pct(f["false_positive_rate"]),
            _pct(f["runbook_accuracy"]),
        ]
        for name, f in groups.items()
    ]


HEAD = ["", "INCIDENTS", "MTTA mean/med/p90", "MTTD mean/med/p90", "MTTR mean/med/p90"]
HEAD += ["ACK BREACHES", "ESCALATED", "FALSE POS", "ACCURACY"]


def render(r: dict[str, Any]) -> str:
    """The report as plain text: targets with ✓ (met), ✗ (missed) or – (no data), then figures."""
    p = r["period"]
    out = [f"Tenant {r['tenant']}: incidents opened {when(p['since'])} → {when(p['until'])}", ""]
    marks = {True: "✓", False: "✗", None: "–"}
    out.append(
        table(
            ["", "TARGET", "GOAL", "ACTUAL"],
            [[marks[t["met"]], t["name"], t["goal"], _actual(t)] for t in r["targets"]],
        )
    )
    out += ["", "Overall and by severity:"]
    out.append(table(["SCOPE", *HEAD[1:]], _rows({"all": r["overall"], **r["by_severity"]})))
    out += ["", "By service:", table(["SERVICE", *HEAD[1:]], _rows(r["by_service"]))]
    out += ["", "Noisiest alerts:"]
    out.append(
        table(
            ["ALERT", "INCIDENTS", "FALSE POSITIVES"],
            [
                [a["alertname"], str(a["incidents"]), str(a["false_positives"])]
                for a in r["noisy_alerts"]
            ],
        )
    )
    out += ["", "Runbook sections:"]
    out.append(
        table(
            [
                "RUNBOOK#SECTION",
                "INCIDENTS",
                "STEPS OK/RAN",
                "ACCURACY",
                "MITIGATED",
                "RESOLVED AFTER",
            ],
            [
                [
                    f"{x.get('runbook_path') or x['runbook_id']}#{x['section_id']}",
                    str(x["incidents"]),
                    f"{x['steps_ok']}/{x['steps_finished']}",
                    _pct(x["accuracy"]),
                    str(x["mitigated"]),
                    str(x["resolved_after_mitigation"]),
                ]
                for x in r["sections"]
            ],
        )
    )
    return "\n".join(out)


def report(
    since: str = typer.Option("30d", "--since", help="a duration (30d, 12h, 2w) or an ISO time"),
    until: str = typer.Option(None, "--until", help="ISO time; default now"),
    service: str = typer.Option(None, "--service", help="only this service"),
    severity: str = typer.Option(None, "--severity", help="only this severity (P0…P3)"),
    url: str = typer.Option(
        None, "--url", help="server URL \\[env OPSBOOK_URL; default http://127.0.0.1:8080]"
    ),
    token: str = typer.Option(
        None, "--token", help="API token \\[env OPSBOOK_TOKEN]", show_default=False
    ),
    as_json: bool = typer.Option(False, "--json", help="print the raw JSON answer"),
    include_drills: bool = typer.Option(
        False, "--include-drills", help="count drill (rehearsal) incidents too"
    ),
) -> None:
    """MTTA, MTTD, MTTR (mean / median / p90), breaches, false positives and runbook accuracy
    of the incidents opened in the period, against the targets (✓ met, ✗ missed, – no data)."""
    params = {
        k: v
        for k, v in (
            ("since", since),
            ("until", until),
            ("service", service),
            ("severity", severity),
        )
        if v
    }
    if include_drills:
        params["include_drills"] = "true"
    body = Client(url, token).call("GET", "/api/v1/reports", params=params)
    typer.echo(json.dumps(body, indent=2) if as_json else render(body))
