"""Paging the team when someone breaks glass on a run request (approves without the second person).

Whom: the first level of the incident's escalation (the policy frozen when paging started, else
the service's policy now) and the incident's commander. The messages go through the durable
outbox (``flows.outbox.queue_page``) in the caller's transaction, with an update sequence derived
from the run id, so a retried request never pages twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.settings import Settings
from opsbook.escalation.policy import Snapshot
from opsbook.escalation.targets import UnknownSchedule, resolve_targets
from opsbook.flows.escalation import overrides_for, policy_name
from opsbook.flows.outbox import queue_page
from opsbook.storage.tables import Escalation, Incident, StepRun


def _first_level(s: Session, config: Config, inc: Incident, now: datetime) -> list[str]:
    esc = s.get(Escalation, inc.id)
    targets = None
    if esc is not None and esc.tenant == inc.tenant:
        levels = Snapshot.model_validate(esc.snapshot).levels
        targets = levels[0].targets if levels else None
    else:
        name = policy_name(config, inc.tenant, inc.service, inc.severity, None)
        policy = config.policy(inc.tenant, name) if name else None
        targets = policy.steps[0].notify if policy and policy.steps else None
    if targets is None:
        return []
    schedules = {sch.name: sch for sch in config.schedules if sch.tenant == inc.tenant}
    try:
        return resolve_targets(targets, schedules, now, overrides_for(s, inc.tenant))
    except UnknownSchedule:
        return []


def team_of(s: Session, config: Config, inc: Incident, now: datetime) -> list[str]:
    """Who hears about a break glass: escalation level 1 and the commander, no repeats."""
    users = _first_level(s, config, inc, now)
    if inc.commander and inc.commander not in users:
        users.append(inc.commander)
    return users


def page_team(
    s: Session,
    config: Config,
    settings: Settings,
    inc: Incident,
    run: StepRun,
    message: str,
    now: datetime,
) -> list[str]:
    """Queue ``message`` to the team; returns the users with at least one delivery queued."""
    seq = int(hashlib.sha256(f"break-glass:{run.id}".encode()).hexdigest()[:8], 16)
    reached = []
    for user in team_of(s, config, inc, now):
        deliveries = queue_page(
            s,
            config,
            settings,
            incident=inc,
            user=user,
            reason="update",
            update_seq=seq,
            now=now,
            summary=message,
        )
        if deliveries:
            reached.append(user)
    return reached
