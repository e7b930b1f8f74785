"""The inbox of the web UI: ``/ui/inbox`` lists the pages sent to the person's ``inbox://``
contact, newest first, unread ones marked; ``/ui/inbox/count`` is the unread badge of the
navigation (HTMX polls it; ``inbox.js`` turns a rise into a browser notification when the
person allowed them). Reading is an explicit act (a CSRF-checked form), so a page that was
merely refreshed does not mark a 3 a.m. page as seen.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from opsbook.api.auth import state_of
from opsbook.core.errors import OpsbookError
from opsbook.flows import inbox
from opsbook.storage.db import translate_errors
from opsbook.web.auth import CsrfRejected, check_csrf, read_form, signed_in
from opsbook.web.pages import base, error_page, to_login
from opsbook.web.render import page

router = APIRouter()


@router.get("/inbox")
async def inbox_page(request: Request) -> Response:
    """The person's messages with a link to each incident, and "mark all read"."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    st = state_of(request)
    template = "_inbox_items.html" if request.headers.get("hx-request") else "inbox.html"

    def render() -> Response:
        with translate_errors(), st.sessions() as s:
            rows = inbox.items(s, who.tenant, who.name)
            c = inbox.counts(s, who.tenant, who.name)
        return page(template, {**base(who), "items": rows, "counts": c})

    try:
        return await run_in_threadpool(render)
    except OpsbookError as exc:
        return error_page(request, who, exc)


@router.get("/inbox/count")
async def inbox_count(request: Request) -> Response:
    """The unread badge (a fragment): the number, and the newest unread title for inbox.js."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    st = state_of(request)

    def render() -> Response:
        with translate_errors(), st.sessions() as s:
            unread = inbox.unread_count(s, who.tenant, who.name)
            newest = inbox.items(s, who.tenant, who.name, unread_only=True, limit=1)
        return page(
            "_inbox_count.html", {"unread": unread, "newest": newest[0] if newest else None}
        )

    return await run_in_threadpool(render)


@router.post("/inbox/read")
async def inbox_read(request: Request) -> Response:
    """Mark one message (form field ``id``) or every message read, then show the inbox."""
    who = await signed_in(request)
    if who is None:
        return to_login(request)
    form = await read_form(request)
    try:
        check_csrf(who, form)
    except CsrfRejected:
        return page("forbidden.html", {"who": who}, status=403)
    st = state_of(request)
    item_id = form.get("id", "")[:64] or None

    def mark() -> None:
        with translate_errors(), st.sessions.begin() as s:
            inbox.mark_read(s, who.tenant, who.name, st.clock.now(), item_id)

    try:
        await run_in_threadpool(mark)
    except OpsbookError as exc:
        return error_page(request, who, exc)
    return RedirectResponse("/ui/inbox", status_code=303)
