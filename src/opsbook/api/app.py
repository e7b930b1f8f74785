"""create_app(settings, config): the FastAPI application, with storage and config passed in."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import structlog
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from opsbook import __version__
from opsbook.api import problems
from opsbook.api.auth import TokenCache
from opsbook.api.intake_fast import IntakeFastApp
from opsbook.api.metrics import Metrics
from opsbook.api.middleware import BodyLimits, RequestBudget, RequestContext
from opsbook.api.routes import am_v2 as am_routes
from opsbook.api.routes import audit as audit_routes
from opsbook.api.routes import checks as checks_routes
from opsbook.api.routes import heartbeats as heartbeats_routes
from opsbook.api.routes import inbox as inbox_routes
from opsbook.api.routes import (
    incidents,
    intake,
    links,
    oncall,
    ops,
    rollout_engines,
    runbooks,
    steps,
    tokens,
)
from opsbook.api.routes import postmortems as postmortems_routes
from opsbook.api.routes import reports as reports_routes
from opsbook.api.routes import rollouts as rollouts_routes
from opsbook.api.routes import route_test as route_test_routes
from opsbook.api.routes import silences as silences_routes
from opsbook.api.routes import statuspage as statuspage_routes
from opsbook.api.routes import verify as verify_routes
from opsbook.api.state import AppState
from opsbook.config.models import Config
from opsbook.core.clock import Clock, SystemClock
from opsbook.core.settings import Settings
from opsbook.flows import backlog
from opsbook.flows.checks import metric_rows
from opsbook.flows.comms_sweep import sweep as comms_sweep
from opsbook.flows.escalation import note_unpaged_breaches
from opsbook.flows.expire import expire_stale_alerts
from opsbook.flows.group_commit import GroupCommitter
from opsbook.flows.reports import metric_source
from opsbook.flows.runbook_catalog import RunbookCatalog
from opsbook.jobs.kinds import all_job_kinds
from opsbook.jobs.worker import Worker
from opsbook.notify.apprise_channel import warm_up
from opsbook.storage import repos
from opsbook.storage.db import make_engine, make_sessionmaker
from opsbook.web import incident_extras
from opsbook.web import routes as web_routes

log = structlog.get_logger("opsbook.app")


async def _expire_loop(state: AppState, every: float) -> None:
    """Every ``every`` seconds: resolve alerts whose endsAt passed without a re-send, the
    communications sweep (maintenance notices, subscriber emails, post-mortem reminders), then
    the note on incidents whose acknowledgement window passed with nobody paged."""
    while True:
        await asyncio.sleep(every)
        sweeps = (("expire", expire_once), ("comms", comms_once), ("unpaged", unpaged_once))
        for name, task in sweeps:
            try:
                await asyncio.to_thread(task, state)
            except Exception as exc:  # noqa: BLE001 - a sweep failure must not kill the server
                log.warning("sweep_failed", sweep=name, error=str(exc))


def comms_once(state: AppState) -> dict[str, int]:
    return comms_sweep(state.sessions, state.config, state.settings, state.clock.now())


def unpaged_once(state: AppState) -> int:
    """One pass of ``note_unpaged_breaches``; returns how many incidents it noted."""
    with state.sessions.begin() as s:
        return note_unpaged_breaches(s, state.config, state.clock.now())


def expire_once(state: AppState) -> int:
    """One sweep; returns how many alerts it resolved."""
    with state.sessions.begin() as s:
        results = expire_stale_alerts(s, state.config, state.clock.now())
    return sum(r.counts()["resolved"] for r in results)


def make_worker(state: AppState) -> Worker:
    """A worker for this app's jobs: steps, diagnostics, escalation ticks, deliveries."""
    kinds = all_job_kinds(
        state.sessions, lambda: state.config, lambda: state.catalog, state.settings, state.clock
    )
    if state.settings.job_lease_seconds is not None:  # replicas take over a dead one's sooner
        lease = timedelta(seconds=state.settings.job_lease_seconds)
        kinds = {name: replace(kind, lease=lease) for name, kind in kinds.items()}
    return Worker(state.sessions, state.clock, kinds)


def create_app(
    settings: Settings,
    config: Config,
    *,
    config_path: Path | None = None,
    clock: Clock | None = None,
    handle_sighup: bool = False,
    expire_every: float = 15.0,
    catalog: RunbookCatalog | None = None,
) -> FastAPI:
    """Build the app; the database must already be at the current schema (see storage.migrate)."""
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    clk = clock or SystemClock()

    def open_counts() -> list[tuple[str, str, str, int]]:
        with sessions() as s:
            return list(repos.open_counts(s))

    holder: dict[str, AppState] = {}
    state = AppState(
        settings=settings,
        config=config,
        config_path=config_path,
        engine=engine,
        sessions=sessions,
        clock=clk,
        metrics=Metrics(open_counts),
        committer=GroupCommitter(
            sessions, lambda: holder["s"].config, clk, finder=lambda: holder["s"].catalog.match
        ),
        catalog=catalog or RunbookCatalog.load(config, config_path.parent if config_path else "."),
    )
    holder["s"] = state
    state.metrics.watch_reports(metric_source(sessions, lambda: holder["s"].config, clk))
    state.metrics.registry.register(audit_routes.PurgeCounters(sessions))
    state.metrics.watch_checks(lambda: metric_rows(sessions, lambda: holder["s"].config))
    state.metrics.watch_backlog(
        backlog.reader(
            sessions, clk.now, settings.backlog_deep_items, settings.backlog_deep_seconds
        )
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        if handle_sighup:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, state.reload))
        sweeper = loop.create_task(_expire_loop(state, expire_every)) if expire_every > 0 else None
        worker = make_worker(state) if settings.run_worker else None
        if worker is not None:
            # the first P0 page must not wait for the notification library's imports
            threading.Thread(target=warm_up, name="opsbook-notify-warm-up", daemon=True).start()
            worker.start_thread()
        yield
        if worker is not None:
            worker.stop()
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        engine.dispose()

    app = IntakeFastApp(
        title="opsbook",
        version=__version__,
        description="Alerts in, incidents out: intake, incidents and their timelines. "
        "Authenticate with `Authorization: Bearer <token>` (`opsbook tokens create`).",
        lifespan=lifespan,
    )
    app.state.opsbook = state
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    problems.install(app)
    for r in (
        ops.router,
        intake.router,
        incidents.router,
        steps.router,
        runbooks.router,
        oncall.router,
        links.router,
        tokens.router,
        audit_routes.router,
        checks_routes.router,
        postmortems_routes.router,
        reports_routes.router,
        route_test_routes.router,
        verify_routes.router,
        rollouts_routes.router,
        rollout_engines.router,
        silences_routes.router,
        statuspage_routes.router,
        inbox_routes.router,
        am_routes.router,
        heartbeats_routes.router,
        web_routes.router,
        incident_extras.root_router,  # /favicon.ico
    ):
        app.include_router(r)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        """A browser opening the bare address lands on the web UI (not a 404)."""
        return RedirectResponse("/ui/", status_code=307)

    @app.get("/incidents/{incident_id}", include_in_schema=False)
    def incident_link(incident_id: str) -> RedirectResponse:
        """The page link in notifications (``notify.base_url``/incidents/ID) opens the UI's page."""
        return RedirectResponse(f"/ui/incidents/{quote(incident_id[:64], safe='')}", 307)

    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestBudget, seconds=settings.request_timeout)
    app.add_middleware(RequestContext)
    app.add_middleware(am_routes.AlertmanagerCompat)  # outermost: sees every /api/v2/ answer
    return app
