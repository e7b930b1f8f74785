"""Alertmanager API v2 (the part ``amtool`` and Grafana use): alerts, groups, silences, status.

Shapes follow Alertmanager's ``api/v2/openapi.yaml``; what they map onto is told in
``flows.am_api``. ``POST /api/v2/alerts`` (Prometheus and Grafana posting alerts) lives with
the other intake routes. :class:`AlertmanagerCompat` makes the whole ``/api/v2/`` prefix speak
as Alertmanager does: errors are ``application/json`` string bodies (amtool's client has no
consumer for problem+json) and bad input is a 400, as Alertmanager answers it; HTTP basic
auth carries the opsbook token as its password (``amtool --http.config.file`` and Grafana's
external Alertmanager send basic auth or a bearer token).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import yaml
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsbook import __version__
from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.params import check_optional_time, check_time
from opsbook.config.models import Matcher
from opsbook.core import regex
from opsbook.core.clock import isoformat
from opsbook.core.errors import InputError
from opsbook.flows import am_api
from opsbook.flows import silences as sil_flows
from opsbook.storage.db import translate_errors

router = APIRouter(tags=["alertmanager-v2"])
T = TypeVar("T")
STARTED = datetime.now(UTC)
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's time.Time{}: Alertmanager's "no end"
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad request (a JSON string says why)"},
    401: {"description": "missing or unknown token"},
    403: {"description": "role too low"},
    404: {"description": "no such silence in this tenant"},
}

BASIC_AUTH_PREFIXES = ("/api/v2/", "/api/v1/heartbeats", "/api/v1/integrations/grafana")
"""Routes where ``Authorization: Basic`` is read as ``Bearer <password>``."""


def _tx(request: Request, fn: Callable[[Session], T]) -> T:
    with translate_errors(), state_of(request).sessions.begin() as s:
        return fn(s)


def _filters(texts: list[str]) -> list[Matcher]:
    if len(texts) > sil_flows.MAX_MATCHERS:
        raise InputError(f"at most {sil_flows.MAX_MATCHERS} filter matchers", field="filter")
    out = []
    for i, text in enumerate(texts):
        try:
            out.append(Matcher.parse(text.strip().strip("{}"), max_regex_chars=1000))
        except ValueError as exc:
            raise InputError(f"filter[{i}]: {exc}", field=f"filter[{i}]") from None
    return out


def _receiver(pattern: str | None) -> Callable[[str], bool] | None:
    if not pattern:
        return None
    try:
        regex.check(pattern)
    except regex.RegexRefused as exc:
        raise InputError(f"receiver: {exc}", field="receiver") from None
    return lambda name: bool(regex.full_match(pattern, name))


def _alert_json(a: am_api.AlertView) -> dict[str, Any]:
    return {
        "labels": a.labels,
        "annotations": a.annotations,
        "receivers": [{"name": a.receiver}],
        "fingerprint": a.fingerprint,
        "startsAt": isoformat(a.starts_at),
        "updatedAt": isoformat(a.updated_at),
        "endsAt": isoformat(a.ends_at) if a.ends_at else ZERO_TIME,
        "generatorURL": a.generator_url,
        "status": {
            "state": a.state,
            "silencedBy": list(a.silenced_by),
            "inhibitedBy": [],
            "mutedBy": list(a.silenced_by),
        },
    }


Filter = Annotated[list[str], Query(max_length=50, description='repeat: alertname="X"')]


def _selected(
    request: Request,
    p: Principal,
    filter: list[str],
    active: bool,
    silenced: bool,
    inhibited: bool,
    receiver: str | None,
) -> list[am_api.AlertView]:
    filters, accepts = _filters(filter), _receiver(receiver)
    st = state_of(request)
    now = st.clock.now()
    found = _tx(request, lambda s: am_api.current_alerts(s, st.config, p.tenant, now))
    return am_api.select_alerts(
        found, filters, active=active, silenced=silenced, inhibited=inhibited, receiver=accepts
    )


@router.get("/api/v2/alerts", responses=_ERRORS)
def get_alerts(
    request: Request,
    filter: Filter = [],  # noqa: B006
    active: bool = True,
    silenced: bool = True,
    inhibited: bool = True,
    unprocessed: bool = True,
    receiver: Annotated[str | None, Query(max_length=1000)] = None,
    p: Principal = Depends(require_role("viewer")),
) -> JSONResponse:
    """The tenant's current alerts as Alertmanager lists them (``amtool alert query``)."""
    del unprocessed  # opsbook processes every alert on receipt
    alerts = _selected(request, p, filter, active, silenced, inhibited, receiver)
    return JSONResponse([_alert_json(a) for a in alerts])


