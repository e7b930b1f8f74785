"""Retry timing within bounds, what is retried, when a message is dead-lettered."""

from __future__ import annotations

import random
import smtplib
import ssl
from datetime import UTC, datetime, timedelta

import pytest

from opsbook.notify.backoff import backoff_delay, dead_letter, next_attempt, retryable

NOW = datetime(2025, 6, 1, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [
        (0, 30 * S),
        (1, 60 * S),
        (2, 120 * S),
        (5, 960 * S),
        (7, 3600 * S),
        (50, 3600 * S),
        (10_000, 3600 * S),
    ],
)
def test_full_jitter_stays_within_bounds(attempt: int, ceiling: timedelta) -> None:
    rng = random.Random(attempt)
    delays = [next_attempt(attempt, NOW, jitter=rng) - NOW for _ in range(500)]
    assert all(timedelta(0) <= d <= ceiling for d in delays)
    assert max(delays) > ceiling * 0.9  # the whole range is used: it is jitter, not a constant
    assert len(set(delays)) > 400


def test_extremes_of_the_random_source() -> None:
    class Fixed(random.Random):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def uniform(self, a: float, b: float) -> float:
            return a + (b - a) * self.value

    assert backoff_delay(3, jitter=Fixed(1.0)) == 240 * S
    assert backoff_delay(3, jitter=Fixed(0.0)) == timedelta(0)
    assert backoff_delay(1, base=10 * S, cap=15 * S, jitter=Fixed(1.0)) == 15 * S
    with pytest.raises(ValueError):
        backoff_delay(-1)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (500, True),
        (502, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (410, False),
        (422, False),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (OSError("network unreachable"), True),
        (smtplib.SMTPServerDisconnected(), True),
        (smtplib.SMTPResponseException(451, b"try later"), True),
        (smtplib.SMTPResponseException(550, b"no such user"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"unknown")}), False),
        (ssl.SSLCertVerificationError(), False),
        (ValueError("bad url"), False),
        (type("ConnectTimeout", (Exception,), {})(), True),  # httpx's, recognised by name
        (type("ReadTimeout", (Exception,), {})(), True),
    ],
)
def test_retryable(outcome: int | BaseException, expected: bool) -> None:
    assert retryable(outcome) is expected


def test_bool_is_not_a_status() -> None:
    with pytest.raises(TypeError):
        retryable(True)


@pytest.mark.parametrize(
    ("age", "max_age", "dead"),
    [
        (timedelta(hours=23, minutes=59), timedelta(hours=24), False),
        (timedelta(hours=24), timedelta(hours=24), True),
        (timedelta(minutes=11), timedelta(minutes=10), True),
    ],
)
def test_dead_letter(age: timedelta, max_age: timedelta, dead: bool) -> None:
    assert dead_letter(NOW, NOW + age, max_age) is dead
