"""A small HTTP client for the CLI: base URL and token from flags or the environment."""

from __future__ import annotations

import os
from typing import Any

from opsbook.cli.common import fail


class Client:
    def __init__(self, url: str | None, token: str | None) -> None:
        self.url = (url or os.environ.get("OPSBOOK_URL") or "http://127.0.0.1:8080").rstrip("/")
        self.token = token or os.environ.get("OPSBOOK_TOKEN")
        if not self.token:
            fail(
                "no token: set OPSBOOK_TOKEN (create one with `opsbook tokens create --tenant T --role responder`)"
            )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx  # lazily: most commands never talk to a server

        try:
            r = httpx.request(
                method,
                self.url + path,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
                **kwargs,
            )
        except httpx.HTTPError as exc:
            fail(
                f"cannot reach opsbook at {self.url} ({exc.__class__.__name__}); is `opsbook serve` running? "
                "Set --url or OPSBOOK_URL"
            )
        if r.status_code >= 400:
            try:
                body = r.json()
                detail = body.get("detail") or body.get("title") or r.text
            except ValueError:
                detail = r.text
            fail(f"{r.status_code}: {detail}")
        return r.json() if r.content else None
