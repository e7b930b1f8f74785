"""The intake bodies decoded without a model per alert: orjson, then hand-written checks.

Each decoder accepts exactly what the documented pydantic model (``intake.sources``) accepts in
the shape senders use, and builds the same ``AlertIn`` values. Anything it is not sure of
(a wrong type, an over-long value, a time in an unusual form, JSON orjson refuses) makes it
answer ``None``: the caller then lets the model judge the body, which either names the field
in its error or accepts it and parses it the slow way. So the fast path never accepts what the
model refuses, and the error bodies stay the model's own.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import orjson

from opsbook.intake.fingerprint import fingerprint
from opsbook.intake.models import AlertIn, EventAction
from opsbook.intake.sources.common import claimed_time, real_time
from opsbook.intake.sources.events import event_fingerprint
from opsbook.intake.times import DEFAULT_BOUNDS, TimeBounds, clamp

MAX_ENTRIES = 128
MAX_NAME = 256
MAX_LABEL_VALUE = 8192
MAX_ANNOTATION_VALUE = 65536
MAX_URL = 8192
MAX_WEBHOOK_ALERTS = 10000

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)")
_STATUS = {"firing": EventAction.TRIGGER, "resolved": EventAction.RESOLVE}
_SEVERITIES = frozenset(("critical", "error", "warning", "info"))
_ACTIONS = {a.value: a for a in EventAction}


class Undecided(Exception):
    """The fast path cannot vouch for this body; the model must judge it."""


def loads(raw: bytes) -> Any:
    """The decoded JSON, or Undecided (orjson refuses NaN, huge integers and bad UTF-8 that
    the model's parser may see differently)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Undecided from None


def _map(value: Any, max_value: int) -> dict[str, str]:
    """A label or annotation map: at most 128 string entries, names 1–256 characters."""
    if type(value) is not dict or len(value) > MAX_ENTRIES:
        raise Undecided
    for k, v in value.items():
        if type(v) is not str or len(v) > max_value or not 0 < len(k) <= MAX_NAME:
            raise Undecided
    return value


def _word(value: Any) -> str | None:
    """``value`` when it is a string (so it can be looked up in a table of allowed words)."""
    return value if type(value) is str else None


def _str(value: Any, limit: int) -> str:
    if type(value) is not str or len(value) > limit:
        raise Undecided
    return value


def _time(value: Any) -> datetime | None:
    """An RFC 3339 time as the model parses it (fractions past microseconds truncated)."""
    if value is None:
        return None
    if type(value) is not str or not _RFC3339.fullmatch(value):
        raise Undecided
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise Undecided from None


def prometheus(data: Any, now: datetime, bounds: TimeBounds = DEFAULT_BOUNDS) -> list[AlertIn]:
    """``POST /api/v2/alerts``: a list of ``{labels, annotations, startsAt, endsAt,
    generatorURL}``, as ``sources.prometheus.parse`` reads it."""
    if type(data) is not list:
        raise Undecided
    out = []
    for a in data:
        if type(a) is not dict or "labels" not in a:
            raise Undecided
        labels = _map(a["labels"], MAX_LABEL_VALUE)
        annotations = _map(a.get("annotations", {}), MAX_ANNOTATION_VALUE)
        starts = _time(a.get("startsAt"))
        ends = real_time(_time(a.get("endsAt")))
        url = _str(a.get("generatorURL", ""), MAX_URL)
        resolved = ends is not None and ends <= now
        alert = AlertIn(
            source="prometheus",
            fingerprint=fingerprint(labels),
            action=EventAction.RESOLVE if resolved else EventAction.TRIGGER,
            labels=labels,
            annotations=annotations,
            starts_at=claimed_time(starts) or now,
            ends_at=ends,
            generator_url=url,
        )
        out.append(clamp(alert, now, bounds))
    return out


def alertmanager(
    data: Any, now: datetime, bounds: TimeBounds = DEFAULT_BOUNDS
) -> tuple[list[AlertIn], int]:
    """Alertmanager's webhook v4 body: the alerts (as ``sources.alertmanager.parse`` reads
    them) and ``truncatedAlerts``; the other keys are checked as the model checks them."""
    if type(data) is not dict or "alerts" not in data:
        raise Undecided
    _str(data.get("version", "4"), 1 << 62)
    if _word(data.get("status", "firing")) not in _STATUS:
        raise Undecided
    _str(data.get("receiver", ""), 1024)
    _str(data.get("groupKey", ""), 8192)
    truncated = data.get("truncatedAlerts", 0)
    if type(truncated) is not int or truncated < 0:
        raise Undecided
    _str(data.get("externalURL", ""), MAX_URL)
    _map(data.get("groupLabels", {}), MAX_LABEL_VALUE)
    _map(data.get("commonLabels", {}), MAX_LABEL_VALUE)
    _map(data.get("commonAnnotations", {}), MAX_ANNOTATION_VALUE)
    items = data["alerts"]
    if type(items) is not list or len(items) > MAX_WEBHOOK_ALERTS:
        raise Undecided
    out = []
    for a in items:
        if type(a) is not dict or "labels" not in a:
            raise Undecided
        action = _STATUS.get(_word(a.get("status")) or "")
        if action is None:
            raise Undecided
        labels = _map(a["labels"], MAX_LABEL_VALUE)
        annotations = _map(a.get("annotations", {}), MAX_ANNOTATION_VALUE)
        starts = _time(a.get("startsAt"))
        ends = _time(a.get("endsAt"))
        url = _str(a.get("generatorURL", ""), MAX_URL)
        fp = a.get("fingerprint")
        if fp is not None:
            _str(fp, 64)
        alert = AlertIn(
            source="alertmanager",
            fingerprint=fp or fingerprint(labels),
            action=action,
            labels=labels,
            annotations=annotations,
            starts_at=claimed_time(starts),
            ends_at=real_time(ends),
            generator_url=url,
        )
        out.append(clamp(alert, now, bounds))
    return out, truncated


def _opt(value: Any, limit: int, minimum: int = 0) -> str | None:
    if value is None:
        return None
    if type(value) is not str or not minimum <= len(value) <= limit:
        raise Undecided
    return value


def event(
    data: Any, integration: str, now: datetime, bounds: TimeBounds = DEFAULT_BOUNDS
) -> tuple[AlertIn, str]:
    """A PagerDuty Events v2-shaped event, as ``sources.events.parse`` reads it; custom
    details (free-form JSON) are left to the model."""
    if type(data) is not dict:
        raise Undecided
    action = _ACTIONS.get(_word(data.get("event_action")) or "")
    if action is None:
        raise Undecided
    dedup = _opt(data.get("dedup_key"), 255, 1)
    _opt(data.get("routing_key"), 255)
    _opt(data.get("client"), 1024)
    client_url = _opt(data.get("client_url"), MAX_URL)
    payload = data.get("payload")
    if action is EventAction.TRIGGER and payload is None:
        raise Undecided
    if action is not EventAction.TRIGGER and not dedup:
        raise Undecided
    dedup_key = dedup or uuid.uuid4().hex
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    severity = None
    starts = now
    if payload is not None:
        if type(payload) is not dict or payload.get("custom_details") is not None:
            raise Undecided
        summary = _opt(payload.get("summary"), 1024, 1)
        source = _opt(payload.get("source"), 1024, 1)
        severity = _word(payload.get("severity"))
        if summary is None or source is None or severity not in _SEVERITIES:
            raise Undecided
        stamp = _time(payload.get("timestamp"))
        component = _opt(payload.get("component"), 1024)
        group = _opt(payload.get("group"), 1024)
        klass = _opt(payload.get("class"), 1024)
        labels["alertname"] = klass or summary[:200]
        labels["source"] = source
        labels["severity"] = severity
        for key, value in (("component", component), ("group", group)):
            if value:
                labels[key] = value
        annotations["summary"] = summary
        starts = claimed_time(stamp) or now
    if client_url:
        annotations["client_url"] = client_url
    alert = AlertIn(
        source="events",
        fingerprint=event_fingerprint(integration, dedup_key),
        action=action,
        labels=labels,
        annotations=annotations,
        starts_at=starts,
        ends_at=now if action is EventAction.RESOLVE else None,
        generator_url=client_url or "",
        severity_hint=severity,
    )
    return clamp(alert, now, bounds), dedup_key
