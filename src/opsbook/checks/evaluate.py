"""Pure evaluation helpers: failure thresholds, the first value of a result table, and
``{{ NAME }}`` / ``${NAME}`` / ``$NAME`` placeholders in check settings."""

from __future__ import annotations

import re
from collections.abc import Callable

from opsbook.config.checks import parse_threshold
from opsbook.executors.models import StepResult, TableBlock

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


class MissingSetting(ValueError):
    """A placeholder names a variable the service does not define."""


def fill(text: str, lookup: Callable[[str], str | None]) -> str:
    """Put the service's variables and secrets into ``{{ NAME }}`` and ``${NAME}``; raises
    MissingSetting naming the variable when one is not defined."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        value = lookup(name)
        if value is None:
            raise MissingSetting(
                f"{name} is not defined: add it to the service's variables or secrets"
            )
        return value

    return _PLACEHOLDER.sub(one, text)


def breaches(value: float, threshold: str) -> bool:
    """True when ``value`` meets the failure condition ``threshold`` (``"> 90"``)."""
    op, limit = parse_threshold(threshold)
    return _OPS[op](value, limit)


def first_value(res: StepResult) -> str | None:
    """The last column of the first row of the first table (a count, a PromQL sample)."""
    for block in res.blocks:
        if isinstance(block, TableBlock) and block.rows and block.rows[0]:
            return block.rows[0][-1]
    return None


def table_fields(res: StepResult) -> dict[str, str]:
    """A two-column (field, value) table as a dict — Redis INFO."""
    out: dict[str, str] = {}
    for block in res.blocks:
        if isinstance(block, TableBlock) and len(block.columns) == 2:
            out.update({row[0]: row[1] for row in block.rows if len(row) == 2})
    return out


def as_number(text: str | None) -> float | None:
    """A table cell as a number (``t``/``f`` as 1/0); None when it is not one."""
    if text is None:
        return None
    if text in ("t", "true", "True"):
        return 1.0
    if text in ("f", "false", "False"):
        return 0.0
    try:
        return float(text)
    except ValueError:
        return None
