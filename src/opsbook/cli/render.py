"""Plain text for terminals (no colour codes, so output pipes and greps cleanly).

One time rule for the whole CLI: a moment is ``2026-12-04 03:12 UTC`` (:func:`when`); a table
column that only needs to say how long ago (the incident list's AGE) is ``5m ago``
(:func:`ago`). Tables fit the terminal: on a terminal (or with ``COLUMNS`` set) titles are
shortened at a word boundary with ``…`` and labels wrap onto more lines, never cut mid-word.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

ELLIPSIS = "…"
_BREAKS = " ,;/|"
MIN_FLEX = 12
"""A flexible column is never squeezed below this many characters."""


def parse_time(value: str | datetime) -> datetime:
    """An ISO time from the API (``Z`` or an offset), or a datetime, as aware UTC."""
    t = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(value.replace("Z", "+00:00"))
    )
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def when(value: str | datetime | None) -> str:
    """``2026-12-04 03:12 UTC`` (``-`` for none): the one way the CLI writes a moment."""
    if value is None or value == "":
        return "-"
    return parse_time(value).strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: float) -> str:
    """A short duration: ``45s``, ``5m``, ``3h``, ``2d`` (the largest whole unit)."""
    secs = int(abs(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def ago(value: str | datetime, now: datetime | None = None) -> str:
    """``5m ago`` (or ``in 5m`` for a time ahead), for narrow table columns."""
    delta = ((now or datetime.now(UTC)) - parse_time(value)).total_seconds()
    return f"{span(delta)} ago" if delta >= 0 else f"in {span(delta)}"


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut at a word boundary (space, comma, …) with ``…``.

    A single word longer than ``width`` is cut with ``…`` (nothing else fits)."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    room = text[: width - 1]
    cut = max(room.rfind(c) for c in _BREAKS)
    whole = text[width - 1] in _BREAKS  # the cut falls between words already
    if not whole and cut >= max(1, (width - 1) // 3):  # else one long word: cut inside it
        room = room[:cut]
    return room.rstrip(_BREAKS) + ELLIPSIS


def terminal_width() -> int | None:
    """Columns to fit: ``COLUMNS`` if set, else the terminal's; None when piped (no limit)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return None


def _longest_word(cells: Sequence[Sequence[str]], i: int) -> int:
    """The longest space-separated piece of column ``i``: a wrapped column is never narrower."""
    return max((len(w) for r in cells for w in r[i].split()), default=0)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    flex: Collection[int] = (),
    wrap: Collection[int] = (),
    width: int | None = None,
) -> str:
    """Aligned columns; columns in ``flex`` are narrowed (widest first) to fit ``width``
    (default :func:`terminal_width`): shortened at a word boundary with …, or, for those also
    in ``wrap`` (labels), wrapped onto more lines at word boundaries so nothing is lost."""
    if not rows:
        return "(none)"
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    limit = width if width is not None else terminal_width()
    if limit is not None and flex:
        over = sum(widths) + 2 * (len(widths) - 1) - limit
        while over > 0:
            i = max(flex, key=lambda k: widths[k])
            floor = max(MIN_FLEX, len(str(headers[i])), _longest_word(cells, i) if i in wrap else 0)
            if widths[i] <= floor:
                break
            cut = min(over, widths[i] - floor)
            widths[i] -= cut
            over -= cut
        for r in cells:
            for i in flex:
                if i not in wrap:
                    r[i] = shorten(r[i], widths[i])
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in cells:
        parts = [
            textwrap.wrap(c, widths[i], break_long_words=False, break_on_hyphens=False) or [""]
            if i in wrap and len(c) > widths[i]
            else [c]
            for i, c in enumerate(r)
        ]
        for n in range(max(len(p) for p in parts)):
            row = [p[n] if n < len(p) else "" for p in parts]
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
