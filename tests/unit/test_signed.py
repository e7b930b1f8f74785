"""The signed-token envelope shared by acknowledge links and subscription confirmations."""

from __future__ import annotations

import pytest

from opsbook.core.signed import BadToken, seal, unseal

SECRET = "0123456789abcdef-secret"


def test_a_token_opens_only_for_its_version_and_secret() -> None:
    token = seal("v1", {"a": 1}, SECRET)
    assert unseal("v1", token, SECRET) == {"a": 1}
    with pytest.raises(BadToken, match="malformed"):
        unseal("c1", token, SECRET)
    forged = "c1" + token[2:]  # the version is signed: relabelling it breaks the MAC
    with pytest.raises(BadToken, match="bad signature"):
        unseal("c1", forged, SECRET)
    with pytest.raises(BadToken, match="bad signature"):
        unseal("v1", token, SECRET + "x")


@pytest.mark.parametrize(
    "bad", ["", "v1", "v1.a", "v1.a.b.c", "v1.e30.é", "v1." + "a" * 2000 + ".x", "v1.!!.x"]
)
def test_anything_else_is_refused_never_an_error(bad: str) -> None:
    with pytest.raises(BadToken):
        unseal("v1", bad, SECRET)


def test_a_short_secret_is_a_setup_error() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes") as exc:
        seal("v1", {}, "short")
    assert not isinstance(exc.value, BadToken)