@router.get("/api/v2/alerts/groups", responses=_ERRORS)
def get_alert_groups(
    request: Request,
    filter: Filter = [],  # noqa: B006
    active: bool = True,
    silenced: bool = True,
    inhibited: bool = True,
    muted: bool = True,
    receiver: Annotated[str | None, Query(max_length=1000)] = None,
    p: Principal = Depends(require_role("viewer")),
) -> JSONResponse:
    """Alert groups: one per open incident (its group labels, its service as receiver)."""
    alerts = _selected(request, p, filter, active, silenced, inhibited, receiver)
    out = []
    for labels, recv, members in am_api.groups(alerts):
        if not muted and all(a.silenced_by for a in members):
            continue
        out.append(
            {
                "labels": labels,
                "routeLabels": {},
                "receiver": {"name": recv},
                "alerts": [_alert_json(a) for a in members],
            }
        )
    return JSONResponse(out)


class MatcherIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")
    value: str = Field(max_length=1000)
    isRegex: bool
    isEqual: bool = True


class PostableSilence(BaseModel):
    """Alertmanager's ``postableSilence``; ``createdBy`` is recorded as the token's name."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(default=None, max_length=64)
    matchers: list[MatcherIn] = Field(min_length=1, max_length=50)
    startsAt: datetime
    endsAt: datetime
    createdBy: str = Field(default="", max_length=160)
    comment: str = Field(default="", max_length=2000)


class SilenceCreated(BaseModel):
    silenceID: str


def _json(data: Any) -> JSONResponse:
    return JSONResponse(json.loads(json.dumps(data, default=isoformat)))


@router.get("/api/v2/silences", responses=_ERRORS)
def get_silences(
    request: Request,
    filter: Filter = [],  # noqa: B006
    p: Principal = Depends(require_role("viewer")),
) -> JSONResponse:
    """The tenant's silences (``amtool silence query``), filtered as Alertmanager filters."""
    filters = _filters(filter)
    now = state_of(request).clock.now()
    return _json(_tx(request, lambda s: am_api.list_silences(s, p.tenant, now, filters)))


@router.post("/api/v2/silences", response_model=SilenceCreated, responses=_ERRORS)
def post_silences(
    request: Request, body: PostableSilence, p: Principal = Depends(require_role("responder"))
) -> SilenceCreated:
    """Create a silence (``amtool silence add``); with ``id``, replace that silence."""
    st = state_of(request)
    now = st.clock.now()
    texts = [am_api.matcher_text(m.name, m.value, m.isRegex, m.isEqual) for m in body.matchers]
    row = _tx(
        request,
        lambda s: am_api.replace_silence(
            s,
            st.config,
            p.tenant,
            p.actor,
            p.role or "viewer",
            now,
            silence_id=body.id or None,
            matchers=texts,
            starts_at=check_optional_time(body.startsAt, "startsAt", now),
            ends_at=check_time(body.endsAt, "endsAt", now),
            comment=body.comment,
        ),
    )
    return SilenceCreated(silenceID=row.id)


