"""Signed acknowledge/resolve links: only a genuine, unexpired, unused link does anything."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from opsbook.notify.links import InvalidLink, sign, verify

SECRET = "s3cret-s3cret-s3cret"
NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
EXP = NOW + timedelta(hours=1)


def good() -> str:
    return sign("acknowledge", "inc_1", "alice", EXP, SECRET, nonce="n1")


def tamper_payload(token: str, **changes: object) -> str:
    v, body, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{v}.{new}.{mac}"


def test_round_trip_exposes_the_nonce() -> None:
    claims = verify(good(), SECRET, NOW)
    assert (claims.action, claims.incident_id, claims.user, claims.nonce) == (
        "acknowledge",
        "inc_1",
        "alice",
        "n1",
    )
    assert claims.expires_at == EXP


def test_nonces_differ_between_links() -> None:
    a = verify(sign("resolve", "i", "u", EXP, SECRET), SECRET, NOW)
    b = verify(sign("resolve", "i", "u", EXP, SECRET), SECRET, NOW)
    assert a.nonce != b.nonce


@pytest.mark.parametrize(
    ("token", "secret", "now", "reason"),
    [
        (good(), "another-secret-of-16", NOW, "bad signature"),  # wrong secret
        (good(), SECRET, EXP, "link expired"),  # expiry is exclusive
        (good(), SECRET, EXP + timedelta(days=1), "link expired"),
        (tamper_payload(good(), a="resolve"), SECRET, NOW, "bad signature"),
        (tamper_payload(good(), u="mallory"), SECRET, NOW, "bad signature"),
        (tamper_payload(good(), e=2_000_000_000), SECRET, NOW, "bad signature"),
        (good()[:-2] + "AA", SECRET, NOW, "bad signature"),
        ("v1.e30.forged", SECRET, NOW, "bad signature"),  # forged: {} with made-up mac
        ("v2." + good()[3:], SECRET, NOW, "malformed"),
        ("nonsense", SECRET, NOW, "malformed"),
        ("v1.a.b.c", SECRET, NOW, "malformed"),
        ("v1.ä.b", SECRET, NOW, "bad signature"),
    ],
)
def test_invalid_links_do_nothing(token: str, secret: str, now: datetime, reason: str) -> None:
    with pytest.raises(InvalidLink) as err:
        verify(token, secret, now)
    assert reason in err.value.reason
    assert SECRET not in str(err.value)


def test_signed_garbage_payload_is_malformed() -> None:
    import hashlib
    import hmac

    body = base64.urlsafe_b64encode(b'{"a":"delete"}').rstrip(b"=").decode()
    mac = (
        base64.urlsafe_b64encode(
            hmac.new(SECRET.encode(), f"v1.{body}".encode(), hashlib.sha256).digest()
        )
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(InvalidLink, match="malformed"):
        verify(f"v1.{body}.{mac}", SECRET, NOW)


def test_bad_inputs_to_sign() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        sign("acknowledge", "i", "u", EXP, "short")
    with pytest.raises(ValueError, match="unknown link action"):
        sign("delete", "i", "u", EXP, SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        sign("acknowledge", "i", "u", datetime(2025, 1, 1), SECRET)


def test_single_use_by_storing_the_nonce() -> None:
    used: set[str] = set()

    def click(token: str) -> bool:
        claims = verify(token, SECRET, NOW)
        if claims.nonce in used:
            return False
        used.add(claims.nonce)
        return True

    token = good()
    assert click(token) is True
    assert click(token) is False  # reused
