"""Web UI test helpers: the same users, sign-in and CSRF handling for every web test module."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.web.sessions import save_user
from tests.support.app import Harness, am_alert, am_body

PASSWORD = "correct horse battery staple"
WEB_USERS = (
    ("acme", "alice", "commander"),
    ("acme", "bob", "responder"),
    ("acme", "vera", "viewer"),
    ("acme", "ada", "admin"),
    ("globex", "carmen", "commander"),
)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def add_web_users(h: Harness) -> Harness:
    """Web users alice (commander), bob (responder), vera (viewer), ada (admin) in acme; carmen in globex."""
    engine = make_engine(h.url)
    with make_sessionmaker(engine).begin() as s:
        for tenant, name, role in WEB_USERS:
            save_user(s, tenant, name, role, PASSWORD, h.clock.now())
    engine.dispose()
    return h


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/ui/login").text)
    return client.post(
        "/ui/login",
        data={"login": login, "password": password, "csrf": token},
        follow_redirects=False,
    )


def open_incident(h: Harness, tenant: str = "acme", **labels: str) -> str:
    body = h.post_am(am_body(am_alert("CheckoutApiDown", job="checkout", **labels)), tenant)
    iid: str = body["incidents"][0]
    return iid
