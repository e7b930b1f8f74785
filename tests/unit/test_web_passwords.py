"""Local web users' passwords: argon2id, and older scrypt hashes keep working."""

from __future__ import annotations


def test_web_passwords_are_argon2id_and_old_scrypt_hashes_still_verify() -> None:
    import base64
    import hashlib

    from opsbook.web.passwords import hash_password, verify_password

    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert verify_password(stored, "correct horse") and not verify_password(stored, "wrong")
    salt = b"0123456789abcdef"
    old = hashlib.scrypt(b"legacy", salt=salt, n=2**14, r=8, p=1, dklen=32)
    legacy = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(old).decode()}"
    assert verify_password(legacy, "legacy") and not verify_password(legacy, "nope")
    assert not verify_password("garbage", "legacy")
