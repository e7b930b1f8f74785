"""The app built from the environment alone: what each `serve --workers N` process runs.

With several worker processes, SIGHUP goes to uvicorn's supervisor, which starts fresh workers
(each reading the config anew) and retires the old ones only once a new one is ready; a new worker
with an invalid config never gets ready, so the old config keeps serving.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import FastAPI

from opsbook.api.app import create_app
from opsbook.config.load import load_config
from opsbook.core.errors import ConfigError
from opsbook.core.logging import configure_logging
from opsbook.core.settings import Settings

log = structlog.get_logger("opsbook.app")


def from_environment() -> FastAPI:
    st = Settings()
    configure_logging(st.log_level, st.log_format)
    path = Path(st.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        log.error("config_invalid_worker_not_started", reason=exc.detail)
        raise
    return create_app(st, config, config_path=path)
