"""The block-level Markdown parser the reader walks: markdown-it-py's CommonMark block rules
with tables, inline parsing off (names.py reads inline Markdown lazily), and each rule behind a
one-character guard.

markdown-it tries every block rule, in order, at the start of every line, and every rule
as a paragraph/list terminator on every continuation line; each call logs at debug level
before it looks at a character. The guard answers "no" for the common case (a line that
does not start with ``#``, a fence, ``>``, a list or rule marker) without entering the rule.
Each guard only repeats the rule's own first test, so the tokens are the same as those of
the unguarded parser (tests/unit/test_runbook_blockparse.py compares both).
"""

from __future__ import annotations

from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock

BlockRule = Callable[[StateBlock, int, int, bool], bool]

# the characters a rule's line must start with (after its indent), from each rule's first test
_FIRST_CHARS = {
    "heading": "#",
    "fence": "`~",
    "blockquote": ">",
    "hr": "*-_",
    "list": "*-+0123456789",
}


def _first_char(chars: str, rule: BlockRule) -> BlockRule:
    """``rule`` only when the line's first non-blank character is one of ``chars``."""

    def guarded(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        pos = state.bMarks[start] + state.tShift[start]
        if pos >= state.eMarks[start] or state.src[pos] not in chars:
            return False
        return rule(state, start, end, silent)

    return guarded


def _table(rule: BlockRule) -> BlockRule:
    """The table rule only when the next line starts like a delimiter row (``|``, ``-``,
    ``:``): the rule's own first test."""

    def guarded(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        if start + 2 > end:
            return False
        nxt = start + 1
        pos = state.bMarks[nxt] + state.tShift[nxt]
        if pos >= state.eMarks[nxt] or state.src[pos] not in "|-:":
            return False
        return rule(state, start, end, silent)

    return guarded


def _code(rule: BlockRule) -> BlockRule:
    """The indented-code rule only when the line is indented 4 columns past the block."""

    def guarded(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        if state.sCount[start] - state.blkIndent < 4:
            return False
        return rule(state, start, end, silent)

    return guarded


def plain_parser(*, setext: bool) -> MarkdownIt:
    """The reader's rule set without guards (the reference the guarded parser must equal).
    HTML blocks and link reference definitions are read as text; setext headings only when
    the text has an underline, because that rule is the slowest."""
    md = MarkdownIt("commonmark", {"maxNesting": 40}).enable("table")
    md.core.ruler.disable("inline")
    md.block.ruler.disable(["html_block", "reference"] + ([] if setext else ["lheading"]))
    return md


def block_parser(*, setext: bool) -> MarkdownIt:
    """``plain_parser`` with every rule that has a cheap first test behind it."""
    md = plain_parser(setext=setext)
    ruler = md.block.ruler
    for rule in list(ruler.__rules__):
        if rule.name in _FIRST_CHARS:
            guarded = _first_char(_FIRST_CHARS[rule.name], rule.fn)
        elif rule.name == "table":
            guarded = _table(rule.fn)
        elif rule.name == "code":
            guarded = _code(rule.fn)
        else:
            continue
        # at() resets the terminator chains unless they are given again
        ruler.at(rule.name, guarded, {"alt": list(rule.alt)})
    return md
