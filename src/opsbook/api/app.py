"""create_app(settings, config): the FastAPI application, with storage and config passed in."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from opsbook import __version__
from opsbook.api import problems
from opsbook.api.auth import TokenCache
from opsbook.api.metrics import Metrics
from opsbook.api.middleware import BodyLimits, RequestContext
from opsbook.api.routes import incidents, intake, ops, tokens
from opsbook.api.state import AppState
from opsbook.config.models import Config
from opsbook.core.clock import Clock, SystemClock
from opsbook.core.settings import Settings
from opsbook.flows.group_commit import GroupCommitter
from opsbook.storage import repos
from opsbook.storage.db import make_engine, make_sessionmaker


def create_app(
    settings: Settings,
    config: Config,
    *,
    config_path: Path | None = None,
    clock: Clock | None = None,
    handle_sighup: bool = False,
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
        committer=GroupCommitter(sessions, lambda: holder["s"].config, clk),
    )
    holder["s"] = state

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if handle_sighup:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, state.reload))
        yield
        engine.dispose()

    app = FastAPI(
        title="opsbook",
        version=__version__,
        description="Alerts in, incidents out: intake, incidents and their timelines. "
        "Authenticate with `Authorization: Bearer <token>` (`opsbook tokens create`).",
        lifespan=lifespan,
    )
    app.state.opsbook = state
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    problems.install(app)
    for r in (ops.router, intake.router, incidents.router, tokens.router):
        app.include_router(r)
    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext)
    return app
