"""Intake routes: a 2xx means the alerts are committed; storage trouble answers 503 + Retry-After."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from opsbook.api.auth import Principal, require_intake, state_of
from opsbook.api.routes.heartbeats import take_pings
from opsbook.api.routing_key import events_intake
from opsbook.core.errors import PayloadTooLarge
from opsbook.flows.ingest import IngestBatch, IngestResult
from opsbook.intake.sources import alertmanager, events, grafana, prometheus
from opsbook.intake.sources.events import Event
from opsbook.intake.sources.prometheus import PostableAlert

router = APIRouter(tags=["intake"])

_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "missing or unknown token"},
    403: {"description": "not an intake token"},
    413: {"description": "body over 1 MiB, or more alerts than OPSBOOK_MAX_ALERTS_PER_REQUEST"},
    422: {"description": "malformed payload (problem+json names the field)"},
    503: {"description": "storage unavailable; retry after Retry-After seconds"},
}


class IntakeAnswer(BaseModel):
    status: str = "success"
    alerts: int
    outcomes: dict[str, int]
    incidents: list[str]


class EventAnswer(BaseModel):
    status: str = "success"
    message: str
    dedup_key: str
    incident_id: str | None


def _bounded(request: Request, n: int, field: str) -> None:
    """A batch is all-or-nothing, so one over the per-request limit is refused whole (413)."""
    limit = state_of(request).settings.max_alerts_per_request
    if n > limit:
        raise PayloadTooLarge(
            f"{n:,} alerts in one request; at most {limit:,} are accepted "
            f"(OPSBOOK_MAX_ALERTS_PER_REQUEST); none was stored: send them in smaller batches",
            field=field,
        )


async def _submit(request: Request, batch: IngestBatch, source: str) -> IngestResult:
    st = state_of(request)
    started = time.perf_counter()
    result = await st.committer.submit(batch)
    st.metrics.intake_latency.labels(source).observe(time.perf_counter() - started)
    for outcome, n in result.counts().items():
        st.metrics.alerts_received.labels(source, outcome).inc(n)
    for _, severity in result.opened:
        st.metrics.incidents_opened.labels(severity).inc()
    return result


def _answer(result: IngestResult, n: int) -> IntakeAnswer:
    return IntakeAnswer(
        alerts=n,
        outcomes=dict(result.counts()),
        incidents=sorted({i for i in result.incident_ids if i}),
    )


@router.post("/api/v1/integrations/alertmanager", responses=_RESPONSES, response_model=IntakeAnswer)
async def alertmanager_webhook(
    body: alertmanager.WebhookV4, request: Request, p: Principal = Depends(require_intake)
) -> IntakeAnswer:
    """Alertmanager webhook v4 (firing and resolved); point a `webhook_configs` receiver here."""
    _bounded(request, len(body.alerts), "alerts")
    st = state_of(request)
    alerts = alertmanager.parse(body, st.clock.now(), st.config.alert_times.bounds())
    alerts = await take_pings(request, p, alerts)  # a heartbeat's Watchdog is a ping
    batch = IngestBatch(
        p.tenant, p.integration or "alertmanager", alerts, truncated=body.truncatedAlerts
    )
    result = await _submit(request, batch, "alertmanager")
    return _answer(result, len(alerts))


@router.post("/api/v1/integrations/grafana", responses=_RESPONSES, response_model=IntakeAnswer)
async def grafana_webhook(
    body: grafana.GrafanaWebhook, request: Request, p: Principal = Depends(require_intake)
) -> IntakeAnswer:
    """Grafana alerting's `webhook` contact point (bearer token, or basic auth password)."""
    _bounded(request, len(body.alerts), "alerts")
    st = state_of(request)
    alerts = grafana.parse(body, st.clock.now(), st.config.alert_times.bounds())
    alerts = await take_pings(request, p, alerts)
    batch = IngestBatch(p.tenant, p.integration or "grafana", alerts, truncated=body.truncatedAlerts)
    return _answer(await _submit(request, batch, "grafana"), len(alerts))


@router.post("/api/v2/alerts", responses=_RESPONSES, response_model=IntakeAnswer)
async def prometheus_alerts(
    body: list[PostableAlert], request: Request, p: Principal = Depends(require_intake)
) -> IntakeAnswer:
    """The Alertmanager v2 API Prometheus posts to; re-sends deduplicate, a past `endsAt` resolves."""
    _bounded(request, len(body), "body")
    st = state_of(request)
    alerts = prometheus.parse(body, st.clock.now(), st.config.alert_times.bounds())
    alerts = await take_pings(request, p, alerts)
    result = await _submit(
        request, IngestBatch(p.tenant, p.integration or "prometheus", alerts), "prometheus"
    )
    return _answer(result, len(alerts))


@router.post("/api/v1/events", status_code=202, responses=_RESPONSES, response_model=EventAnswer)
async def generic_event(
    body: Event, request: Request, p: Principal = Depends(events_intake)
) -> EventAnswer:
    """A PagerDuty Events v2-shaped event: trigger, acknowledge or resolve by `dedup_key`;
    the intake token as a bearer token or, as PagerDuty clients send it, as `routing_key`."""
    st = state_of(request)
    bounds = st.config.alert_times.bounds()
    alert, dedup_key = events.parse(body, p.integration or "events", st.clock.now(), bounds)
    result = await _submit(
        request, IngestBatch(p.tenant, p.integration or "events", [alert]), "events"
    )
    return EventAnswer(
        message=f"event {result.outcomes[0]}",
        dedup_key=dedup_key,
        incident_id=result.incident_ids[0],
    )
