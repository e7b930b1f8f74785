"""A small, forgiving shell tokenizer: splits a command line into simple commands (at ``|``,
``&&``, ``||``, ``;``, ``&``, newlines) with their words, redirections and ``$(…)`` subshells.

It never raises: unbalanced quotes simply run to the end of the text. It is not a shell; it is
just enough to read what a runbook command would do.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field


@dataclass
class SimpleCommand:
    """One command of a pipeline or list, with the operator that came before it."""

    words: list[str] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    heredoc: str | None = None
    op_before: str = ""
    quoted: list[bool] = field(default_factory=list)


@dataclass
class Parsed:
    """A command line split into simple commands, plus the text of its subshells."""

    commands: list[SimpleCommand]
    subshells: list[str]


_PLAIN_RUN = re.compile(r"[^\s'\"\\$`;&|()<>#]+")
_PLACEHOLDER = re.compile(r"<[A-Za-z][\w.\-]*>(?![>&])")
_HEREDOC = re.compile(r"^-?\s*(['\"]?)([A-Za-z_][\w-]*)\1")


def _find_closing(text: str, start: int) -> int:
    """Index of the ``)`` closing the ``(`` just before ``start`` (quote aware), or len(text)."""
    depth = 1
    i = start
    n = len(text)
    quote = ""
    while i < n:
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 2
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.commands: list[SimpleCommand] = [SimpleCommand()]
        self.subshells: list[str] = []
        self.word: list[str] = []
        self.in_word = False
        self.word_quoted = False
        self.pending_redirect: str | None = None
        self.pending_heredocs: list[tuple[str, bool, SimpleCommand]] = []

    @property
    def cmd(self) -> SimpleCommand:
        """The command being read."""
        return self.commands[-1]

    def flush(self) -> None:
        """End the current word (or redirection target)."""
        if not self.in_word:
            return
        word = "".join(self.word)
        if self.pending_redirect is not None:
            op = self.pending_redirect
            self.cmd.redirects.append((op, word))
            if op in ("<<", "<<-"):
                self.pending_heredocs.append((word, op == "<<-", self.cmd))
            self.pending_redirect = None
        else:
            self.cmd.words.append(word)
            self.cmd.quoted.append(self.word_quoted)
        self.word = []
        self.in_word = False
        self.word_quoted = False

    def end_command(self, op: str) -> None:
        """End the current simple command at an operator."""
        self.flush()
        self.pending_redirect = None
        if self.cmd.words or self.cmd.redirects:
            self.commands.append(SimpleCommand(op_before=op))
        else:
            self.cmd.op_before = self.cmd.op_before or op

    def subshell(self, i: int) -> int:
        """Record a ``$(…)`` subshell starting at ``i``; return the index after it."""
        end = _find_closing(self.text, i)
        self.subshells.append(self.text[i:end])
        self.word.append("$(…)")
        self.in_word = True
        return end + 1

    def run(self) -> Parsed:
        """Read the whole text."""
        text = self.text
        n = len(text)
        i = 0
        plain_run = _PLAIN_RUN.match
        while i < n:
            m = plain_run(text, i)
            if m:
                self.word.append(m.group(0))
                self.in_word = True
                i = m.end()
                continue
            c = text[i]
            if c == "\\":
                if i + 1 < n and text[i + 1] == "\n":
                    i += 2
                    continue
                self.word.append(text[i + 1 : i + 2])
                self.in_word = True
                i += 2
                continue
            if c == "'":
                j = text.find("'", i + 1)
                j = n if j < 0 else j
                self.word.append(text[i + 1 : j])
                self.in_word = self.word_quoted = True
                i = j + 1
                continue
            if c == '"':
                i = self.double_quoted(i + 1)
                continue
            if c == "$" and text.startswith("$((", i):  # arithmetic: a number, not a subshell
                end = _find_closing(text, i + 3)
                self.word.append("0")
                self.in_word = True
                i = min(n, end + 2)
                continue
            if c == "$" and text.startswith("$(", i) and not text.startswith("$((", i):
                i = self.subshell(i + 2)
                continue
            if c == "`":
                j = text.find("`", i + 1)
                j = n if j < 0 else j
                self.subshells.append(text[i + 1 : j])
                self.word.append("$(…)")
                self.in_word = True
                i = j + 1
                continue
            if c in " \t\r":
                self.flush()
                i += 1
                continue
            if c == "#" and not self.in_word:
                j = text.find("\n", i)
                i = n if j < 0 else j
                continue
            if c == "\n":
                self.end_command("\n")
                i = self.skip_heredocs(i + 1)
                continue
            if c in ";&|()":
                two = text[i : i + 2]
                if two in ("&&", "||", ";;", "|&"):
                    self.end_command(two)
                    i += 2
                    continue
                if c == "&" and text.startswith("&>", i):
                    self.flush()
                    self.pending_redirect = ">"
                    i += 2 + (text.startswith("&>>", i))
                    continue
                self.end_command(c)
                i += 1
                continue
            if c == "<":  # <pod-name> is a placeholder, also inside a word (node/<name>)
                pm = _PLACEHOLDER.match(text, i)
                if pm:
                    self.word.append(pm.group(0))
                    self.in_word = True
                    i = pm.end()
                    continue
            if c in "<>":
                fd_word = "".join(self.word)
                if self.in_word and not fd_word.isdigit():
                    self.flush()
                elif self.in_word:
                    self.word = []
                    self.in_word = False
                m = re.match(r"<<<|<<-|<<|>>|>&|<&|>\||<>|<|>", text[i:])
                op = m.group(0) if m else c
                if op in (">&", "<&"):
                    j = i + 2
                    k = j
                    while k < n and (text[k].isdigit() or text[k] == "-"):
                        k += 1
                    i = k
                    continue
                if op in ("<<", "<<-"):
                    hm = _HEREDOC.match(text[i + len(op) :].lstrip(" "))
                    if hm:
                        self.flush()
                        self.pending_redirect = op
                        self.word = [hm.group(2)]
                        self.in_word = True
                        self.flush()
                        skip = len(text[i + len(op) :]) - len(text[i + len(op) :].lstrip(" "))
                        i += len(op) + skip + hm.end()
                        continue
                self.pending_redirect = ">" if op == ">|" else op
                i += len(op)
                continue
            self.word.append(c)
            self.in_word = True
            i += 1
        self.flush()
        commands = [c for c in self.commands if c.words or c.redirects]
        return Parsed(commands, self.subshells)

    def double_quoted(self, i: int) -> int:
        """Read a double-quoted string starting at ``i``; return the index after it."""
        text = self.text
        n = len(text)
        self.in_word = self.word_quoted = True
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n and text[i + 1] in '"\\$`\n':
                if text[i + 1] != "\n":
                    self.word.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                return i + 1
            if c == "$" and text.startswith("$((", i):  # arithmetic: a number, not a subshell
                end = _find_closing(text, i + 3)
                self.word.append("0")
                self.in_word = True
                i = min(n, end + 2)
                continue
            if c == "$" and text.startswith("$(", i) and not text.startswith("$((", i):
                end = _find_closing(text, i + 2)
                self.subshells.append(text[i + 2 : end])
                self.word.append(text[i : end + 1])
                i = end + 1
                continue
            self.word.append(c)
            i += 1
        return n

    def skip_heredocs(self, i: int) -> int:
        """Read heredoc bodies that start at ``i``; return the index after them."""
        text = self.text
        while self.pending_heredocs:
            delim, strip_tabs, target = self.pending_heredocs.pop(0)
            body: list[str] = []
            while i < len(text):
                j = text.find("\n", i)
                j = len(text) if j < 0 else j
                line = text[i:j]
                i = j + 1
                if (line.lstrip("\t") if strip_tabs else line).strip() == delim:
                    break
                body.append(line)
            target.heredoc = "\n".join(body)
        return i


_SIMPLE = re.compile(r"[^'\"\\$`;&()<>#\n]*")


def tokenize(text: str) -> Parsed:
    """Split a command line into simple commands; never raises. The result is the caller's."""
    return _tokenize(text)


@functools.lru_cache(maxsize=2048)
def tokenize_shared(text: str) -> Parsed:
    """``tokenize`` memoised for the classifier, which reads a command more than once.
    The result is shared: callers must not change it."""
    return _tokenize(text)


def _tokenize(text: str) -> Parsed:
    if _SIMPLE.fullmatch(text) and "||" not in text:
        # fast path: plain words, maybe a pipeline, no quoting or redirection to read
        commands = []
        for i, part in enumerate(text.split("|")):
            words = part.split()
            if words:
                commands.append(
                    SimpleCommand(
                        words=words, quoted=[False] * len(words), op_before="|" if i else ""
                    )
                )
        return Parsed(commands, [])
    return _Tokenizer(text).run()
