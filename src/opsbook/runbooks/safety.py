"""Safety verdicts and how they combine: the worst part of a command decides.

Order, best to worst: read-only < mutating < unknown < destructive (unknown is treated like
destructive by policy, but a known destructive part is still worse to report).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

READ_ONLY = "read-only"
MUTATING = "mutating"
DESTRUCTIVE = "destructive"
UNKNOWN = "unknown"
_RANK = {READ_ONLY: 0, MUTATING: 1, UNKNOWN: 2, DESTRUCTIVE: 3}


class Verdict(NamedTuple):
    """A safety class with the one-line reason a human would give."""

    safety: str
    reason: str


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst verdict (first one wins ties); read-only when there is none."""
    best: Verdict | None = None
    for v in verdicts:
        if best is None or _RANK[v.safety] > _RANK[best.safety]:
            best = v
    return best or Verdict(READ_ONLY, "nothing to run")


def ro(reason: str) -> Verdict:
    """A read-only verdict."""
    return Verdict(READ_ONLY, reason)


def mut(reason: str) -> Verdict:
    """A mutating verdict."""
    return Verdict(MUTATING, reason)


def des(reason: str) -> Verdict:
    """A destructive verdict."""
    return Verdict(DESTRUCTIVE, reason)


def unk(reason: str) -> Verdict:
    """An unknown verdict."""
    return Verdict(UNKNOWN, reason)
