"""Intake routes: a 2xx means the alerts are committed; storage trouble answers 503 + Retry-After.

The hot routes (Alertmanager webhook, ``/api/v2/alerts``, events) are lean routes (:class:`LeanRoute`):
documented from their models like any route, but served by a plain ``(request) -> Response``
handler that decodes the body with orjson and checks it by hand (``intake.decode``), with no
dependency solving, no model per alert and no response model. A body the fast path cannot
vouch for is judged by the documented model, so errors are the model's own problem+json.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from opsbook.api.auth import (
    Principal,
    bearer_credentials,
    principal,
    require_intake,
    state_of,
)
from opsbook.api.routes.heartbeats import take_pings
from opsbook.api.routing_key import events_intake
from opsbook.api.state import AppState
from opsbook.core.errors import PayloadTooLarge
from opsbook.flows.ingest import IngestBatch, IngestResult
from opsbook.intake import decode
from opsbook.intake.models import AlertIn
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


_CHILDREN: dict[tuple[Any, tuple[str, ...]], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per metric and label values, not per request."""
    key = (metric, labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*labels)
    return found


async def _submit(request: Request, batch: IngestBatch, source: str) -> IngestResult:
    st = state_of(request)
    started = time.perf_counter()
    result = await st.committer.submit(batch)
    observe(st, source, result, started)
    return result


def observe(st: AppState, source: str, result: IngestResult, started: float) -> None:
    """Count a committed request's outcomes and latency in the intake metrics."""
    m = st.metrics
    _child(m.intake_latency, source).observe(time.perf_counter() - started)
    for outcome, n in result.counts().items():
        _child(m.alerts_received, source, outcome).inc(n)
    for _, severity in result.opened:
        _child(m.incidents_opened, severity).inc()


def answer_body(result: IngestResult, n: int) -> bytes:
    """What ``IntakeAnswer`` documents, encoded directly."""
    body = {
        "status": "success",
        "alerts": n,
        "outcomes": dict(result.counts()),
        "incidents": sorted({i for i in result.incident_ids if i}),
    }
    return orjson.dumps(body)


def _answer(result: IngestResult, n: int) -> Response:
    return Response(answer_body(result, n), media_type="application/json")


# ---------------------------------------------------------------------------- lean routes

