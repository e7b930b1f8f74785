"""Silence matching with Alertmanager's matcher semantics, states, the hook, and the guardrails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsbook.config.models import Matcher
from opsbook.core.errors import InputError, PermissionDenied
from opsbook.silences.guardrails import check_silence
from opsbook.silences.models import Silence, SilenceState, parse_matchers, silenced_by

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

# (matcher, labels, matches?) — the cases of Alertmanager's pkg/labels matcher tests
CASES = [
    ('job="api"', {"job": "api"}, True),
    ('job="api"', {"job": "api2"}, False),
    ('job="api"', {}, False),
    ('job=""', {}, True),  # a missing label is ""
    ('job=""', {"job": "api"}, False),
    ('job!="api"', {"job": "web"}, True),
    ('job!="api"', {"job": "api"}, False),
    ('job!="api"', {}, True),
    ('job!=""', {}, False),
    ('job!=""', {"job": "x"}, True),
    ('job=~"api"', {"job": "api"}, True),
    ('job=~"api"', {"job": "api-2"}, False),  # anchored at the end
    ('job=~"api"', {"job": "my-api"}, False),  # anchored at the start
    ('job=~"api.*"', {"job": "api-2"}, True),
    ('job=~"a|b"', {"job": "b"}, True),
    ('job=~"a|b"', {"job": "ab"}, False),  # the alternation is anchored as a whole
    ('job=~".*"', {}, True),
    ('job=~".+"', {}, False),
    ('job=~""', {}, True),
    ('job!~"api.*"', {"job": "api-2"}, False),
    ('job!~"api.*"', {"job": "web"}, True),
    ('job!~"api.*"', {}, True),
    ('job!~".*"', {}, False),
    ('job!~""', {"job": ""}, False),
    ('job!~""', {"job": "x"}, True),
]


def _silence(
    *texts: str, start: datetime = NOW, end: datetime | None = None, sid: str = "s1"
) -> Silence:
    return Silence(
        sid, "acme", parse_matchers(texts), start, end or NOW + timedelta(hours=1), "alice"
    )


@pytest.mark.parametrize(("matcher", "labels", "expected"), CASES)
def test_matcher_semantics(matcher: str, labels: dict[str, str], expected: bool) -> None:
    assert _silence(matcher).matches(labels) is expected


def test_all_matchers_must_match() -> None:
    s = _silence('job="api"', 'env=~"prod|stage"')
    assert s.matches({"job": "api", "env": "stage"})
    assert not s.matches({"job": "api", "env": "dev"})


def test_states_follow_the_clock() -> None:
    s = _silence('job="api"', start=NOW + timedelta(minutes=5), end=NOW + timedelta(hours=1))
    assert s.state(NOW) is SilenceState.PENDING
    assert s.state(NOW + timedelta(minutes=5)) is SilenceState.ACTIVE
    assert s.state(NOW + timedelta(hours=1)) is SilenceState.EXPIRED


def test_silenced_by_only_active_matching_silences() -> None:
    pending = _silence('job="api"', start=NOW + timedelta(minutes=1), sid="pending")
    expired = _silence('job="api"', start=NOW - timedelta(hours=2), end=NOW, sid="expired")
    other = _silence('job="web"', sid="other")
    assert silenced_by([pending, expired, other], {"job": "api"}, NOW) is None
    short = _silence('job="api"', sid="short", end=NOW + timedelta(minutes=10))
    long = _silence('job=~"a.*"', 'job!="x"', sid="long", end=NOW + timedelta(hours=3))
    hit = silenced_by([pending, short, long], {"job": "api"}, NOW)
    assert hit is not None and hit.id == "long"


def test_bad_matchers_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid"):
        parse_matchers(["job"])
    with pytest.raises(ValueError, match="regex"):
        parse_matchers(['job=~"("'])


def _m(*texts: str) -> list[Matcher]:
    return list(parse_matchers(texts))


@pytest.mark.parametrize(
    ("matchers", "hours", "force", "role", "error"),
    [
        (['job="api"'], 2, False, "responder", None),
        (['job="api"'], 24 * 7, False, "responder", None),
        (['job="api"'], 24 * 7 + 1, False, "responder", InputError),  # longer than 7d
        (['job="api"'], 24 * 30, True, "admin", None),
        (['job="api"'], 24 * 30, True, "commander", PermissionDenied),
        (['job=~"api.*"'], 1, False, "admin", InputError),  # regex only: needs force
        (['job!="api"'], 1, False, "responder", InputError),
        (
            ['job=""'],
            1,
            False,
            "responder",
            InputError,
        ),  # empty equality matches everything missing
        (['job=~".*"'], 1, True, "admin", None),
        ([], 1, True, "admin", InputError),  # never without matchers
    ],
)
def test_guardrails(
    matchers: list[str], hours: int, force: bool, role: str, error: type[Exception] | None
) -> None:
    def run() -> None:
        check_silence(_m(*matchers), NOW, NOW + timedelta(hours=hours), NOW, force=force, role=role)

    if error is None:
        run()
    else:
        with pytest.raises(error):
            run()


def test_guardrails_refuse_past_and_backwards() -> None:
    with pytest.raises(InputError, match="after"):
        check_silence(_m('job="a"'), NOW, NOW - timedelta(minutes=1), NOW)
    with pytest.raises(InputError, match="past"):
        check_silence(_m('job="a"'), NOW - timedelta(hours=2), NOW - timedelta(hours=1), NOW)
    with pytest.raises(InputError, match="at most 1h"):
        check_silence(
            _m('job="a"'), NOW, NOW + timedelta(hours=2), NOW, max_duration=timedelta(hours=1)
        )
