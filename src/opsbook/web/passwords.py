"""Password hashing for local web users, behind two functions so the algorithm is one file.

The issue asks for argon2; ``argon2-cffi`` is not a dependency yet, so hashes are made with the
standard library's memory-hard ``hashlib.scrypt`` (n=2**14, r=8, p=1, 16-byte salt). Stored form::

    scrypt$16384$8$1$<salt b64>$<hash b64>

When argon2-cffi lands, ``hash_password`` switches to ``argon2.PasswordHasher().hash`` and
``verify_password`` accepts both prefixes, so existing users keep signing in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P, _LEN = 2**14, 8, 1, 32
MAX_PASSWORD = 1024  # bytes; longer input is refused before hashing (no CPU exhaustion)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_LEN, maxmem=64 * 1024 * 1024
    )


def hash_password(password: str) -> str:
    """A salted hash of ``password`` to store; never the password itself."""
    if not password or len(password.encode("utf-8")) > MAX_PASSWORD:
        raise ValueError(f"a password has 1 to {MAX_PASSWORD} bytes")
    salt = secrets.token_bytes(16)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(_scrypt(password, salt, _N, _R, _P))}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time compare; False for any malformed hash)."""
    if not password or len(password.encode("utf-8")) > MAX_PASSWORD:
        return False
    try:
        algo, n, r, p, salt, digest = stored.split("$")
        if algo != "scrypt":
            return False
        got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(got, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


# a hash of nothing in particular, verified against when the user does not exist, so a wrong
# name and a wrong password take the same time
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
