"""Users' matcher regexes (silences, routes, previews) on RE2, a linear-time engine.

Python's ``re`` backtracks: ``(.*.*.*.*.*)*$`` against a 30-character label value runs for
hours and holds the thread (and, through the GIL, the whole server). RE2 — the engine
Alertmanager's Go ``regexp`` is — matches in time linear in the input, and refuses what cannot
be matched that way (backreferences, lookarounds). This module is the one place that turns a
user's pattern into a matcher; everything else calls :func:`compile_matcher` or
:func:`full_match`.

Semantics are Alertmanager's: the pattern is fully anchored (``^(?:pattern)$``), ``.`` does not
match a newline and ``$`` is the end of the text. A pattern is also checked on its own, so a
value such as ``a)|(b`` cannot escape the anchoring group.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN_CHARS = 1000  # a request's pattern; the config allows longer (reviewed alternations)
CONFIG_MAX_PATTERN_CHARS = 20_000
_MAX_MEM = 4 << 20  # RE2's compile/DFA budget per pattern; too big a program fails to compile
_HINTS = (
    (re.compile(r"invalid escape sequence: \\[1-9]"), "RE2 has no backreferences"),
    (re.compile(r"invalid perl operator: \(\?(=|!|<=|<!)"), "RE2 has no lookarounds"),
    (re.compile(r"invalid escape sequence: \\Z"), r"write \z for the end of the text"),
)


class RegexRefused(ValueError):
    """A pattern RE2 will not compile, or one too long; the message says why, in RE2's words."""


def _reason(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else str(exc)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    for rx, hint in _HINTS:
        if rx.match(text):
            return f"{text} ({hint})"
    return text


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    opts = re2.Options()
    opts.log_errors = False  # the reason travels in the exception, not on stderr
    opts.max_mem = _MAX_MEM
    try:
        re2.compile(pattern, opts)  # alone first: "a)|(b" must not close the anchoring group
        return re2.compile(f"^(?:{pattern})$", opts)
    except re2.error as exc:
        raise RegexRefused(_reason(exc)) from None


def check(pattern: str, *, max_chars: int = MAX_PATTERN_CHARS) -> None:
    """Raise RegexRefused unless RE2 accepts ``pattern`` and it is at most ``max_chars`` long."""
    if len(pattern) > max_chars:
        raise RegexRefused(f"the regex is {len(pattern)} characters long; at most {max_chars}")
    _compiled(pattern)


def full_match(pattern: str, value: str) -> bool | None:
    """Whether all of ``value`` matches ``pattern``; None when RE2 refuses the pattern.

    Matching runs over stored silences and loaded routes: a pattern stored before RE2 (say,
    with a lookahead) answers None so the caller can fail safe, never raise mid-intake.
    """
    try:
        rx = _compiled(pattern)
    except RegexRefused:
        return None
    return rx.match(value) is not None
