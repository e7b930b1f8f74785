"""Put a step's variables in: ``$REDIS_URL``, ``${NEO4J_URI}`` (``${X:-default}``),
``<pod-name>``, ``[RELEASE]`` and ``{{ value }}``, from the context's variables and secrets.

Only the names the runbook reader listed in ``Step.variables`` are replaced (so ``$1`` in SQL or
``$HOME`` stay as written). A missing one is never guessed: :class:`MissingVariables` lists all.
"""

from __future__ import annotations

import re

from opsbook.executors.models import MASK, ExecContext, MissingVariables, Resolved, slot
from opsbook.runbooks.models import Step

_TEMPLATE = re.compile(r"\{\{-?\s*[.$]*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)[^{}]*?-?\}\}")
_BRACED = re.compile(r"(?<![\\$])\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
_DOLLAR = re.compile(r"(?<![\\$])\$([A-Za-z_][A-Za-z0-9_]*)(?![\w(])")
_ANGLE = re.compile(
    r"(?<![<\w])<([A-Za-z][A-Za-z0-9_.\-]*(?:[ _][A-Za-z0-9][A-Za-z0-9_.\-]*){0,3})>(?![>\w])"
)
_BRACKET = re.compile(r"(?<![\w\]\[$])\[([A-Z][A-Z0-9_\-]+)\](?![\w(\[])")
_PATTERNS = (_TEMPLATE, _BRACED, _DOLLAR, _ANGLE, _BRACKET)


def _occurrences(text: str, names: set[str]) -> list[tuple[int, int, str, str | None]]:
    """(start, end, name, default) of every variable in ``text``, left to right, no overlaps."""
    found: list[tuple[int, int, str, str | None]] = []
    taken: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            name = m.group(1)
            if name not in names:
                continue
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            default = m.group(2) if pattern is _BRACED else None
            found.append((m.start(), m.end(), name, default))
            taken.append((m.start(), m.end()))
    return sorted(found)


def resolve(step: Step, ctx: ExecContext) -> Resolved:
    """The step's command with every variable substituted; raises MissingVariables (all names)."""
    text = step.text
    if not step.variables:
        return Resolved(text=text, display=text, template=text)
    occurrences = _occurrences(text, set(step.variables))
    missing = [
        name
        for name in step.variables
        if ctx.lookup(name) is None and any(n == name and d is None for _, _, n, d in occurrences)
    ]
    if missing:
        raise MissingVariables(missing)
    values: list[str] = []
    secret: list[bool] = []
    names: list[str] = []
    parts: list[str] = []
    real: list[str] = []
    shown: list[str] = []
    pos = 0
    for start, end, name, default in occurrences:
        value = ctx.lookup(name)
        is_secret = value is not None and ctx.is_secret(name)
        if value is None:
            value = default or ""
        parts.append(text[pos:start])
        real.append(text[pos:start])
        shown.append(text[pos:start])
        parts.append(slot(len(values)))
        real.append(value)
        shown.append(MASK if is_secret else value)
        values.append(value)
        secret.append(is_secret)
        names.append(name)
        pos = end
    for out in (parts, real, shown):
        out.append(text[pos:])
    return Resolved(
        text="".join(real),
        display="".join(shown),
        template="".join(parts),
        values=tuple(values),
        secret=tuple(secret),
        names=tuple(names),
    )
