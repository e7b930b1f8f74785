"""Users declared in opsbook.yaml with a `password_hash` sign in to the web UI with their configured role."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from opsbook.web.passwords import hash_password
from tests.support.app import TEST_CONFIG, running_app
from tests.support.web import sign_in


def test_a_declared_user_signs_in_and_the_config_decides_the_role(tmp_path: Path) -> None:
    hashed = hash_password("s3cret-pass")
    config = TEST_CONFIG.replace(
        "  - {name: bob, tenant: acme, role: responder}",
        f'  - {{name: bob, tenant: acme, role: responder, password_hash: "{hashed}"}}',
    )
    with running_app(f"sqlite:///{tmp_path}/o.db", config, run_worker=False) as h:
        c = TestClient(h.client.app)
        assert sign_in(c, "bob", "wrong").status_code in (401, 200)
        assert c.get("/ui/", follow_redirects=False).status_code == 303  # still signed out
        r = sign_in(c, "bob", "s3cret-pass")
        assert r.status_code == 303
        page = c.get("/ui/")
        assert page.status_code == 200 and "responder" in page.text
        # alice is declared without a password: she cannot sign in
        assert sign_in(TestClient(h.client.app), "alice", "anything").status_code != 303
