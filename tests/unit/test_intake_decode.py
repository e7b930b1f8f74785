"""intake.decode against the documented models: never accepts what a model refuses, and what it
accepts becomes exactly the alerts the model's parse makes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from opsbook.intake import decode
from opsbook.intake.sources import alertmanager, events, prometheus
from opsbook.intake.sources.events import Event
from opsbook.intake.sources.prometheus import PostableAlert

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POSTABLE = TypeAdapter(list[PostableAlert])
WEBHOOK = TypeAdapter(alertmanager.WebhookV4)
EVENT = TypeAdapter(Event)

TIMES = [
    "2026-01-01T11:59:00Z",
    "2026-01-01T11:59:00.123456789Z",
    "2026-01-01T11:59:00.1+05:30",
    "2026-01-01T13:00:00-00:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-05:00",
    "2026-02-30T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:60Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01",
    "2026-01-01t00:00:00z",
    "2026-01-01 00:00:00Z",
    "2026-01-01T00:00:00",
    "yesterday",
    "",
    None,
    1767268800,
    [],
]
NAMES = ["alertname", "job", "instance", "", "x" * 256, "y" * 257, "é"]
VALUES: list[Any] = ["a", "", "z" * 8192, "z" * 8193, 1, None, True, ["a"], {"a": "b"}]
WORDS: list[Any] = ["firing", "resolved", "weird", None, 1, ["firing"], {}]

labels = st.one_of(
    st.dictionaries(st.sampled_from(NAMES), st.sampled_from(VALUES), max_size=4),
    st.just({f"l{i}": "v" for i in range(129)}),
    st.sampled_from([None, "labels", [], 3]),
)
times = st.sampled_from(TIMES)
texts = st.sampled_from(["", "http://x", "u" * 8192, "u" * 8193, None, 5])
postable = st.fixed_dictionaries(
    {},
    optional={
        "labels": labels,
        "annotations": labels,
        "startsAt": times,
        "endsAt": times,
        "generatorURL": texts,
        "extra": st.just("ignored"),
    },
)


def _model(adapter: TypeAdapter[Any], data: Any) -> Any:
    try:
        return adapter.validate_python(data, from_attributes=True)
    except ValidationError:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.lists(postable, max_size=3), postable, st.none()))
def test_prometheus_fast_path_agrees_with_the_model(data: Any) -> None:
    body = _model(POSTABLE, data)
    try:
        fast = decode.prometheus(data, NOW)
    except decode.Undecided:
        return  # the model judges it (accepts or names the field)
    assert body is not None, f"fast path accepted what the model refuses: {data!r}"
    assert fast == prometheus.parse(body, NOW)


webhook_alert = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(WORDS),
        "labels": labels,
        "annotations": labels,
        "startsAt": times,
        "endsAt": times,
        "generatorURL": texts,
        "fingerprint": st.sampled_from(["", "abc", "f" * 64, "f" * 65, None, 7]),
    },
)
webhook = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from(["4", 4, None]),
        "status": st.sampled_from(WORDS),
        "receiver": st.sampled_from(["r", "r" * 1025, None]),
        "groupKey": st.sampled_from(["{}:{}", 1]),
        "truncatedAlerts": st.sampled_from([0, 3, -1, "2", 1.0, None, True]),
        "externalURL": texts,
        "groupLabels": labels,
        "commonLabels": labels,
        "commonAnnotations": labels,
        "alerts": st.one_of(st.lists(webhook_alert, max_size=3), st.sampled_from([None, {}])),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(webhook)
def test_alertmanager_fast_path_agrees_with_the_model(data: Any) -> None:
    body = _model(WEBHOOK, data)
    try:
        fast, truncated = decode.alertmanager(data, NOW)
    except decode.Undecided:
        return
    assert body is not None, f"fast path accepted what the model refuses: {data!r}"
    assert fast == alertmanager.parse(body, NOW) and truncated == body.truncatedAlerts


short = st.sampled_from(["s", "", "t" * 1024, "t" * 1025, None, 1])
payload = st.fixed_dictionaries(
    {},
    optional={
        "summary": short,
        "source": short,
        "severity": st.sampled_from(["critical", "info", "bad", None, 2]),
        "timestamp": times,
        "component": short,
        "group": short,
        "class": short,
        "custom_details": st.sampled_from([None, {"a": 1}]),
    },
)
event = st.fixed_dictionaries(
    {"dedup_key": st.sampled_from(["k", "k" * 255, "k" * 256, "", None, 3])},
    optional={
        "event_action": st.sampled_from(["trigger", "acknowledge", "resolve", "explode", None]),
        "routing_key": st.sampled_from(["r", "r" * 256, None]),
        "payload": st.one_of(payload, st.sampled_from([None, "p"])),
        "client": short,
        "client_url": texts,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(event)
def test_event_fast_path_agrees_with_the_model(data: Any) -> None:
    body = _model(EVENT, data)
    try:
        fast = decode.event(data, "events", NOW)
    except decode.Undecided:
        return
    assert body is not None, f"fast path accepted what the model refuses: {data!r}"
    if data.get("dedup_key"):
        assert fast == events.parse(body, "events", NOW)
    else:  # a generated key: the same alert apart from it
        slow = events.parse(body, "events", NOW)
        assert fast[0].labels == slow[0].labels and fast[0].action == slow[0].action


def test_the_shapes_senders_use_take_the_fast_path() -> None:
    """What Prometheus, Alertmanager and PagerDuty clients send is never left to the model."""
    alert = {
        "labels": {"alertname": "A", "job": "j"},
        "annotations": {"summary": "s"},
        "startsAt": "2026-01-01T11:59:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
    }
    assert len(decode.prometheus([alert, alert], NOW)) == 2
    hook = {
        "version": "4",
        "groupKey": '{}:{alertname="A"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "opsbook",
        "groupLabels": {"alertname": "A"},
        "commonLabels": {"alertname": "A"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{**alert, "status": "firing", "fingerprint": "0123456789abcdef"}],
    }
    alerts, _ = decode.alertmanager(hook, NOW)
    assert alerts[0].fingerprint == "0123456789abcdef"
    ev = {
        "routing_key": "r",
        "event_action": "trigger",
        "dedup_key": "k",
        "payload": {"summary": "s", "source": "h", "severity": "error", "timestamp": None},
    }
    assert decode.event(ev, "events", NOW)[1] == "k"


@pytest.mark.parametrize("number", [b"NaN", b"1e999999", b"1" + b"0" * 30, b"-1", b"2.0"])
def test_numbers_orjson_reads_differently_are_left_to_the_model(number: bytes) -> None:
    """orjson refuses NaN and reads a huge integer as a float, where the stdlib parser
    (FastAPI's) reads NaN and big integers: such a body never takes the fast path."""
    raw = b'{"truncatedAlerts": ' + number + b', "alerts": []}'
    with pytest.raises(decode.Undecided):
        decode.alertmanager(decode.loads(raw), NOW)


def test_bad_utf8_is_left_to_the_model() -> None:
    with pytest.raises(decode.Undecided):
        decode.loads(b'[{"labels": {"a": "\xff"}}]')