@router.get("/api/v2/silence/{silence_id}", responses=_ERRORS)
def get_silence(
    request: Request, silence_id: str, p: Principal = Depends(require_role("viewer"))
) -> JSONResponse:
    """One silence of the tenant."""
    now = state_of(request).clock.now()
    return _json(
        _tx(
            request,
            lambda s: am_api.silence_json(sil_flows.get_silence(s, p.tenant, silence_id), now),
        )
    )


@router.delete("/api/v2/silence/{silence_id}", responses=_ERRORS)
def delete_silence(
    request: Request, silence_id: str, p: Principal = Depends(require_role("responder"))
) -> JSONResponse:
    """Expire a silence now (``amtool silence expire``); it is kept, with who expired it."""
    now = state_of(request).clock.now()
    _tx(request, lambda s: sil_flows.expire_silence(s, p.tenant, silence_id, p.actor, now))
    return JSONResponse(None)


@router.get("/api/v2/status", responses=_ERRORS)
def get_status(request: Request, p: Principal = Depends(require_role("viewer"))) -> JSONResponse:
    """Version, uptime and the tenant's routing as an Alertmanager config (``amtool config
    show``); variables, secrets and contacts are not part of it."""
    st = state_of(request)
    summary = am_api.config_summary(st.config, p.tenant)
    original = (
        f"# opsbook {__version__}: tenant {p.tenant}'s routes as an Alertmanager config "
        "(services are receivers; nothing else of the config is shown)\n"
        + yaml.safe_dump(summary, sort_keys=False)
    )
    return JSONResponse(
        {
            "cluster": {"name": "opsbook", "status": "disabled", "peers": []},
            "versionInfo": {
                "version": __version__,
                "revision": "",
                "branch": "",
                "buildUser": "opsbook",
                "buildDate": "",
                "goVersion": "none (opsbook is Python)",
            },
            "config": {"original": original},
            "uptime": isoformat(STARTED),
        }
    )


@router.get("/api/v2/receivers", responses=_ERRORS)
def get_receivers(request: Request, p: Principal = Depends(require_role("viewer"))) -> JSONResponse:
    """The tenant's receivers: its services (where routes send alerts)."""
    summary = am_api.config_summary(state_of(request).config, p.tenant)
    return JSONResponse(summary["receivers"])


# -- the edge: basic auth in, Alertmanager's error bodies out -----------------------------------


def bearer_from_basic(value: bytes) -> bytes | None:
    """``Basic base64(user:password)`` → ``Bearer <password>`` (the user if the password is
    empty); None when the header is not basic auth or does not decode."""
    scheme, _, encoded = value.partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return None
    secret = password or user
    return b"Bearer " + secret if secret and b" " not in secret else None


def error_text(body: bytes) -> str:
    """A problem+json body as the one line Alertmanager would send as a JSON string."""
    try:
        problem = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:2000]
    if not isinstance(problem, dict):
        return str(problem)[:2000]
    detail = str(problem.get("detail") or problem.get("title") or "error")
    field = problem.get("field")
    return f"{detail} (field: {field})" if field and str(field) not in detail else detail


class AlertmanagerCompat:
    """ASGI middleware for Alertmanager's clients (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(BASIC_AUTH_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        for i, (name, value) in enumerate(headers):
            if name == b"authorization":
                bearer = bearer_from_basic(value)
                if bearer is not None:
                    headers[i] = (name, bearer)
                    scope = {**scope, "headers": headers}
        if not path.startswith("/api/v2/"):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def as_alertmanager(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                ctype = dict(message.get("headers") or []).get(b"content-type", b"")
                if ctype.startswith(b"application/problem+json"):
                    held = message
                    if held["status"] == 422:  # Alertmanager's code for bad input
                        held = {**held, "status": 400}
                    return
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = json.dumps(error_text(b"".join(chunks))).encode()
                kept = [
                    (k, v)
                    for k, v in held.get("headers") or []
                    if k not in (b"content-type", b"content-length")
                ]
                kept += [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({**held, "headers": kept})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, as_alertmanager)
