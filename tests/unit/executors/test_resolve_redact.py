"""Table-driven: variable resolution, masking, redaction, SSRF verdicts, result round trips."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from opsbook.executors import (
    ChartBlock,
    CodeBlock,
    ExecContext,
    MissingVariables,
    StepResult,
    TableBlock,
    TextBlock,
    dry_run,
    redact,
    resolve,
)
from opsbook.executors.redact import redact_result
from opsbook.executors.ssrf import Refused, check_url, entry_problem, hosts_in, parse_host
from opsbook.runbooks.models import Step
from opsbook.runbooks.variables import find_variables

CTX = ExecContext(
    variables={"REDIS_URL": "redis://r:6379/0", "POD_NAME": "web-1", "RELEASE": "v2", "value": "7",
               "NAMESPACE": "prod"},
    secrets={"TOKEN": SecretStr("s3cr3t/+ x")},
)  # fmt: skip


def step(text: str) -> Step:
    return Step(1, "t", text, True, "shell", None, "read-only", "", tuple(find_variables(text)))


@pytest.mark.parametrize(
    ("text", "real", "shown"),
    [
        ("redis-cli -u $REDIS_URL ping", "redis-cli -u redis://r:6379/0 ping", "redis-cli -u redis://r:6379/0 ping"),
        ("kubectl logs <pod-name> -n ${NAMESPACE}", "kubectl logs web-1 -n prod", "kubectl logs web-1 -n prod"),
        ("helm rollback app [RELEASE]", "helm rollback app v2", "helm rollback app v2"),
        ("echo {{ value }}", "echo 7", "echo 7"),
        ("echo ${MISSING:-fallback}", "echo fallback", "echo fallback"),
        ('curl -H "Authorization: Bearer $TOKEN" x', 'curl -H "Authorization: Bearer s3cr3t/+ x" x',
         'curl -H "Authorization: Bearer ******" x'),
        ("echo $HOME $1", "echo $HOME $1", "echo $HOME $1"),
    ],
)  # fmt: skip
def test_resolve(text: str, real: str, shown: str) -> None:
    r = resolve(step(text), CTX)
    assert (r.text, r.display) == (real, shown)


def test_missing_variables_are_all_listed_never_guessed() -> None:
    with pytest.raises(MissingVariables) as info:
        resolve(step("kubectl -n $NS logs <container> --since [WINDOW] $REDIS_URL"), CTX)
    assert info.value.names == ["NS", "container", "WINDOW"]
    assert "--var NAME=VALUE" in info.value.detail


def test_dry_run_masks_secrets_and_url_passwords() -> None:
    ctx = ExecContext(
        variables={"DATABASE_URL": "postgresql://app:hunter2@db/app"}, secrets=CTX.secrets
    )
    assert dry_run(step('psql "$DATABASE_URL" -c "SELECT 1" # $TOKEN'), ctx) == (
        'psql "postgresql://app:******@db/app" -c "SELECT 1" # ******'
    )


@pytest.mark.parametrize(
    "text",
    [
        "token s3cr3t/+ x here",
        "url?t=s3cr3t%2F%2B%20x",
        "form=s3cr3t%2F%2B+x",
        "path/s3cr3t/%2B%20x",
    ],
)
def test_redact_plain_and_url_encoded(text: str) -> None:
    assert "s3cr3t" not in redact(text, CTX.secrets)


def test_redact_result_cleans_every_string() -> None:
    s = "s3cr3t/+ x"
    res = StepResult(
        "failed", f"auth {s} refused", 1.0,
        (TextBlock(s), CodeBlock(f'{{"t": "{s}"}}', "json"), TableBlock([s], [[s, "ok"]]),
         ChartBlock(s, [{"name": s, "points": [[1.0, 2.0]]}])),
        False, f"curl -u a:{s} redis://u:pw@h/0",
    )  # fmt: skip
    clean = redact_result(res, [s])
    assert s not in str(clean.to_dict()) and "pw@" not in clean.command
    assert StepResult.from_dict(clean.to_dict()) == clean


@pytest.mark.parametrize(
    ("url", "allowed", "refusal"),
    [
        ("http://169.254.169.254/latest/meta-data", frozenset(), "cloud-metadata"),
        # a cloud-metadata address is refused even when the config names it
        ("http://169.254.169.254/", frozenset({"169.254.0.0/16"}), "cloud-metadata"),
        ("http://[fe80::1]/", frozenset(), "link-local"),
        ("http://[fd00:ec2::254]/", frozenset(), "metadata"),
        ("http://100.100.100.200/", frozenset(), "metadata"),
        ("http://metadata.google.internal/", frozenset(), "metadata"),
        ("http://0.0.0.0:8080/", frozenset(), "unspecified"),
        ("file:///etc/passwd", frozenset(), "only http and https"),
        ("http://evil.example/", frozenset({"api.internal"}), "not allowed"),
        ("http://127.0.0.1:8000/x", frozenset(), "loopback"),
        ("http://localhost:8000/x", frozenset(), "loopback"),
        ("http://10.0.0.5/", frozenset(), "private"),
        ("http://127.0.0.1:8000/x", frozenset({"127.0.0.1"}), None),
        ("http://127.0.0.1:8000/x", frozenset({"127.0.0.0/8"}), None),
        ("http://127.0.0.1:8000/x", frozenset({"127.0.0.1:8000"}), None),
        ("http://127.0.0.1:8001/x", frozenset({"127.0.0.1:8000"}), "not allowed"),
        ("http://localhost:8000/x", frozenset({"localhost"}), None),
    ],
)
def test_ssrf_verdicts(url: str, allowed: frozenset[str], refusal: str | None) -> None:
    ctx = ExecContext(allowed_hosts=allowed)
    if refusal is None:
        assert check_url(url, ctx).addresses
    else:
        with pytest.raises(Refused, match=refusal):
            check_url(url, ctx)


@pytest.mark.parametrize(
    ("host", "address", "kind"),
    [
        ("0251.0376.0251.0376", "169.254.169.254", "cloud-metadata"),  # octal
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254", "cloud-metadata"),  # hex
        ("2852039166", "169.254.169.254", "cloud-metadata"),  # decimal
        ("0x7f.1", "127.0.0.1", "loopback"),
        ("0177.0.0.1", "127.0.0.1", "loopback"),
        ("2130706433", "127.0.0.1", "loopback"),
        ("127.1", "127.0.0.1", "loopback"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1", "loopback"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1", "loopback"),
        ("[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe", "cloud-metadata"),
        ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1", "loopback"),
        ("[::1]", "::1", "loopback"),
        ("LOCALHOST.", "localhost", "loopback"),
        ("%31%32%37.0.0.1", "127.0.0.1", "loopback"),
        ("\uff11\uff12\uff17.0.0.1", "127.0.0.1", "loopback"),  # full-width digits
    ],
)
def test_every_ip_notation_is_normalised_and_judged(host: str, address: str, kind: str) -> None:
    parsed = parse_host(host)
    assert parsed.name == address
    with pytest.raises(Refused, match=kind):
        check_url(f"http://{host}:8000/x", ExecContext())


@pytest.mark.parametrize(
    "host",
    ["0x7g.1", "1.2.3.4.5", "0999.1.1.1", "256.1.1.1", "4294967296", "[::zz]", "[::1", "a..b",
     "-x.example", "1.2.3.0x100", "[127.0.0.1]"],
)  # fmt: skip
def test_malformed_hosts_are_refused_never_a_crash(host: str) -> None:
    with pytest.raises(Refused):
        check_url(f"http://{host}/", ExecContext(allowed_hosts=frozenset({"0.0.0.0/0"})))


def test_the_allow_list_comes_from_the_config_never_a_request() -> None:
    assert hosts_in(["http://api:8000/x", "redis://:p@cache.local:6379/0", "db.internal:5432", "plain"]) == {
        "api", "cache.local", "db.internal",
    }  # fmt: skip
    config = ExecContext(variables={"API_BASE": "http://api:8000"})
    with pytest.raises(Refused, match=r"execution\.allowed_hosts"):
        check_url("http://other/", config)
    # a host named by the config's variables is allowed, even on loopback
    assert check_url("http://127.0.0.1:9/x", ExecContext(variables={"B": "http://127.0.0.1:9"}))
    # the same value given in a request widens nothing
    asked = ExecContext(variables={"B": "http://127.0.0.1:9"}, request_variables=frozenset({"B"}))
    with pytest.raises(Refused, match="loopback"):
        check_url("http://127.0.0.1:9/x", asked)
    with pytest.raises(Refused, match="given in the request"):
        check_url("http://127.0.0.1:9/x", ExecContext(allowed_hosts=frozenset()), given=["B"])


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(
            r"(0x[0-9a-fA-F]{0,9}|0[0-7]{0,12}|[0-9]{1,11})(\.(0x[0-9a-f]{0,4}|[0-9]{1,5})){0,4}",
            fullmatch=True,
        ),
        st.from_regex(r"\[[0-9a-fA-F:.%]{0,45}\]", fullmatch=True),
    )
)
def test_no_host_text_crashes_the_guard(text: str) -> None:
    """Any host text is a normalised host or a Refused, never another exception."""
    try:
        host = parse_host(text)
    except Refused:
        return
    assert host.name == host.name.lower() and host.name.isascii()
    if host.ip is not None:
        assert ipaddress.ip_address(host.name) == host.ip


@pytest.mark.parametrize(
    ("entry", "ok"),
    [("api.internal", True), ("api.internal:8000", True), ("10.0.0.0/8", True), ("[::1]:5432", True),
     ("fd00::/8", True), ("127.0.0.1", True), ("10.0.0.0/33", False), ("host:99999", False),
     ("a..b", False), ("[::1", False), ("", False)],
)  # fmt: skip
def test_allowed_hosts_entries_are_checked_for_the_config(entry: str, ok: bool) -> None:
    assert (entry_problem(entry) is None) is ok
