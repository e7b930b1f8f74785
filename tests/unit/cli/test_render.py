"""The CLI's one time rule and tables that fit a terminal without cutting a word in half."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsbook.cli.render import ago, shorten, table, when

NOW = datetime(2026, 12, 4, 3, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-12-04T03:12:44.123Z", "2026-12-04 03:12 UTC"),
        ("2026-12-04T04:12:00+01:00", "2026-12-04 03:12 UTC"),  # an offset becomes UTC
        (datetime(2026, 12, 4, 3, 12), "2026-12-04 03:12 UTC"),  # naive means UTC
        (None, "-"),
    ],
)
def test_one_way_to_write_a_moment(value: str | datetime | None, shown: str) -> None:
    assert when(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-12-04T03:12:00Z", "5m ago"),
        ("2026-12-04T03:16:30Z", "30s ago"),
        ("2026-12-01T03:17:00Z", "3d ago"),
        ("2026-12-04T05:17:00Z", "in 2h"),
    ],
)
def test_narrow_columns_say_how_long_ago(value: str, shown: str) -> None:
    assert ago(value, NOW) == shown


@pytest.mark.parametrize(
    ("text", "width", "shown"),
    [
        (
            "alertname=CheckoutApiDown, job=checkout, severity=critical",
            30,
            "alertname=CheckoutApiDown…",
        ),
        ("checkout-api health check failing for everyone", 20, "checkout-api health…"),
        ("short", 20, "short"),
        ("supercalifragilistic", 10, "supercali…"),  # one word longer than the room
    ],
)
def test_shorten_cuts_at_a_word_boundary(text: str, width: int, shown: str) -> None:
    out = shorten(text, width)
    assert out == shown and len(out) <= width


def test_a_table_fits_the_width_by_shortening_only_its_flexible_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    labels = (
        "alertname=CheckoutApiDown, instance=checkout-7f9c:9100, job=checkout, severity=critical"
    )
    out = table(
        ["STATUS", "ALERT", "LABELS"], [["firing", "CheckoutApiDown", labels]], flex=[2], width=60
    )
    lines = out.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[1].startswith("firing  CheckoutApiDown")  # the other columns are whole
    shown = lines[1].split("CheckoutApiDown  ", 1)[1]
    assert shown.endswith("…") and labels.startswith(shown[:-1].rstrip(", "))
    assert shown[:-1].rstrip(", ").split(", ")[-1] in labels.split(", ")  # a whole label, no half
    # piped (no width): nothing is cut, so grep finds every label
    monkeypatch.delenv("COLUMNS", raising=False)
    assert labels in table(["LABELS"], [[labels]], flex=[0], width=None)


def test_labels_wrap_onto_more_lines_and_no_label_is_split() -> None:
    labels = "instance=checkout-7f9c:9100, job=checkout, severity=critical"
    out = table(["SEEN", "LABELS"], [["2", labels]], flex=[1], wrap=[1], width=24)
    lines = out.splitlines()
    assert len(lines) == 4  # header + three lines of labels
    pieces = [ln[6:].strip().rstrip(",") for ln in lines[1:]]
    assert pieces == ["instance=checkout-7f9c:9100", "job=checkout", "severity=critical"]
    assert lines[1].startswith("2     ") and lines[2].startswith("      ")  # SEEN only once
