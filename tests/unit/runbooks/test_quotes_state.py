"""The quote scanner of shell blocks jumps between special characters; it must read every line
as the character-by-character scanner it replaced did."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from opsbook.runbooks.blocks import _strip_quotes_state


def _reference(line: str, quote: str) -> tuple[str, str]:
    """The former character-by-character scanner."""
    if not quote and not any(c in line for c in "'\"\\#"):
        return line, ""
    out: list[str] = []
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
            i += 1
            continue
        if c == "\\":
            out.append(line[i : i + 2])
            i += 2
            continue
        if c in "'\"":
            quote = c
            out.append(" ")
            i += 1
            continue
        if c == "#" and (i == 0 or line[i - 1] in " \t;"):
            break
        out.append(c)
        i += 1
    return "".join(out), quote


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \t;#'\"\\$|&"), max_size=40), st.sampled_from("'\""))
def test_same_as_the_character_scanner(line: str, quote: str) -> None:
    for q in ("", quote):
        assert _strip_quotes_state(line, q) == _reference(line, q)


def test_examples() -> None:
    assert _strip_quotes_state("echo 'a # b' # note", "") == ("echo   ", "")
    assert _strip_quotes_state('say "x \\" y" \\', "") == ("say   \\", "")
    assert _strip_quotes_state("still quoted", "'") == ("", "'")
    assert _strip_quotes_state("end' && ls", "'") == (" && ls", "")
