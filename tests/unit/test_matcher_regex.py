"""Matcher regexes on RE2: Alertmanager's semantics, RE2's refusals in words, no backtracking."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from opsbook.config.load import parse_config
from opsbook.config.models import Matcher
from opsbook.core.errors import ConfigError
from opsbook.core.regex import RegexRefused, check, full_match
from opsbook.intake.routing import matches
from opsbook.silences.models import Silence, parse_matchers

EVIL = [
    r"(.*.*.*.*.*)*\$",  # the reported one: five stars under a star, then a literal $
    r"(a+)+b",
    r"(a|aa)*c",
    r"(\w+\s?)*$x",
    r"(.*a){20}",
]


@pytest.mark.parametrize(
    ("pattern", "value", "hit"),
    [
        ("prod|stage", "prod", True),
        ("prod|stage", "production", False),  # fully anchored: ^(?:prod|stage)$
        ("prod|stage", "xstage", False),
        ("ap.*", "api", True),
        (".*", "", True),  # a missing label reads as "" and .* matches it
        (".+", "", False),
        ("a$", "a", True),
        ("a", "a\n", False),  # $ is the end of the text, not "before a final newline" as in re
        (".*", "line1\nline2", False),  # . does not match a newline (Alertmanager's Go RE2)
        ("(?s).*", "line1\nline2", True),
        ("(?i)CHECKOUT", "checkout", True),
        (r"\d{3}", "503", True),
        (r"\p{Greek}+", "αβγ", True),
        ("(?P<env>prod)-.*", "prod-eu", True),
    ],
)
def test_anchored_semantics(pattern: str, value: str, hit: bool) -> None:
    assert full_match(pattern, value) is hit


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", r"invalid escape sequence: \1 (RE2 has no backreferences)"),
        ("foo(?=bar)", "invalid perl operator: (?= (RE2 has no lookarounds)"),
        ("(?<!x)y", "invalid perl operator: (?<! (RE2 has no lookarounds)"),
        ("(?>atomic)", "invalid perl operator: (?>"),
        (r"end\Z", r"invalid escape sequence: \Z (write \z for the end of the text)"),
        ("a{1001}", "invalid repetition size: {1001}"),
        ("(", "missing ): ("),
        ("a)|(b", "unexpected ): a)|(b"),  # must not escape the anchoring group
    ],
)
def test_refused_patterns_say_why_in_re2s_words(pattern: str, reason: str) -> None:
    with pytest.raises(RegexRefused) as err:
        check(pattern)
    assert str(err.value) == reason
    assert full_match(pattern, "anything") is None


def test_a_requests_pattern_is_at_most_1000_characters() -> None:
    check("a" * 1000)
    with pytest.raises(RegexRefused, match="1001 characters long; at most 1000"):
        check("a" * 1001)
    with pytest.raises(ValueError, match="at most 1000"):
        parse_matchers(['job=~"' + "a" * 1001 + '"'])


@pytest.mark.parametrize("pattern", EVIL)
def test_catastrophic_patterns_answer_at_once(pattern: str) -> None:
    check(pattern)  # RE2 accepts them: they are ordinary regexes, only backtracking makes them slow
    values = ["a" * 8192, "a" * 8000 + "!", "x " * 4000 + "\n", "$" * 30 + "b"]
    started = time.process_time()  # CPU time of this process: busy neighbours do not count
    for value in values:
        for op in ("=~", "!~"):
            matches(Matcher(name="alertname", op=op, value=pattern), {"alertname": value})
    assert time.process_time() - started < 0.1  # Python's re takes hours on the first one


def test_matcher_parse_names_the_matcher_and_re2s_reason() -> None:
    with pytest.raises(ValueError) as err:
        Matcher.parse('job=~"(api)\\1"')
    assert "invalid regex in matcher 'job=~\"(api)\\\\1\"'" in str(err.value)
    assert "RE2 has no backreferences" in str(err.value)


@pytest.mark.parametrize(
    ("route", "field"),
    [
        ("{match_re: {job: 'api(?!-canary)'}, service: s}", "routes[0].match_re"),
        ("{matchers: ['job=~\"(a)\\1\"'], service: s}", "routes[0].matchers"),
    ],
)
def test_config_with_a_regex_re2_refuses_is_a_config_error(route: str, field: str) -> None:
    text = f"tenants: [{{name: t}}]\nservices: [{{name: s, tenant: t}}]\nroutes:\n  - {route}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert "opsbook.yaml:4:" in err.value.detail and field in err.value.detail, err.value.detail
    assert "RE2 has no" in err.value.detail


def test_a_stored_pattern_re2_refuses_silences_nothing() -> None:
    """A silence stored before RE2 with a lookahead never mutes (nor, negated, mutes everything)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for op in ("=~", "!~"):
        legacy = Silence(
            id="sil_old",
            tenant="t",
            matchers=(
                Matcher(name="job", op="=", value="api"),
                Matcher(name="env", op=op, value="prod(?!-eu)"),
            ),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
            created_by="someone",
        )
        assert not legacy.matches({"job": "api", "env": "prod"})
        assert not legacy.matches({"job": "api", "env": "stage"})
