"""`postmortems:` in opsbook.yaml decides which incidents need a post-mortem and by when."""

from __future__ import annotations

from pathlib import Path

from tests.support.app import TEST_CONFIG, am_alert, am_body, running_app


def test_required_severities_and_deadline_come_from_config(tmp_path: Path) -> None:
    config = TEST_CONFIG + "postmortems: {required_for: [P2], due_within: 2d}\n"
    with running_app(f"sqlite:///{tmp_path}/o.db", config, run_worker=False) as h:
        p2 = h.post_am(am_body(am_alert("CheckoutSlow", job="checkout", severity="warning")))[
            "incidents"
        ][0]
        p0 = h.post_am(am_body(am_alert("CheckoutDown", job="checkout", severity="critical")))[
            "incidents"
        ][0]
        h.clock.advance(minutes=10)
        for inc in (p2, p0):
            assert (
                h.client.post(f"/api/v1/incidents/{inc}/resolve", headers=h.auth()).status_code
                == 200
            )
        pm2 = h.client.get(
            f"/api/v1/incidents/{p2}/postmortem", headers=h.auth("acme", "viewer")
        ).json()
        pm0 = h.client.get(
            f"/api/v1/incidents/{p0}/postmortem", headers=h.auth("acme", "viewer")
        ).json()
        assert pm2["required"] is True and pm2["due_at"].startswith(
            "2026-01-03T12:10"
        )  # resolved + 2 days
        assert pm0["required"] is False  # P0 is not in this team's list
