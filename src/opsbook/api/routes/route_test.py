"""``POST /api/v1/routes/test``: what the pipeline would do with a label set, storing nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from opsbook.api.auth import Principal, require_role, state_of
from opsbook.api.params import check_time
from opsbook.flows.escalation import overrides_for
from opsbook.flows.route_test import explain_route, verdict_json
from opsbook.flows.silences import Quiet
from opsbook.storage.db import translate_errors

router = APIRouter(prefix="/api/v1", tags=["routes"])

LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
LabelValue = Annotated[str, StringConstraints(max_length=1024)]


class RouteTestIn(BaseModel):
    """The labels (and optionally annotations) of an alert that was never sent."""

    model_config = ConfigDict(extra="forbid")

    labels: dict[LabelName, LabelValue] = Field(min_length=1, max_length=64)
    annotations: dict[LabelName, LabelValue] = Field(default_factory=dict, max_length=64)
    at: datetime | None = Field(
        default=None, description="evaluate on-call at this time; default now"
    )


@router.post("/routes/test")
def test_route(
    request: Request, body: RouteTestIn, p: Principal = Depends(require_role("viewer"))
) -> dict[str, Any]:
    """The route, service, severity, silence, runbook section, escalation policy and who would be
    paged at each level now, for ``labels`` in the caller's tenant. Nothing is stored or sent."""
    st = state_of(request)
    now = st.clock.now()
    at = check_time(body.at, "at", now) if body.at else now
    config, catalog = st.config, st.catalog
    with translate_errors(), st.sessions() as s:
        overrides = overrides_for(s, p.tenant)
        quiet = Quiet.load(s, config, p.tenant, at)
        verdict = explain_route(
            config,
            catalog,
            p.tenant,
            body.labels,
            at,
            annotations=body.annotations,
            overrides=overrides,
            quiet=quiet.check,
        )
    return verdict_json(verdict)
