"""The ``inbox://`` contact: pages kept in opsbook's own database and shown in the web UI.

It needs no mail server or chat app, so a fresh install can page someone: the message lands at
``/ui/inbox`` (and as a browser notification while a UI page is open). The contact URL carries
nothing (``inbox://``): the inbox is the person's whose contact it is. Pure: storage is in
``flows.inbox``.
"""

from __future__ import annotations

SCHEME = "inbox"
"""Scheme of the contact URL, as written in ``users[].contacts``: ``inbox://``."""

MAX_TITLE = 300
"""Longer titles are cut (with …) to fit the column."""


def is_inbox(url: str) -> bool:
    """Whether ``url`` is an inbox contact (``inbox://``, any case, anything after it ignored)."""
    return url.strip().lower().startswith(f"{SCHEME}://")


def user_of(url: str) -> str | None:
    """The user named in ``inbox://alice`` (``opsbook notify test`` uses it), else None."""
    rest = url.strip()[len(SCHEME) + 3 :].strip("/")
    return rest or None


def fit_title(title: str) -> str:
    """``title`` on one line, at most ``MAX_TITLE`` characters."""
    one = " ".join(title.split())
    return one if len(one) <= MAX_TITLE else one[: MAX_TITLE - 1] + "…"
