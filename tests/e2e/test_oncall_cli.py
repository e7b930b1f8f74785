"""`opsbook oncall` and `opsbook overrides` against a real server, as a person types them."""

from __future__ import annotations

import pytest

from tests.support.server import OpsbookServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("oncall-cli")]

CONFIG = """
tenants: [{name: acme}]
users: [{name: alice, tenant: acme}, {name: bob, tenant: acme}]
schedules:
  - name: primary
    tenant: acme
    timezone: Europe/Berlin
    rotation: {every: 1d, handoff: "09:00", participants: [alice, bob]}
"""


def test_oncall_and_overrides_from_the_cli() -> None:
    with OpsbookServer(CONFIG) as srv:
        srv.start()
        env = {"OPSBOOK_TOKEN": srv.create_token("acme", role="responder")}
        now = srv.cli("oncall", "--at", "2026-03-02T12:00:00Z", env=env, check=True).stdout
        person = "alice" if "alice" in now.split("\n")[1] else "bob"
        other = "bob" if person == "alice" else "alice"
        added = srv.cli(
            "overrides",
            "add",
            "-s",
            "primary",
            "-u",
            other,
            "--replaces",
            person,
            "--from",
            "2026-03-02T10:00:00Z",
            "--to",
            "2026-03-02T14:00:00Z",
            env=env,
            check=True,
        )
        assert f"{other} covers primary for {person}" in added.stdout
        covered = srv.cli("oncall", "--at", "2026-03-02T12:00:00Z", env=env, check=True).stdout
        assert other in covered.split("\n")[1]
        listed = srv.cli("overrides", "list", "-s", "primary", env=env, check=True).stdout
        ovr = listed.split("\n")[1].split()[0]
        srv.cli("overrides", "remove", ovr, "-s", "primary", env=env, check=True)
        again = srv.cli(
            "oncall", "--at", "2026-03-02T12:00:00Z", "--next", "3d", env=env, check=True
        ).stdout
        assert person in again.split("\n")[1] and "Europe/Berlin" in again
