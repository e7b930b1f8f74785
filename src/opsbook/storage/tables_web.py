"""Tables of the web UI: local users who sign in with a password, and their server-side sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from opsbook.storage.tables import Base, UTCDateTime


class WebUser(Base):
    """A person who signs in to the web UI (``opsbook users add``); the role applies as in the API."""

    __tablename__ = "web_users"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser. ``id`` is the SHA-256 of the cookie value (the cookie alone is the
    secret); ``csrf`` is the per-session token every form of that session must carry."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("ix_web_sessions_user", "tenant", "user_name"),
        Index("ix_web_sessions_expires", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(128))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
