"""Send one message to one contact URL through Apprise, and say whether to retry.

Apprise knows ~100 services by URL (``mailto://``, ``slack://``, ``msteams://``, ``ntfy://``,
``json://``, ``pagerduty://`` …) but answers only True/False; the reason is in its log. We
capture that log for the one call, read the HTTP status or SMTP reply code from it to decide
``retryable`` (5xx/429/connection errors yes, other 4xx and SMTP 5yz no, unknown failures yes:
the outbox would rather retry until the dead-letter age than drop a page), and scrub every
secret of the URL from the detail we return.

Apprise is imported lazily so the rest of opsbook runs without it. ``send`` blocks: call it
from a worker thread.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from opsbook.notify.redact import mask_url, scrub

HEADER_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls", "mailto", "mailtos"})
DELIVERY_HEADER = "X-Opsbook-Delivery"
_HTTP_STATUS = re.compile(r"error=(\d{3})\b")
_SMTP_CODE = re.compile(r"\((\d{3}),")
_CONNECTION = re.compile(r"connection|timed out|timeout|refused|unreachable|reset", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one attempt. ``detail`` never contains a secret of the URL."""

    ok: bool
    retryable: bool
    detail: str = ""


def _with_params(url: str, timeout: float, delivery_id: str | None) -> str:
    params = [f"cto={timeout:g}", f"rto={timeout:g}"]
    scheme = url.split("://", 1)[0].lower()
    if delivery_id and scheme in HEADER_SCHEMES:
        params.append(f"+{DELIVERY_HEADER}={quote(delivery_id, safe='')}")
    return url + ("&" if "?" in url else "?") + "&".join(params)


def classify(log: str) -> tuple[bool, str]:
    """(retryable, short reason) of a failed Apprise call, from its captured log."""
    if m := _HTTP_STATUS.search(log):
        code = int(m.group(1))
        return code >= 500 or code in (408, 429), f"HTTP {code}"
    if m := _SMTP_CODE.search(log):
        code = int(m.group(1))
        return 400 <= code < 500, f"SMTP {code}"
    if _CONNECTION.search(log):
        return True, "connection failed"
    return True, "delivery failed"


def _last_lines(log: str, n: int = 3) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    return " | ".join(lines[-n:])


_WARM = threading.Lock()
_warmed: list[bool] = []


def warm_up() -> None:
    """Load Apprise's plugins now (seconds of imports on a busy box), not on the first page.

    Called at server start in a thread and by every ``send``: the first caller loads, the others
    wait for it, so plugins are never loaded by two threads at once."""
    with _WARM:
        if _warmed:
            return
        try:
            import apprise
        except ImportError:
            return
        obj: Any = apprise.Apprise()
        obj.add("json://127.0.0.1:9/")  # parses only; nothing is sent
        _warmed.append(True)


def send(
    url: str,
    title: str,
    body: str,
    timeout: float = 10.0,
    *,
    delivery_id: str | None = None,
) -> DeliveryResult:
    """Deliver (title, body) to ``url``; ``delivery_id`` goes in an ``X-Opsbook-Delivery``
    header where the channel has headers (webhooks, email) so receivers can drop duplicates."""
    try:
        import apprise
    except ImportError:
        return DeliveryResult(
            False, False, "apprise is not installed: notifications cannot be sent"
        )
    warm_up()
    target = _with_params(url, timeout, delivery_id)
    obj: Any = apprise.Apprise()
    with apprise.LogCapture(level=logging.DEBUG, fmt="%(levelname)s %(message)s") as captured:  # type: ignore[no-untyped-call]
        if not obj.add(target):
            return DeliveryResult(
                False, False, f"not a contact URL Apprise understands: {mask_url(url)}"
            )
        try:
            ok = bool(obj.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
        except Exception as exc:  # noqa: BLE001 - a plugin bug must not stop the outbox
            return DeliveryResult(False, True, scrub(f"{type(exc).__name__}: {exc}", url))
        log = captured.getvalue()
    if ok:
        return DeliveryResult(True, False, f"delivered to {mask_url(url)}")
    again, reason = classify(log)
    detail = f"{reason} for {mask_url(url)}: {_last_lines(log)}"
    return DeliveryResult(False, again, scrub(scrub(detail, target), url))
