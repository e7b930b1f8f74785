"""Turn a level's targets into people, at the moment the level fires.

Schedules are resolved when the level fires, not when paging starts: the person on call at
03:10 is the one to wake, even if the escalation began before a handoff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from opsbook.config.oncall import Schedule, Target
from opsbook.escalation.schedules import Override, oncall_at


class UnknownSchedule(LookupError):
    """A level names a schedule that is not (or no longer) configured."""


def resolve_targets(
    targets: Target,
    schedules: Mapping[str, Schedule],
    at: datetime,
    overrides: Sequence[Override] = (),
) -> list[str]:
    """The user names ``targets`` reach at ``at``: users, on-call person, everyone; no repeats.

    Raises :class:`UnknownSchedule` so a caller can record why a level reached nobody.
    """
    out: list[str] = []

    def add(names: Sequence[str]) -> None:
        out.extend(n for n in names if n not in out)

    add(targets.users)
    for name, everyone in ((targets.schedule, False), (targets.schedule_all, True)):
        if name is None:
            continue
        schedule = schedules.get(name)
        if schedule is None:
            raise UnknownSchedule(f"schedule {name!r} is not configured")
        add(schedule.participants() if everyone else oncall_at(schedule, at, overrides))
    return out
