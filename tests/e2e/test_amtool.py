"""The real ``amtool`` (Alertmanager's own CLI) against a started opsbook: alerts, silences,
config — with the opsbook token sent as a bearer token and as a basic-auth password."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.app import TEST_CONFIG
from tests.support.server import OpsbookServer

AMTOOL = shutil.which("amtool")
pytestmark = pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[OpsbookServer, dict[str, str]]]:
    heartbeats = (
        "heartbeats:\n"
        "  - {name: nightly-backup, service: search-indexer, interval: 1d, grace: 1h}\n"
    )
    with OpsbookServer(TEST_CONFIG + heartbeats) as srv:
        tokens = srv.create_tokens(
            {
                "responder": {"tenant": "acme", "role": "responder"},
                "viewer": {"tenant": "acme", "role": "viewer"},
                "intake": {"tenant": "acme", "integration": "amtool"},
                "globex": {"tenant": "globex", "role": "responder"},
            }
        )
        yield srv, tokens


def _http_config(tmp: Path, name: str, text: str) -> str:
    path = tmp / f"{name}.yml"
    path.write_text(text)
    return str(path)


def amtool(srv: OpsbookServer, http_config: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert AMTOOL is not None
    return subprocess.run(
        [AMTOOL, f"--alertmanager.url={srv.url}", f"--http.config.file={http_config}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"amtool exited {proc.returncode}: {proc.stderr}{proc.stdout}"
    return proc.stdout


def test_amtool_alerts_silences_and_config(
    served: tuple[OpsbookServer, dict[str, str]], tmp_path: Path
) -> None:
    srv, tokens = served
    bearer = _http_config(
        tmp_path, "bearer", f"authorization:\n  credentials: {tokens['responder']}\n"
    )
    basic = _http_config(
        tmp_path, "basic", f"basic_auth:\n  username: amtool\n  password: {tokens['viewer']}\n"
    )
    intake = _http_config(
        tmp_path, "intake", f"authorization:\n  credentials: {tokens['intake']}\n"
    )
    other = _http_config(tmp_path, "globex", f"authorization:\n  credentials: {tokens['globex']}\n")

    # amtool alert add posts to /api/v2/alerts with the intake token; it opens an incident
    ok(amtool(srv, intake, "alert", "add", "CheckoutDown", "job=checkout", "severity=critical",
              "--annotation=summary=checkout is down"))  # fmt: skip
    ok(amtool(srv, intake, "alert", "add", "IndexerLag", "queue=q1", "severity=warning"))
    r = srv.client(tokens["viewer"]).get("/api/v1/incidents")
    titles = [i["title"] for i in r.json()["items"]]
    assert any("CheckoutDown" in t for t in titles), titles

    # alert query, with basic auth (password = token) and as JSON
    listed = json.loads(ok(amtool(srv, basic, "alert", "query", "-o", "json")))
    names = sorted(a["labels"]["alertname"] for a in listed)
    assert names == ["CheckoutDown", "IndexerLag"]
    down = next(a for a in listed if a["labels"]["alertname"] == "CheckoutDown")
    assert down["receivers"] == [{"name": "checkout-api"}]
    assert down["status"]["state"] == "active"
    assert down["annotations"]["summary"] == "checkout is down"
    # a matcher filter and a receiver regex narrow it, as with Alertmanager
    simple = ok(amtool(srv, basic, "alert", "query", "alertname=~Checkout.*"))
    assert "CheckoutDown" in simple and "IndexerLag" not in simple
    assert "IndexerLag" in ok(amtool(srv, basic, "alert", "query", "-r", "search-.*"))
    # the other tenant sees none of acme's alerts
    assert json.loads(ok(amtool(srv, other, "alert", "query", "-o", "json"))) == []

    # silence add → the silence is listed, the alert shows as silenced, then expire
    sid = ok(amtool(srv, bearer, "silence", "add", "job=checkout", "-d", "1h",
                    "-c", "deploy window")).strip()  # fmt: skip
    assert sid.startswith("sil_"), sid
    queried = ok(amtool(srv, basic, "silence", "query"))
    assert sid in queried and 'job="checkout"' in queried and "deploy window" in queried
    assert ok(amtool(srv, basic, "silence", "query", "-q", "job=checkout")).split() == [sid]
    assert ok(amtool(srv, basic, "silence", "query", "-q", "job=other")).split() == []
    # a viewer may not silence: amtool reports the 403, not a decoding error
    refused = amtool(srv, basic, "silence", "add", "job=checkout", "-d", "1h", "-c", "x")
    assert refused.returncode != 0
    assert "status 403" in refused.stderr and "no consumer" not in refused.stderr
    # the guardrails speak through amtool too: a regex-only silence is refused, naming why
    broad = amtool(srv, bearer, "silence", "add", "job=~.+", "-d", "1h", "-c", "x")
    assert broad.returncode != 0 and "equality matcher" in broad.stderr, broad.stderr

    # the alert re-sent while silenced opens nothing and is listed as suppressed
    ok(amtool(srv, intake, "alert", "add", "CheckoutLatency", "job=checkout", "severity=warning"))
    silenced = json.loads(ok(amtool(srv, basic, "alert", "query", "-s", "-o", "json")))
    muted = [a for a in silenced if a["labels"]["alertname"] == "CheckoutLatency"]
    assert muted and muted[0]["status"] == {
        "state": "suppressed", "silencedBy": [sid], "inhibitedBy": []
    }  # fmt: skip
    assert "CheckoutLatency" not in ok(amtool(srv, basic, "alert", "query"))  # active only

    ok(amtool(srv, bearer, "silence", "expire", sid))
    assert ok(amtool(srv, basic, "silence", "query", "-q")).split() == []
    assert sid in ok(amtool(srv, basic, "silence", "query", "--expired", "-q"))
    expired_again = amtool(srv, bearer, "silence", "expire", sid)
    assert expired_again.returncode != 0 and "status 409" in expired_again.stderr

    # config show prints the routing summary; config routes test reads it as Alertmanager would
    shown = ok(amtool(srv, basic, "config", "show"))
    assert "checkout-api" in shown and 'job="checkout"' in shown
    assert "acme-catchall" in shown and "ledger" not in shown  # globex's service stays hidden
    routed = ok(amtool(srv, basic, "config", "routes", "test", "job=checkout"))
    assert routed.strip() == "checkout-api"

    # a wrong token: a clean 401 message
    bad = _http_config(tmp_path, "bad", "authorization:\n  credentials: opsb_not-a-token\n")
    denied = amtool(srv, bad, "alert", "query")
    assert denied.returncode != 0 and "no consumer" not in denied.stderr
    assert "status 401" in denied.stderr, denied.stderr


CURL = shutil.which("curl")


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_cron_pings_with_curl_and_the_cli_lists_it(
    served: tuple[OpsbookServer, dict[str, str]],
) -> None:
    """The cron line of docs/integrations.md, run as written, and `opsbook heartbeats list`."""
    srv, tokens = served
    assert CURL is not None
    url = f"{srv.url}/api/v1/heartbeats/nightly-backup/ping"
    cron = [CURL, "-fsS", "-X", "POST", "-H", f"Authorization: Bearer {tokens['intake']}", url]
    done = subprocess.run(cron, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "up"
    basic = [CURL, "-fsS", "-u", f":{tokens['intake']}", url]  # GET, token as the password
    assert subprocess.run(basic, capture_output=True, timeout=30, check=False).returncode == 0
    wrong = subprocess.run([CURL, "-fsS", "-X", "POST", url], capture_output=True, text=True,
                           timeout=30, check=False)  # fmt: skip
    assert wrong.returncode == 22 and "401" in wrong.stderr  # curl -f fails the cron job
    listed = srv.cli("heartbeats", "list", env={"OPSBOOK_TOKEN": tokens["viewer"]}, check=True)
    row = next(line for line in listed.stdout.splitlines() if "nightly-backup" in line)
    assert "search-indexer" in row and "UP" in row and "api" in row, listed.stdout
