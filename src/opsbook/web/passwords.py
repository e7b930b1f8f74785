"""Password hashing for local web users, behind two functions so the algorithm is one file.

New hashes are argon2id (``argon2-cffi``'s defaults, RFC 9106's recommended parameters). Hashes made
before argon2 was a dependency are scrypt (``scrypt$n$r$p$salt$hash``) and still verify, so those
users keep signing in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD = 1024  # bytes; longer input is refused before hashing (no CPU exhaustion)
_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """A salted argon2id hash of ``password`` to store; never the password itself."""
    if not password or len(password.encode("utf-8")) > MAX_PASSWORD:
        raise ValueError(f"a password has 1 to {MAX_PASSWORD} bytes")
    return _HASHER.hash(password)


def _verify_scrypt(stored: str, password: str) -> bool:
    algo, n, r, p, salt, digest = stored.split("$")
    if algo != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode("utf-8"),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=32,
        maxmem=64 * 1024 * 1024,
    )
    return hmac.compare_digest(got, base64.b64decode(digest))


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time; False for any malformed hash)."""
    if not password or len(password.encode("utf-8")) > MAX_PASSWORD:
        return False
    try:
        if stored.startswith("$argon2"):
            return _HASHER.verify(stored, password)
        return _verify_scrypt(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError, TypeError):
        return False


# a hash of nothing in particular, verified against when the user does not exist, so a wrong
# name and a wrong password take the same time
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
