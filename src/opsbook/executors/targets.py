"""Where a client step connects comes from config only (DESIGN §6.9).

The executors ask here which request variables went into a connection target (a URL variable
such as ``DATABASE_URL``, or a ``-h``/``-u``/``-a`` option built with a value), and judge the
host with :func:`opsbook.executors.ssrf.judge`. A refusal is a ``failed`` result that says where
the target must come from instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from opsbook.executors.common import result
from opsbook.executors.models import ExecContext, Resolved, StepResult


def given_in(templates: Iterable[str], resolved: Resolved, ctx: ExecContext) -> list[str]:
    """Names of request variables whose values are in these pieces of the template."""
    names = [
        resolved.names[i]
        for piece in templates
        for i in Resolved.slots(piece)
        if i < len(resolved.names)
    ]
    return [n for n in dict.fromkeys(names) if ctx.source(n) == "request"]


def url_variable(ctx: ExecContext, names: Iterable[str]) -> tuple[str | None, str | None]:
    """The first of ``names`` that has a value, and that value."""
    for name in names:
        value = ctx.lookup(name)
        if value:
            return name, value
    return None, None


def refusal(what: str, given: Iterable[str]) -> str:
    """The sentence a refused target gets: where it must come from and what the request gave."""
    return (
        f"{what} comes from the service's config; "
        f"{', '.join(dict.fromkeys(given))} was given in the request"
    )


def refused(summary: str, start: float, command: str) -> StepResult:
    return result("failed", summary if summary.startswith("refused:") else f"refused: {summary}",
                  start, command=command)  # fmt: skip