T = TypeVar("T")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class LeanRoute(APIRoute):
    """Served by its endpoint as a plain Starlette handler; documented by ``openapi_extra``."""

    def get_route_handler(self) -> Handler:
        endpoint: Handler = self.endpoint
        return endpoint


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` references inlined (the models are not
    recursive), so it can stand alone in an operation's ``requestBody``."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return walk({**defs[ref.removeprefix("#/$defs/")], **rest})
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    return out


def _documented(adapter: TypeAdapter[Any]) -> dict[str, Any]:
    """``openapi_extra`` for a lean route: its JSON body (the model's schema) and bearer auth."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inlined(adapter.json_schema())}},
        },
        "security": [{"HTTPBearer": []}],
    }


_WEBHOOK: TypeAdapter[alertmanager.WebhookV4] = TypeAdapter(alertmanager.WebhookV4)
_POSTABLE: TypeAdapter[list[PostableAlert]] = TypeAdapter(list[PostableAlert])
_EVENT: TypeAdapter[Event] = TypeAdapter(Event)


def _is_json(request: Request) -> bool:
    """FastAPI's rule: ``application/json`` or ``application/*+json`` (strict content type)."""
    ctype = request.headers.get("content-type")
    if not ctype:
        return False
    kind = ctype.partition(";")[0].strip().lower()
    main, _, sub = kind.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _fast(request: Request, raw: bytes) -> Any:
    """The JSON body by orjson, or Undecided (empty, not JSON-typed, or orjson refuses it)."""
    if not raw or not _is_json(request):
        raise decode.Undecided
    return decode.loads(raw)


def _judged(adapter: TypeAdapter[T], request: Request, raw: bytes) -> T:
    """The body as FastAPI would have read and validated it for the documented model: the
    value, or the same RequestValidationError (so the same problem+json) it would raise."""
    value: Any
    if not raw:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    value = raw
    if _is_json(request):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            error = {
                "type": "json_invalid",
                "loc": ("body", exc.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": exc.msg},
            }
            raise RequestValidationError([error]) from exc
        except ValueError as exc:  # not UTF-8/16/32
            raise HTTPException(400, "There was an error parsing the body") from exc
    try:
        return adapter.validate_python(value, from_attributes=True)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def _lean(
    path: str, answer: type[BaseModel], body: TypeAdapter[Any], status_code: int = 200
) -> Callable[[Handler], Handler]:
    """Register a lean POST route: documented with ``body`` and ``answer``, served as is."""

    def register(endpoint: Handler) -> Handler:
        router.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            status_code=status_code,
            responses=_RESPONSES,
            response_model=answer,
            route_class_override=LeanRoute,
            openapi_extra=_documented(body),
        )
        return endpoint

    return register


async def _intake_principal(request: Request) -> Principal:
    return await require_intake(await principal(request, bearer_credentials(request)))


Pings = Callable[[Request, Principal, list[AlertIn]], Awaitable[list[AlertIn]]]


async def alertmanager_batch(
    request: Request, p: Principal, raw: bytes, pings: Pings = take_pings
) -> IngestBatch:
    """The webhook body as one intake batch (heartbeat pings taken out by ``pings``)."""
    st = state_of(request)
    now, bounds = st.clock.now(), st.config.alert_times.bounds()
    try:
        alerts, truncated = decode.alertmanager(_fast(request, raw), now, bounds)
    except decode.Undecided:
        body = _judged(_WEBHOOK, request, raw)
        alerts, truncated = alertmanager.parse(body, now, bounds), body.truncatedAlerts
    _bounded(request, len(alerts), "alerts")
    alerts = await pings(request, p, alerts)  # a heartbeat's Watchdog is a ping
    return IngestBatch(p.tenant, p.integration or "alertmanager", alerts, truncated=truncated)


@_lean("/api/v1/integrations/alertmanager", IntakeAnswer, _WEBHOOK)
async def alertmanager_webhook(request: Request) -> Response:
    """Alertmanager webhook v4 (firing and resolved); point a `webhook_configs` receiver here."""
    p = await _intake_principal(request)
    batch = await alertmanager_batch(request, p, await request.body())
    result = await _submit(request, batch, "alertmanager")
    return _answer(result, len(batch.alerts))


@router.post("/api/v1/integrations/grafana", responses=_RESPONSES, response_model=IntakeAnswer)
async def grafana_webhook(
    body: grafana.GrafanaWebhook, request: Request, p: Principal = Depends(require_intake)
) -> Response:
    """Grafana alerting's `webhook` contact point (bearer token, or basic auth password)."""
    _bounded(request, len(body.alerts), "alerts")
    st = state_of(request)
    alerts = grafana.parse(body, st.clock.now(), st.config.alert_times.bounds())
    alerts = await take_pings(request, p, alerts)
    batch = IngestBatch(
        p.tenant, p.integration or "grafana", alerts, truncated=body.truncatedAlerts
    )
    return _answer(await _submit(request, batch, "grafana"), len(alerts))


async def prometheus_batch(
    request: Request, p: Principal, raw: bytes, pings: Pings = take_pings
) -> IngestBatch:
    """A ``/api/v2/alerts`` body as one intake batch (heartbeat pings taken out by ``pings``)."""
    st = state_of(request)
    now, bounds = st.clock.now(), st.config.alert_times.bounds()
    try:
        alerts = decode.prometheus(_fast(request, raw), now, bounds)
    except decode.Undecided:
        alerts = prometheus.parse(_judged(_POSTABLE, request, raw), now, bounds)
    _bounded(request, len(alerts), "body")
    alerts = await pings(request, p, alerts)
    return IngestBatch(p.tenant, p.integration or "prometheus", alerts)


@_lean("/api/v2/alerts", IntakeAnswer, _POSTABLE)
async def prometheus_alerts(request: Request) -> Response:
    """The Alertmanager v2 API Prometheus posts to; re-sends deduplicate, a past `endsAt` resolves."""
    p = await _intake_principal(request)
    batch = await prometheus_batch(request, p, await request.body())
    result = await _submit(request, batch, "prometheus")
    return _answer(result, len(batch.alerts))


@_lean("/api/v1/events", EventAnswer, _EVENT, status_code=202)
async def generic_event(request: Request) -> Response:
    """A PagerDuty Events v2-shaped event: trigger, acknowledge or resolve by `dedup_key`;
    the intake token as a bearer token or, as PagerDuty clients send it, as `routing_key`."""
    p = await events_intake(request, bearer_credentials(request))
    st = state_of(request)
    raw = await request.body()
    now, bounds = st.clock.now(), st.config.alert_times.bounds()
    integration = p.integration or "events"
    try:
        alert, dedup_key = decode.event(_fast(request, raw), integration, now, bounds)
    except decode.Undecided:
        alert, dedup_key = events.parse(_judged(_EVENT, request, raw), integration, now, bounds)
    result = await _submit(request, IngestBatch(p.tenant, integration, [alert]), "events")
    body = {
        "status": "success",
        "message": f"event {result.outcomes[0]}",
        "dedup_key": dedup_key,
        "incident_id": result.incident_ids[0],
    }
    return Response(orjson.dumps(body), status_code=202, media_type="application/json")
