"""Erasing a person leaves no trace of their name, email or contact in any column of any table,
nor in the post-mortem export or the audit export; their acts stay on the incident's history
under one stable pseudonym — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import String, Text, cast, or_, select
from typer.testing import CliRunner

from opsbook.cli.main import app as cli
from opsbook.config.load import parse_config
from opsbook.storage.db import make_engine
from opsbook.storage.tables import Base
from tests.support.app import TEST_CONFIG, Harness, confirmed_subscriber, running_app
from tests.support.web import open_incident

NAME, FULL, EMAIL = "quentinq", "Quentin Quarrington", "quentin.q@canary.example"
CANARIES = (NAME, "quarrington", EMAIL, "canary.example")
PERSON = (
    f"  - {{name: {NAME}, tenant: acme, role: commander, full_name: {FULL!r},"
    f' contacts: ["mailto://{EMAIL}"]}}\n'
)
CONFIG = TEST_CONFIG.replace("users:\n", "users:\n" + PERSON)
SUBSCRIBER = "sub.scriber@canary-sub.example"


@pytest.fixture
def he(db_url: str) -> Iterator[Harness]:
    with running_app(db_url, CONFIG, run_worker=False, secret_key="erasure-test-secret-key") as h:
        yield h


def _traces(url: str, canaries: tuple[str, ...]) -> list[str]:
    """``table.column~canary`` of every cell (any column of any table, as text) holding a canary;
    one query per table, and per column only where the table has a hit."""
    engine = make_engine(url)
    found = []
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                likes = {
                    (col.name, canary): _as_text(col).icontains(canary, autoescape=True)
                    for col in table.columns
                    for canary in canaries
                }
                if not conn.execute(select(table).where(or_(*likes.values())).limit(1)).first():
                    continue
                for (name, canary), like in likes.items():
                    if conn.execute(select(table).where(like).limit(1)).first():
                        found.append(f"{table.name}.{name}~{canary}")
    finally:
        engine.dispose()
    return found


def _as_text(col: Any) -> Any:
    return col if isinstance(col.type, String | Text) else cast(col, Text)


def _act_as_the_person(h: Harness) -> str:
    """The person's token acknowledges and comments; they are paged, sign in, get a token."""
    token = h.client.post(
        "/api/v1/tokens", json={"role": "commander", "name": NAME}, headers=h.auth("acme", "admin")
    ).json()["token"]
    me = {"Authorization": f"Bearer {token}"}
    iid = open_incident(h)
    r = h.client.post(f"/api/v1/incidents/{iid}/acknowledge", headers=me)
    assert r.status_code == 200, r.text
    r = h.client.post(
        f"/api/v1/incidents/{iid}/comment", json={"text": f"{FULL} here, mail {EMAIL}"}, headers=me
    )
    assert r.status_code == 201, r.text
    r = h.client.post(f"/api/v1/incidents/{iid}/resolve", headers=me)
    assert r.status_code == 200, r.text
    return iid


def test_erasure_leaves_no_trace_and_a_coherent_history(he: Harness) -> None:
    h = he
    iid = _act_as_the_person(h)
    confirmed_subscriber(h, SUBSCRIBER)
    assert _traces(h.url, CANARIES)  # the canaries are really there before
    timeline_before = _timeline(h, iid)

    # dry run: a report, no change
    r = h.client.post(
        "/api/v1/erasures", json={"person": EMAIL, "dry_run": True}, headers=h.auth("acme", "admin")
    )
    assert r.status_code == 200, r.text
    planned = r.json()
    assert planned["dry_run"] and planned["rows"] > 0 and "timeline_entries" in planned["changes"]
    assert _traces(h.url, CANARIES)

    for role in ("viewer", "responder", "commander"):
        assert (
            h.client.post(
                "/api/v1/erasures", json={"person": NAME}, headers=h.auth("acme", role)
            ).status_code
            == 403
        )
    missing = h.client.post(
        "/api/v1/erasures", json={"person": "nobody-at-all"}, headers=h.auth("acme", "admin")
    )
    assert missing.status_code == 404 and missing.json().get("field") == "person"
    assert (
        h.client.post(
            "/api/v1/erasures", json={"person": ""}, headers=h.auth("acme", "admin")
        ).status_code
        == 422
    )

    r = h.client.post("/api/v1/erasures", json={"person": NAME}, headers=h.auth("acme", "admin"))
    assert r.status_code == 200, r.text
    done = r.json()
    pseudonym = done["pseudonym"]
    assert pseudonym.startswith("person-") and done["changes"] == planned["changes"]
    assert done["config_mentions"] == ["users[0]"]  # the operator removes them and reloads

    # the operator takes the person out of opsbook.yaml (as the report says)
    h.client.app.state.opsbook.config = parse_config(TEST_CONFIG)  # type: ignore[attr-defined]
    cli_out = CliRunner().invoke(
        cli,
        ["erase", "person", SUBSCRIBER, "--tenant", "acme"],
        env={"OPSBOOK_DATABASE_URL": h.url, "OPSBOOK_CONFIG": _config_file(h)},
    )
    assert cli_out.exit_code == 0, cli_out.output
    assert json.loads(cli_out.output)["changes"].get("status_subscribers") == 1

    assert _traces(h.url, (*CANARIES, SUBSCRIBER, "canary-sub")) == []
    timeline = _timeline(h, iid)
    assert len(timeline) == len(timeline_before)  # history kept, entry for entry
    actors = {e["actor"] for e in timeline}
    assert pseudonym in actors and NAME not in json.dumps(timeline)
    pm = h.client.get(f"/api/v1/incidents/{iid}/postmortem.md", headers=h.auth())
    if pm.status_code == 200:
        assert not any(c in pm.text.lower() for c in CANARIES)
    export = CliRunner().invoke(cli, ["audit", "export"], env={"OPSBOOK_DATABASE_URL": h.url})
    assert export.exit_code == 0
    assert not any(c in export.output.lower() for c in CANARIES)
    assert '"erasure.done"' in export.output and pseudonym in export.output
    verify = CliRunner().invoke(cli, ["audit", "verify"], env={"OPSBOOK_DATABASE_URL": h.url})
    assert verify.exit_code == 0, verify.output  # the chain never held the name: nothing rewritten
    report = h.client.get("/api/v1/reports", params={"since": "365d"}, headers=h.auth())
    assert not any(c in report.text.lower() for c in CANARIES)


def _timeline(h: Harness, iid: str) -> list[dict[str, Any]]:
    r = h.client.get(f"/api/v1/incidents/{iid}/timeline", params={"limit": 500}, headers=h.auth())
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _config_file(h: Harness) -> str:
    import tempfile

    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)  # noqa: SIM115
    f.write(TEST_CONFIG)
    f.close()
    return f.name
