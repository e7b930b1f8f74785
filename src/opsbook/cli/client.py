"""A small HTTP client for the CLI: base URL and token from flags or the environment.

Standard library only (urllib + json): httpx alone costs ~240 ms of imports, more than the
whole `opsbook incidents list` may take.
"""

from __future__ import annotations

import json
import os
from typing import Any

from opsbook.cli.common import fail

TIMEOUT = 30.0
"""Seconds to connect and to wait for each read of the answer."""


def _query(params: dict[str, Any] | None) -> str:
    """``?a=1&b=x&b=y`` (a list repeats its key, as the API's list parameters expect)."""
    from urllib.parse import urlencode

    if not params:
        return ""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(key, _text(v)) for v in values if v is not None]
    return "?" + urlencode(pairs) if pairs else ""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _detail(status: int, raw: bytes) -> str:
    """The problem+json ``detail`` (or ``title``) of an error answer, else its text."""
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(raw)
    except ValueError:
        return text
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or text)
    return text


class Client:
    def __init__(self, url: str | None, token: str | None) -> None:
        self.url = (url or os.environ.get("OPSBOOK_URL") or "http://127.0.0.1:8080").rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            fail(f"--url/OPSBOOK_URL must start with http:// or https://, got {self.url!r}")
        self.token = token or os.environ.get("OPSBOOK_TOKEN")
        if not self.token:
            fail(
                "no token: set OPSBOOK_TOKEN (create one with `opsbook tokens create --tenant T --role responder`)"
            )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,  # the name callers know from httpx
    ) -> Any:
        """Send one request; the decoded JSON answer (None when empty), or exit with the
        server's problem detail (status ≥ 400) or a hint when the server cannot be reached."""
        import http.client
        import urllib.error
        import urllib.request

        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if json is not None:
            data = _dumps(json)
            headers["Content-Type"] = "application/json"
        url = self.url + path + _query(params)
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:  # noqa: S310 - http(s) only, checked above
                raw = r.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            fail(f"{exc.code}: {_detail(exc.code, raw)}")
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None)
            name = (reason if isinstance(reason, BaseException) else exc).__class__.__name__
            fail(
                f"cannot reach opsbook at {self.url} ({name}); is `opsbook serve` running? "
                "Set --url or OPSBOOK_URL"
            )
        return _loads(raw) if raw else None


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _loads(raw: bytes) -> Any:
    return json.loads(raw)
