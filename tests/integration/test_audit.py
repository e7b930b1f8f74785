"""The audit log: every security act leaves one hash-chained entry, admins page through their
tenant's entries, `opsbook audit verify` names a changed row, and concurrent writers (threads
on one database, as two replicas would be) never fork the chain — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from opsbook.cli.main import app as cli
from opsbook.flows import audit
from opsbook.storage.db import make_engine, make_sessionmaker
from tests.support.app import Harness
from tests.support.web import add_web_users, sign_in


def _cli(h: Harness, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"OPSBOOK_DATABASE_URL": h.url})


def _entries(h: Harness, tenant: str = "acme", **params: Any) -> list[dict[str, Any]]:
    r = h.client.get("/api/v1/audit", params=params, headers=h.auth(tenant, "admin"))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_security_acts_are_audited_and_only_admins_read_them(h: Harness) -> None:
    add_web_users(h)
    made = h.client.post(
        "/api/v1/tokens",
        json={"role": "viewer", "name": "ci-bot"},
        headers=h.auth(tenant="acme", role="admin"),
    )
    assert made.status_code == 201
    assert (
        h.client.delete(
            f"/api/v1/tokens/{made.json()['id']}", headers=h.auth("acme", "admin")
        ).status_code
        == 200
    )
    body = {
        "matchers": ["job=checkout"],
        "endsAt": (h.clock.now() + timedelta(hours=1)).isoformat(),
        "comment": "deploy",
    }
    sil = h.client.post("/api/v1/silences", json=body, headers=h.auth("acme", "responder"))
    assert sil.status_code == 201, sil.text
    assert (
        h.client.delete(
            f"/api/v1/silences/{sil.json()['id']}", headers=h.auth("acme", "responder")
        ).status_code
        == 200
    )
    assert sign_in(h.client, "alice", "wrong password").status_code == 401
    assert sign_in(h.client, "alice").status_code == 303

    acts = {
        (e["action"], e.get("actor_name", e["actor"]), e.get("subject_name"))
        for e in _entries(h, limit=500)
    }
    assert ("token.created", "acme-admin", None) in acts
    assert ("token.revoked", "acme-admin", None) in acts
    assert ("silence.created", "acme-responder", None) in acts
    assert ("silence.expired", "acme-responder", None) in acts
    assert ("signin.failed", "system:web", "alice") in acts
    assert ("signin.succeeded", "alice", None) in acts
    assert ("user.role_changed", "cli", "alice") in acts  # created as commander by the fixture
    entry = next(e for e in _entries(h, limit=500) if e["action"] == "signin.succeeded")
    assert entry["actor"].startswith("person-") and "alice" not in json.dumps(
        {k: v for k, v in entry.items() if k != "actor_name"}
    )

    # keyset pages: two at a time, no entry twice, none skipped
    seen: list[int] = []
    after = 0
    while True:
        r = h.client.get(
            "/api/v1/audit", params={"after": after, "limit": 2}, headers=h.auth("acme", "admin")
        )
        page = r.json()
        seen += [e["seq"] for e in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == sorted(set(seen)) and len(seen) == len(_entries(h, limit=500))

    for role in ("viewer", "responder", "commander"):
        assert h.client.get("/api/v1/audit", headers=h.auth("acme", role)).status_code == 403
    assert h.client.get("/api/v1/audit", headers=h.intake()).status_code == 403
    assert h.client.get("/api/v1/audit").status_code == 401
    assert all(e["tenant"] == "globex" for e in _entries(h, "globex", limit=500))
    assert not any(e["action"].startswith("silence") for e in _entries(h, "globex", limit=500))
    assert (
        h.client.get(
            "/api/v1/audit", params={"limit": 0}, headers=h.auth("acme", "admin")
        ).status_code
        == 422
    )

    r = h.client.post("/-/reload", headers=h.operator())  # started without a file: refused, audited
    assert r.status_code == 422
    out = _cli(h, "audit", "export")
    assert out.exit_code == 0, out.output
    lines = [json.loads(x) for x in out.output.splitlines()]
    assert lines[-1]["action"] == "config.reload_failed" and lines[-1]["tenant"] == "*"
    assert [x["seq"] for x in lines] == list(range(1, len(lines) + 1))
    later = _cli(h, "audit", "export", "--since", (h.clock.now() + timedelta(days=1)).isoformat())
    assert later.exit_code == 0 and later.output == ""


def test_verify_names_the_first_changed_entry(h: Harness) -> None:
    for i in range(5):
        r = h.client.post(
            "/api/v1/tokens",
            json={"role": "viewer", "name": f"bot-{i}"},
            headers=h.auth("acme", "admin"),
        )
        assert r.status_code == 201
    ok = _cli(h, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    target = _entries(h, limit=500)[-3]["seq"]
    engine = make_engine(h.url)
    try:
        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(
                    text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = :s"),
                    {"s": target},
                )
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": target})
            with engine.begin() as conn:  # a superuser can still get around it; verify notices
                conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_log SET target = 'tok_forged' WHERE seq = :s"), {"s": target}
            )
    finally:
        engine.dispose()
    bad = _cli(h, "audit", "verify")
    assert bad.exit_code == 1
    assert f"BROKEN at entry {target}" in bad.output and "changed" in bad.output


def test_concurrent_writers_never_fork_the_chain(db_url: str) -> None:
    from opsbook.testing import FrozenClock
    from tests.support.app import migrated

    migrated(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    clock = FrozenClock()
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        for i in range(25):
            for attempt in range(20):
                try:
                    with sessions.begin() as s:
                        audit.record(
                            s,
                            at=clock.now(),
                            tenant="acme",
                            action="token.created",
                            actor=name,
                            target=f"{name}-{i}",
                        )
                    break
                except Exception as exc:
                    if attempt == 19:
                        errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == []
        with sessions() as s:
            verdict = audit.verify_log(s)
        assert verdict.broken is None and verdict.checked == verdict.head == 100
    finally:
        engine.dispose()
