"""The backlog banner: every signed-in page loads it (and refreshes it) from ``/ui/backlog``.

It shows only while the tenant's backlog of unsent work is deep (``flows.backlog``), so a person
looking at the UI during a storm knows notifications are late instead of trusting silence.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from opsbook.api.auth import state_of
from opsbook.flows import backlog
from opsbook.storage.db import translate_errors
from opsbook.web.auth import signed_in
from opsbook.web.pages import to_login
from opsbook.web.render import page

router = APIRouter()


@router.get("/backlog")
async def backlog_banner(request: Request) -> Response:
    """The banner fragment (empty while the backlog is shallow)."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    st = state_of(request)

    def render() -> Response:
        with translate_errors(), st.sessions() as s:
            b = backlog.read(
                s,
                st.clock.now(),
                st.settings.backlog_deep_items,
                st.settings.backlog_deep_seconds,
                who.tenant,
            )
        return page("_backlog.html", {"backlog": b})

    return await run_in_threadpool(render)
