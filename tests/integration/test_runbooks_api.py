"""Incidents carry the runbook section written for their alert; the runbooks API shows the catalog."""

from __future__ import annotations

from tests.support.app import Harness, am_alert, am_body


def test_incident_shows_the_section_bound_to_its_alert(h: Harness) -> None:
    out = h.post_am(am_body(am_alert("CheckoutApiDown", job="checkout", severity="critical")))
    inc = h.incident(out["incidents"][0])
    rb = inc["runbook"]
    assert (rb["heading"], rb["rule"], rb["suggested"]) == ("Checkout API Down", "exact", False)
    assert rb["path"].endswith("checkout-api.md")
    phases = [p["phase"] for p in rb["section"]["phases"]]
    assert "investigate" in phases and "mitigate" in phases
    steps = [s for p in rb["section"]["phases"] for s in p["steps"] if s["executable"]]
    assert steps and all(
        s["safety"] in ("read-only", "mutating", "destructive", "unknown") for s in steps
    )
    matched = [e for e in inc["timeline"] if e["kind"] == "runbook_matched"]
    assert matched and "Checkout API Down" in matched[0]["message"]
    # the list view names the section too, without the whole document
    listed = h.incidents()[0]["runbook"]
    assert listed["section_id"] == rb["section_id"] and listed["section"] is None


def test_alert_of_a_service_without_runbooks_has_no_section(h: Harness) -> None:
    out = h.post_am(am_body(am_alert("SomethingOdd", severity="warning")))
    inc = h.incident(out["incidents"][0])
    assert inc["runbook"] is None
    assert "runbook_matched" not in [e["kind"] for e in inc["timeline"]]


def test_another_tenants_runbooks_are_never_matched(h: Harness) -> None:
    # LedgerReplicationLag is globex's; the same alert name at acme finds nothing
    out = h.post_am(am_body(am_alert("LedgerReplicationLag", job="checkout")))
    found = h.incident(out["incidents"][0])["runbook"]
    assert found is None or not found["path"].endswith("ledger.md")
    out = h.post_am(am_body(am_alert("LedgerReplicationLag", service="ledger")), tenant="globex")
    rb = h.incident(out["incidents"][0], tenant="globex")["runbook"]
    assert rb["rule"] == "exact" and rb["path"].endswith("ledger.md")


def test_runbooks_api_lists_and_shows_with_lint_findings(h: Harness) -> None:
    listed = h.client.get("/api/v1/runbooks", headers=h.auth("acme", "viewer")).json()
    assert [r["path"].rsplit("/", 1)[-1] for r in listed] == ["checkout-api.md"]
    assert listed[0]["services"] == ["checkout-api"] and "CheckoutApiDown" in listed[0]["alerts"]
    one = h.client.get(
        f"/api/v1/runbooks/{listed[0]['id']}", headers=h.auth("acme", "viewer")
    ).json()
    assert one["document"]["title"] and one["document"]["sections"]
    # the project's own example runbook passes its own lint without errors
    assert [f for f in one["findings"] if f["severity"] == "error"] == []
    headings = [s["heading"] for s in one["document"]["sections"]]
    assert "Checkout API Down" in headings
    assert (
        h.client.get("/api/v1/runbooks/rb_nope", headers=h.auth("acme", "viewer")).status_code
        == 404
    )


def test_example_config_loads_every_example_runbook_and_the_seeds() -> None:
    from pathlib import Path

    import pytest

    from opsbook.config.load import load_config
    from opsbook.flows.runbook_catalog import RunbookCatalog

    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "opsbook.example.yaml")
    cat = RunbookCatalog.load(cfg, root)
    own = [e for e in cat.errors() if "shared/seeds" not in e]
    assert own == []
    checkout = cat.for_service("acme", "checkout-api")
    assert any("CheckoutApiDown" in s.alerts for rb in checkout for s in rb.sections)
    seeds = root.parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"seed runbooks not found at {seeds}")
    demo = ["assistant-api", "maestro", "rag-chatbot", "rag7", "local-mind"]
    loaded = [cat.for_service("acme", name) for name in demo]
    assert all(len(books) == 1 and books[0].sections and not books[0].errors for books in loaded)
