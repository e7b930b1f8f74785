"""Group commit for intake: concurrent requests share one transaction and one fsync.

Each request still gets its own answer: 2xx only after the transaction holding its alerts has
committed. A failing group is retried request by request, so one bad request cannot fail others.
A small request carrying a P0 goes ahead of the batches queued before it (a storm's thousands
of alerts never hold the page that matters).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from opsbook.config.models import Config
from opsbook.core.clock import Clock
from opsbook.core.errors import StorageUnavailable
from opsbook.flows.ingest import IngestBatch, IngestResult, SectionFinder, ingest_many
from opsbook.incidents.models import Severity
from opsbook.intake.models import EventAction
from opsbook.intake.routing import severity_of
from opsbook.storage.db import is_unavailable

log = structlog.get_logger("opsbook.intake")


@dataclass
class _Pending:
    batch: IngestBatch
    future: asyncio.Future[IngestResult]
    urgent: bool = False  # holds a new P0: committed before the batches queued ahead of it


URGENT_SCAN = 100
"""Requests of at most this many alerts are checked for a P0 when queued (a storm's big batches
are not: they wait their turn, and the check would cost what routing them costs)."""


def _urgent(config: Config, batch: IngestBatch) -> bool:
    """Whether a small request fires an alert that routes to P0."""
    if len(batch.alerts) > URGENT_SCAN:
        return False
    return any(
        a.action is EventAction.TRIGGER and severity_of(config, batch.tenant, a) is Severity.P0
        for a in batch.alerts
    )


class GroupCommitter:
    """One writer per process: drains queued intake batches into shared transactions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Callable[[], Config],
        clock: Clock,
        max_alerts: int = 2000,
        finder: Callable[[], SectionFinder | None] = lambda: None,
    ) -> None:
        self._finder = finder
        self._sessions = sessions
        self._config = config
        self._clock = clock
        self._max_alerts = max_alerts
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, batch: IngestBatch) -> IngestResult:
        """Resolve once ``batch`` is committed; raises StorageUnavailable when it cannot be."""
        return await self.enqueue(batch)

    def enqueue(self, batch: IngestBatch) -> asyncio.Future[IngestResult]:
        """Queue ``batch``; the future resolves once it is committed (no task per request)."""
        loop = asyncio.get_running_loop()
        pending = _Pending(batch, loop.create_future(), _urgent(self._config(), batch))
        self._queue.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._drain())
        return pending.future

    async def _drain(self) -> None:
        while self._queue:
            group = self._next_group()
            try:
                results = await asyncio.to_thread(self._commit_group, [p.batch for p in group])
            except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
                if len(group) > 1 and not isinstance(exc, StorageUnavailable):
                    await self._one_by_one(group)
                    continue
                for p in group:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            for p, r in zip(group, results, strict=True):
                if not p.future.done():
                    p.future.set_result(r)

    def _next_group(self) -> list[_Pending]:
        """The next requests to commit together, in arrival order, up to ``max_alerts``; when a
        P0 waits, only the urgent ones, so a storm's big batches queued earlier do not hold it.

        Reordering is safe: the requests waiting here are all in flight at once, and none has
        been answered, so no sender can have relied on their order.
        """
        source = [p for p in self._queue if p.urgent] or self._queue
        group: list[_Pending] = []
        size = 0
        for item in list(source):
            if group and size + len(item.batch.alerts) > self._max_alerts:
                break
            group.append(item)
            size += len(item.batch.alerts)
        taken = {id(p) for p in group}
        self._queue = [p for p in self._queue if id(p) not in taken]
        return group

    async def _one_by_one(self, group: list[_Pending]) -> None:
        for p in group:
            try:
                result = (await asyncio.to_thread(self._commit_group, [p.batch]))[0]
            except BaseException as exc:  # noqa: BLE001
                p.future.set_exception(exc)
            else:
                p.future.set_result(result)

    def _commit_group(self, batches: list[IngestBatch]) -> list[IngestResult]:
        """Runs in a worker thread. A unique-key race with another replica is retried once."""
        for attempt in (1, 2):
            try:
                config = self._config()
                now = self._clock.now()
                with self._sessions.begin() as s:
                    return ingest_many(s, config, batches, now, self._finder())
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("intake_retry_after_race", batches=len(batches))
            except Exception as exc:
                if is_unavailable(exc):
                    raise StorageUnavailable(
                        "the database is unavailable; the alert was not stored"
                    ) from exc
                raise
        raise AssertionError("unreachable")
