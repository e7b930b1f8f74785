"""Retry timing for the delivery outbox: exponential backoff with full jitter, and when to stop.

``next_attempt`` waits a random time in ``[0, min(cap, base·2^attempt)]`` ("full jitter", which
spreads a storm of retries best). ``retryable`` follows Alertmanager's notifiers: server errors,
429, timeouts and connection failures may succeed later; any other 4xx will not. A message older
than ``max_age`` is dead-lettered (and raises an alert on opsbook itself).
"""

from __future__ import annotations

import random
import smtplib
import ssl
from datetime import datetime, timedelta

_RNG = random.Random()  # noqa: S311 - jitter, not security
_TRANSIENT_NAMES = frozenset(
    {
        "TransportError",
        "TimeoutException",
        "NetworkError",
        "ConnectError",
        "ReadTimeout",
        "ConnectTimeout",
        "RemoteProtocolError",
        "ConnectionError",
        "Timeout",
    }
)


def backoff_delay(
    attempt: int,
    base: timedelta = timedelta(seconds=30),
    cap: timedelta = timedelta(hours=1),
    jitter: random.Random | None = None,
) -> timedelta:
    """The wait after failed attempt number ``attempt`` (0 for the first failure)."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    ceiling = min(cap.total_seconds(), base.total_seconds() * 2.0 ** min(attempt, 64))
    return timedelta(seconds=(jitter or _RNG).uniform(0.0, ceiling))


def next_attempt(
    attempt: int,
    now: datetime,
    base: timedelta = timedelta(seconds=30),
    cap: timedelta = timedelta(hours=1),
    jitter: random.Random | None = None,
) -> datetime:
    """When to try again after failed attempt ``attempt``; ``jitter`` is injectable for tests."""
    return now + backoff_delay(attempt, base, cap, jitter)


def _smtp_retryable(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= c < 500 for c in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500  # 4yz is "try again later" in SMTP
    return False


def retryable(outcome: int | BaseException) -> bool:
    """Whether a failed delivery may succeed if tried again.

    An HTTP status: 5xx, 429 and 408 → True; other statuses → False. An exception:
    timeouts and connection errors (also httpx/requests ones, recognised by name so this
    module imports neither) and SMTP 4yz replies → True; anything else → False.
    """
    if isinstance(outcome, bool):
        raise TypeError("expected an HTTP status code or an exception")
    if isinstance(outcome, int):
        return outcome >= 500 or outcome in (408, 429)
    if isinstance(outcome, smtplib.SMTPException):
        return _smtp_retryable(outcome)
    if isinstance(outcome, ssl.SSLCertVerificationError):
        return False  # a wrong certificate stays wrong
    if isinstance(outcome, TimeoutError | ConnectionError | OSError):
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(outcome).__mro__)


def dead_letter(
    first_attempt_at: datetime, now: datetime, max_age: timedelta = timedelta(hours=24)
) -> bool:
    """Whether a message first tried at ``first_attempt_at`` has been failing too long."""
    return now - first_attempt_at >= max_age
