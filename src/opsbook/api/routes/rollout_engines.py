"""opsbook's SLO gates for the rollout engines teams already run, and incidents when they fail.

* **Flagger webhooks** (``POST /api/v1/integrations/flagger``): Flagger posts
  ``{name, namespace, phase, type, metadata}`` and counts any answer but 200 as a failed check.
  ``pre-rollout``, ``rollout``, ``confirm-traffic-increase`` and ``confirm-promotion`` are
  answered by judging the plan's gates now (``confirm-promotion`` also refuses on no data);
  ``post-rollout`` with phase ``Failed`` and ``rollback`` open an opsbook incident with the
  evidence. The plan is ``metadata.rollout`` (else the canary's name); canary and stable names
  are ``metadata.canary``/``metadata.stable`` (else Flagger's ``<name>-canary``/``<name>-primary``).
  Flagger cannot send headers: the token may come as ``metadata.token`` (never logged).
* **Argo Rollouts web metric provider** (``GET /api/v1/integrations/argo/gates/{plan}``): the
  gates' values as JSON — ``{"pass": true, "gates": {"error-rate": {"value": …}}}`` — for an
  AnalysisTemplate's ``jsonPath``/``successCondition``; ``POST …/argo/failed`` (from Argo's
  notifications on abort) opens the incident.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRouter
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from opsbook.api.auth import Principal, bearer, principal, require_role, state_of
from opsbook.config.rollouts import Rollout
from opsbook.core.errors import AuthError, InputError, PermissionDenied
from opsbook.flows import rollouts
from opsbook.rollouts.engine import GateResult
from opsbook.storage.db import translate_errors

router = APIRouter(prefix="/api/v1/integrations", tags=["rollouts"])
PlanName = Annotated[str, Path(min_length=1, max_length=64)]
Name = Annotated[str | None, Query(min_length=1, max_length=253)]
CHECKS = (
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "confirm-rollout",
)
FAILURES = ("rollback",)


class FlaggerHook(BaseModel):
    """The body Flagger posts to a webhook (unknown fields are ignored, as Flagger adds some)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=253)
    namespace: str = Field(default="default", max_length=253)
    phase: str = Field(default="", max_length=64)
    type: str = Field(default="rollout", max_length=64)
    checksum: str = Field(default="", max_length=256)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=32)


class FailedIn(BaseModel):
    """A rollout engine says a rollout failed or was aborted."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="aborted by the rollout engine", max_length=1000)
    canary: str | None = Field(default=None, max_length=253)
    stable: str | None = Field(default=None, max_length=253)


async def flagger_principal(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    """The ``Authorization`` bearer token, else ``metadata.token`` of the body."""
    if creds is None or not creds.credentials:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        meta = body.get("metadata") if isinstance(body, dict) else None
        token = meta.get("token") if isinstance(meta, dict) else None
        if not isinstance(token, str) or not token or len(token) > 255:
            raise AuthError(
                "send an opsbook token as `Authorization: Bearer …` or as metadata.token",
                field="metadata.token",
            )
        creds = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    p = await principal(request, creds)
    if p.kind != "intake" and p.role not in ("responder", "commander", "admin"):
        raise PermissionDenied("a viewer token cannot drive rollouts", field="token")
    return p


def _gates_json(results: list[GateResult]) -> dict[str, Any]:
    return {
        r.gate: {"value": r.value, "baseline": r.baseline, "verdict": r.verdict, "reason": r.reason}
        for r in results
    }


def _failed(request: Request, p: Principal, plan: Rollout, body: FailedIn) -> str | None:
    st = state_of(request)
    svc = st.config.service(p.tenant, plan.service)
    if svc is None:
        raise InputError(f"service {plan.service!r} is not in your tenant", field="rollout")
    results = rollouts.evaluate(plan, body.version, canary=body.canary, stable=body.stable)
    f = rollouts.Failure(
        f"external-{plan.name}", body.version, -1, 0, body.reason, (), body.canary, body.stable
    )
    with translate_errors(), st.sessions.begin() as s:
        return rollouts.open_incident(
            s, st.config, svc, plan, f, results, st.clock.now(), st.catalog
        )


@router.post("/flagger")
def flagger_webhook(
    request: Request, hook: FlaggerHook, p: Principal = Depends(flagger_principal)
) -> JSONResponse:
    """Answer a Flagger webhook: 200 to go on, 412 (with the failing gates) to halt."""
    plan = rollouts.plan_of(
        state_of(request).config, p.tenant, hook.metadata.get("rollout") or hook.name
    )
    canary = hook.metadata.get("canary") or f"{hook.name}-canary"
    stable = hook.metadata.get("stable") or f"{hook.name}-primary"
    version = hook.metadata.get("version") or hook.checksum or hook.name
    failed_phase = hook.type == "post-rollout" and hook.phase.lower() == "failed"
    if hook.type in FAILURES or failed_phase:
        body = FailedIn(version=version, reason=f"Flagger {hook.type} ({hook.phase or 'no phase'})",
                        canary=canary, stable=stable)  # fmt: skip
        incident = _failed(request, p, plan, body)
        return JSONResponse({"ok": True, "incident_id": incident})
    if hook.type not in CHECKS:
        return JSONResponse({"ok": True, "ignored": hook.type})
    results = rollouts.evaluate(plan, version, canary=canary, stable=stable)
    strict = hook.type == "confirm-promotion"
    halting = [r for r in results if r.verdict == "fail" or (strict and r.verdict != "pass")]
    out = {"ok": not halting, "gates": _gates_json(results)}
    if halting:
        out["detail"] = "; ".join(f"gate {r.gate}: {r.reason}" for r in halting)
        return JSONResponse(out, status_code=412)
    return JSONResponse(out)


@router.get("/argo/gates/{plan}")
def argo_metric(
    request: Request,
    plan: PlanName,
    canary: Name = None,
    stable: Name = None,
    version: Annotated[str, Query(max_length=128)] = "",
    p: Principal = Depends(require_role("viewer")),
) -> dict[str, Any]:
    """The plan's gates judged now, for Argo Rollouts' web metric provider: use
    ``jsonPath: "{$.pass}"`` with ``successCondition: result == true``, or one gate's
    ``{$.gates.error-rate.value}`` with your own condition."""
    found = rollouts.plan_of(state_of(request).config, p.tenant, plan)
    results = rollouts.evaluate(found, version, canary=canary, stable=stable)
    return {
        "pass": not any(r.verdict == "fail" for r in results),
        "inconclusive": [r.gate for r in results if r.verdict == "inconclusive"],
        "gates": _gates_json(results),
    }


@router.post("/argo/failed/{plan}")
def argo_failed(
    request: Request, plan: PlanName, body: FailedIn, p: Principal = Depends(flagger_principal)
) -> dict[str, Any]:
    """Argo Rollouts (its notifications, on-rollout-aborted) reports a failed rollout: open
    the incident with the gates' values now."""
    found = rollouts.plan_of(state_of(request).config, p.tenant, plan)
    return {"incident_id": _failed(request, p, found, body)}
