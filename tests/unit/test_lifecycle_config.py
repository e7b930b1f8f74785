"""Incident state machine, acknowledgement deadlines, durations and config error messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsbook.config.durations import format_duration, parse_duration
from opsbook.config.load import parse_config
from opsbook.core.errors import ConfigError, Conflict, InputError
from opsbook.incidents.lifecycle import ack_met, check_close_reason, next_status
from opsbook.incidents.models import Action, Severity, Status

T, A, R, C = Status.TRIGGERED, Status.ACKNOWLEDGED, Status.RESOLVED, Status.CLOSED


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        (T, Action.ACKNOWLEDGE, A),
        (T, Action.RESOLVE, R),
        (T, Action.CLOSE, C),
        (A, Action.RESOLVE, R),
        (A, Action.CLOSE, C),
        (R, Action.CLOSE, C),
        (A, Action.ACKNOWLEDGE, None),
        (R, Action.ACKNOWLEDGE, None),
        (R, Action.RESOLVE, None),
        (C, Action.ACKNOWLEDGE, None),
        (C, Action.RESOLVE, None),
        (C, Action.CLOSE, None),
    ],
)
def test_transitions(state: Status, action: Action, after: Status | None) -> None:
    if after is None:
        with pytest.raises(Conflict, match=f"cannot {action.value}"):
            next_status(state, action)
    else:
        assert next_status(state, action) is after


def test_close_reason_must_be_known() -> None:
    assert check_close_reason("false_positive") == "false_positive"
    with pytest.raises(InputError) as exc:
        check_close_reason("meh")
    assert exc.value.field == "reason"


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("acked", "now", "met"),
    [
        (NOW - timedelta(minutes=1), NOW, True),
        (NOW + timedelta(minutes=1), NOW + timedelta(minutes=2), False),
        (None, NOW - timedelta(seconds=1), None),
        (None, NOW + timedelta(seconds=1), False),
    ],
)
def test_ack_deadline_met(acked: datetime | None, now: datetime, met: bool | None) -> None:
    assert ack_met(NOW, acked, now) is met


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1d", 86400), ("1w", 604800), ("250ms", 0.25)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "5", "m", "5x", "-5m", "5m junk"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a number and unit"):
        parse_duration(bad)


def test_format_duration_round_trips() -> None:
    assert format_duration(parse_duration("1h30m")) == "1h30m"


def test_default_severity_windows() -> None:
    cfg = parse_config("tenants: [{name: a}]")
    assert [cfg.ack_window(s) for s in Severity] == [
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=4),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tenants: [{name: a}]\nservices:\n  - name: s\n    tenant: b\n",
            "cfg.yaml:4: services[0].tenant: unknown tenant 'b'; expected one of: a",
        ),
        (
            "tenants: [{name: a}]\nservices:\n  - name: s\n    tenant: a\n    runbok: []\n",
            "cfg.yaml:5: services[0].runbok: unknown key",
        ),
        (
            "tenants: [{name: a}]\nseverities:\n  P0: {ack_within: soon}\n",
            "cfg.yaml:3: severities.P0.ack_within: invalid duration 'soon'",
        ),
        (
            "tenants: [{name: a}]\nroutes:\n  - {match: {a: b}, service: nope}\n",
            "cfg.yaml:3: routes[0].service: unknown service 'nope'",
        ),
        (
            "tenants: [{name: a}]\nroutes:\n  - service: s\n    match_re: {a: '('}\n",
            "cfg.yaml:4: routes[0].match_re: Value error",
        ),
        (
            "tenants: [{name: a}]\nseverity_map: {critical: P9}\n",
            "cfg.yaml:2: severity_map.critical: Input should be",
        ),
        ("tenants: []\n", "cfg.yaml:1: tenants: List should have at least 1 item"),
        ("services: []\n", "cfg.yaml:1: tenants: required field is missing"),
        ("tenants: [{name: a}\n", "cfg.yaml:2: not valid YAML"),
        ("", "cfg.yaml:1: the file is empty"),
        ("- a\n- b\n", "cfg.yaml:1: expected a mapping"),
        ("tenants: [{name: a}, {name: a}]\n", "cfg.yaml:1: tenants[1].name: duplicate tenant 'a'"),
        (
            "tenants: [{name: a}]\nusers:\n  - {name: u, tenant: a, role: god}\n",
            "cfg.yaml:3: users[0].role: Input should be",
        ),
        (
            "tenants: [{name: a}]\nservices:\n  - name: s\n    tenant: a\n"
            "    execution: {allowed_hosts: [db.internal, 10.0.0.0/99]}\n",
            "allowed_hosts[1]: '10.0.0.0/99' is not a CIDR",
        ),
        (
            "tenants: [{name: a}]\nservices:\n  - name: s\n    tenant: a\n"
            "    execution: {allowed_hosts: ['x y']}\n",
            "allowed_hosts[0]: 'x y' is not a host",
        ),
    ],
)
def test_config_errors_name_file_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "cfg.yaml")
    assert expected.replace("Value error", "") in exc.value.detail, exc.value.detail


def test_example_config_is_valid() -> None:
    from pathlib import Path

    cfg = parse_config((Path(__file__).resolve().parents[2] / "opsbook.example.yaml").read_text())
    assert {t.name for t in cfg.tenants} == {"acme", "globex"}
