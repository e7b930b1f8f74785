"""Every kind of durable job, wired to its flow: one place for `serve`'s worker and `opsbook worker`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config
from opsbook.core.clock import Clock
from opsbook.core.settings import Settings
from opsbook.flows.checks import CheckScheduler
from opsbook.flows.escalation import Escalator
from opsbook.flows.heartbeats import HeartbeatWatch
from opsbook.flows.inbox import InboxSender
from opsbook.flows.outbox import Deliverer, queue_page
from opsbook.flows.retention import Retention
from opsbook.flows.rollouts import RolloutDriver
from opsbook.flows.run_steps import StepRunner
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.flows.verify import VerifySchedule
from opsbook.jobs.worker import JobKind
from opsbook.storage.tables import Incident


def all_job_kinds(
    sessions: sessionmaker[Session],
    config: Callable[[], Config],
    catalog: Callable[[], RunbookCatalog],
    settings: Settings,
    clock: Clock,
) -> dict[str, JobKind]:
    """Step runs and diagnostics, escalation ticks, notification deliveries."""

    def page(
        s: Session, incident: Incident, user: str, level: int, seq: int, now: datetime
    ) -> object:
        return queue_page(
            s,
            config(),
            settings,
            incident=incident,
            user=user,
            reason="page",
            update_seq=seq,
            now=now,
            level=level,
        )

    return {
        **StepRunner(sessions, config, catalog, clock, step_path=settings.step_path).job_kinds(),
        **Escalator(sessions, config, clock, page).job_kinds(),
        **Deliverer(sessions, config, clock, InboxSender(sessions, clock)).job_kinds(),
        **CheckScheduler(sessions, config, catalog, clock).job_kinds(),
        **HeartbeatWatch(sessions, config, catalog, clock).job_kinds(),
        **Retention(sessions, config, clock).job_kinds(),
        **RolloutDriver(sessions, config, clock, catalog=catalog).job_kinds(),
        **VerifySchedule(
            sessions, config, catalog, clock, step_path=settings.step_path
        ).job_kinds(),
    }
