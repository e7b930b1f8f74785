"""What one running app holds: settings, the live config (swapped whole on reload), storage."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from opsbook.api.metrics import Metrics
from opsbook.config.load import load_config
from opsbook.config.models import Config
from opsbook.core.clock import Clock
from opsbook.core.errors import ConfigError
from opsbook.core.settings import Settings
from opsbook.flows import audit
from opsbook.flows.group_commit import GroupCommitter
from opsbook.flows.runbook_catalog import RunbookCatalog

log = structlog.get_logger("opsbook.config")


@dataclass
class AppState:
    settings: Settings
    config: Config
    config_path: Path | None
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    metrics: Metrics
    committer: GroupCommitter
    catalog: RunbookCatalog
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)

    def reload(self, actor: str = "system:sighup") -> tuple[bool, str]:
        """Re-read the config file; an invalid one keeps the old config and says why.
        Either outcome is written to the audit log."""
        ok, message = self._reload()
        try:
            with self.sessions.begin() as s:
                audit.record(
                    s, at=self.clock.now(), tenant="*", actor=actor,
                    action="config.reloaded" if ok else "config.reload_failed",
                    data={"detail": message[:500]},
                )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the reload happened; say the entry is missing
            log.error("audit_write_failed", action="config.reload", error=str(exc))
        return ok, message

    def _reload(self) -> tuple[bool, str]:
        if self.config_path is None:
            return False, "this server was started without a config file"
        if (
            self.settings.workers > 1
        ):  # check it here, then let the supervisor restart every process
            try:
                load_config(self.config_path)
            except ConfigError as exc:
                return False, f"kept the previous configuration: {exc.detail}"
            os.kill(os.getppid(), signal.SIGHUP)
            return (
                True,
                f"restarting {self.settings.workers} server processes with {self.config_path}",
            )
        with self._reload_lock:
            try:
                new = load_config(self.config_path)
            except ConfigError as exc:
                log.warning("config_reload_failed", reason=exc.detail)
                return False, f"kept the previous configuration: {exc.detail}"
            catalog = RunbookCatalog.load(new, self.config_path.parent)
            self.config, self.catalog = new, catalog
        log.info(
            "config_reloaded",
            path=str(self.config_path),
            runbooks=len(catalog.runbooks),
            runbook_errors=catalog.errors()[:20],
        )
        return True, f"reloaded {self.config_path}"
