"""Secrets in contact URLs never reach a delivery detail."""

from __future__ import annotations

import pytest

from opsbook.notify.redact import mask_url, scrub


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("mailto://alice@example.com", "mailto://alice@example.com"),
        (
            "mailtos://bot:hunter2hunter2@smtp.example.com:465?to=a@b.c",
            "mailtos://bot:***@smtp.example.com:465?***",
        ),
        ("slack://T0AAA/B0BBB/ccccsecretcccc", "slack://***/***"),
        ("json://hooks.example.com/hook/abcdef?token=xyz123", "json://hooks.example.com/***?***"),
        ("json://127.0.0.1:8080/path", "json://127.0.0.1:8080/***"),
        ("ntfy://ntfy.sh/alice-topic-secret", "ntfy://ntfy.sh/***"),
        ("not a url", "***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_scrub_removes_every_secret_piece() -> None:
    url = "slack://T0AAAAAA/B0BBBBBB/ccccsecretcccc?token=zzzzzz"
    hook = "https://hooks.slack.com/services/T0AAAAAA/B0BBBBBB/ccccsecretcccc"
    text = f"failed for {url}; posting to {hook} token=zzzzzz"
    out = scrub(text, url)
    for secret in ("T0AAAAAA", "B0BBBBBB", "ccccsecretcccc", "zzzzzz"):
        assert secret not in out
    url2 = "mailtos://bot:p%40ss-word!@smtp.example.com"
    assert "p@ss-word!" not in scrub("login p@ss-word! failed for p%40ss-word!", url2)
