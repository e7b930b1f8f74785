"""The rollouts pages of the web UI: ``/ui/rollouts`` (the newest, running first) and
``/ui/rollouts/{id}``: the step it is at, each gate's values over time drawn against its
threshold, and the history. Read-only here: starting, promoting and aborting are API/CLI acts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from opsbook.api.auth import state_of
from opsbook.core.errors import NotFound, OpsbookError
from opsbook.flows import rollouts
from opsbook.storage.db import translate_errors
from opsbook.web.auth import signed_in
from opsbook.web.pages import base, error_page, to_login
from opsbook.web.render import page
from opsbook.web.sessions import SignedIn
from opsbook.web.svg_lines import Point, line_chart

router = APIRouter()


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _plan(request: Request, tenant: str, name: str) -> Any:
    try:
        return rollouts.plan_of(state_of(request).config, tenant, name)
    except NotFound:
        return None


def charts(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Per gate: its threshold in words, the latest evaluation and a chart of its values."""
    out = []
    evaluations = view["evaluations"]
    t0 = datetime.fromisoformat(evaluations[0]["at"]) if evaluations else None
    for i, g in enumerate(view["gates"]):
        mine = [e for e in evaluations if e["gate"] == g["name"]]
        bound = g["max"] if g["max"] is not None else g["min"]
        words = ", ".join(
            f"{k.replace('_', ' ')} {g[k]:g}" for k in ("max", "min", "max_increase", "max_ratio")
            if g[k] is not None
        )  # fmt: skip
        points = [
            Point(
                (datetime.fromisoformat(e["at"]) - t0).total_seconds() if t0 else 0.0,
                e["value"],
                f"{e['at']} at {e['weight']} %: {e['verdict']} ({e['reason']})",
                e["verdict"] == "fail",
            )
            for e in mine
        ]
        chart = line_chart(
            f"gate-{i}", f"gate {g['name']}", f"{g['name']} over the rollout; {words}", points,
            _fmt, threshold=bound, threshold_label=words,
        )  # fmt: skip
        out.append({"gate": g, "words": words, "last": mine[-1] if mine else None, "chart": chart})
    return out


def _list(request: Request, who: SignedIn) -> Response:
    st = state_of(request)
    with translate_errors(), st.sessions() as s:
        rows = [
            rollouts.view(r, _plan(request, who.tenant, r.name))
            for r in rollouts.listing(s, who.tenant)
        ]
    plans = rollouts.plans(st.config, who.tenant)
    return page("rollouts.html", {**base(who), "rollouts": rows, "plans": plans})


def _detail(request: Request, who: SignedIn, rollout_id: str) -> Response:
    st = state_of(request)
    try:
        with translate_errors(), st.sessions() as s:
            row = rollouts.get(s, who.tenant, rollout_id[:40])
            view = rollouts.view(row, _plan(request, who.tenant, row.name))
    except OpsbookError as exc:
        return error_page(request, who, exc)
    return page("rollout.html", {**base(who), "r": view, "charts": charts(view)})


@router.get("/rollouts")
async def rollouts_page(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    return await run_in_threadpool(_list, request, who)


@router.get("/rollouts/{rollout_id}")
async def rollout_page(request: Request, rollout_id: str) -> Response:
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    return await run_in_threadpool(_detail, request, who, rollout_id)
