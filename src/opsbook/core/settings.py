"""Process settings from the environment (``OPSBOOK_*``); read once at the edge and passed down."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STEP_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""Where a runbook step's programs are looked up; never the server's own PATH."""


class Settings(BaseSettings):
    """Where opsbook listens and stores; intent (services, routes) lives in opsbook.yaml instead."""

    model_config = SettingsConfigDict(env_prefix="OPSBOOK_", extra="ignore")

    database_url: str = Field(default="sqlite:///./opsbook.db", description="SQLAlchemy URL")
    config: str = Field(default="opsbook.yaml", description="path of the YAML config")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="server processes (uvicorn workers)")
    log_level: str = "info"
    log_format: str = Field(default="json", pattern="^(json|console)$")
    metrics_token: SecretStr | None = Field(
        default=None, description="bearer token for /metrics; unset = loopback clients only"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="signs acknowledge/resolve links in notifications; at least 16 characters",
    )
    max_body_bytes: int = 1024 * 1024
    max_alerts_per_request: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="alerts one intake request may hold; more is answered 413 and none is stored",
    )
    job_lease_seconds: float | None = Field(
        default=None,
        ge=2,
        le=3600,
        description="how long a worker holds a claimed job before another replica may take it "
        "over (default: each kind's own, up to 5 minutes); keep it above the longest job, as a "
        "live worker's job is taken over too once its lease runs out",
    )
    backlog_deep_items: int = Field(
        default=1000,
        ge=1,
        description="ready jobs of one kind, or pending notifications, that make the backlog deep",
    )
    backlog_deep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how long the oldest ready job or pending notification may wait before the "
        "backlog is deep (/metrics, /readyz and a banner in the UI say so)",
    )
    run_worker: bool = Field(
        default=True, description="run a job worker inside `serve` (steps, diagnostics)"
    )
    token_cache_seconds: float = Field(default=5.0, description="how long a token lookup is reused")
    request_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="seconds a request may take before it is answered 503 (intake: + Retry-After)",
    )
    subscribe_per_client: int = Field(
        default=10,
        ge=1,
        description="status-page subscribe requests one client address may make per window",
    )
    subscribe_per_address: int = Field(
        default=3,
        ge=1,
        description="confirmation messages one email address may be sent per window",
    )
    subscribe_window: float = Field(
        default=3600.0, gt=0, description="seconds of the subscribe rate-limit window"
    )
    subscribe_confirm_ttl: float = Field(
        default=48 * 3600.0,
        gt=0,
        description="seconds a subscription's confirmation link stays valid",
    )
    step_path: str = Field(
        default=DEFAULT_STEP_PATH,
        pattern=r"^/[^:\x00]*(?::/[^:\x00]*)*$",
        description="PATH of every runbook step's process (absolute dirs joined by ':'); "
        "the server's own PATH is never passed on",
    )

    def safe_database_url(self) -> str:
        """The URL with any password masked, for messages and logs."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)
