"""Read a terminal transcript: lines typed at a prompt (``$ ``, ``# ``, ``mysql> ``,
``postgres=# ``, ``127.0.0.1:6379> ``, ``>>> ``, ``PS C:\\> ``, ``neo4j> ``, ``cqlsh> `` …)
are commands, with the prompt stripped and continuation lines (``-> ``, ``... ``, ``> ``, a
trailing ``\\``) joined; every other line is output printed by the command, never a step.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from opsbook.runbooks.blocks import RawCommand, split_statements
from opsbook.runbooks.inline import command_line


class _Prompt(NamedTuple):
    lang: str
    pattern: re.Pattern[str]
    continuation: re.Pattern[str] | None


_HOST = r"(?:[\w.-]+@[\w.-]+(?::[^\s$#>]*)?|\[[\w.-]+@[\w.-]+[^\]\n]*\])"
_PROMPTS: tuple[_Prompt, ...] = (
    _Prompt(
        "sql",
        re.compile(r"^\s*(?:mysql|mariadb|MariaDB \[[^\]\n]*\]|MySQL \[[^\]\n]*\])>\s?(?=\S)"),
        re.compile(r"^\s*->\s?"),
    ),
    _Prompt(
        "sql",
        re.compile(r"^\s*[A-Za-z_][\w$-]{0,62}=[#>]\s?(?=\S)"),
        re.compile(r"^\s*[A-Za-z_][\w$-]{0,62}[-('\"*]\s?[#>]\s?"),
    ),
    _Prompt("sql", re.compile(r"^\s*(?:sqlite|cqlsh(?::[\w]+)?|SQL|trino|presto)>\s?(?=\S)"), None),
    _Prompt(
        "redis",
        re.compile(
            r"^\s*(?:redis(?: [\w.-]+:\d{2,5})?|[\w.-]+:\d{2,5}(?:\[\d+\])?(?:\(TX\))?)>\s?(?=\S)"
        ),
        None,
    ),
    _Prompt("python", re.compile(r"^\s*>>>\s?(?=\S)"), re.compile(r"^\s*\.\.\.(?: |$)")),
    _Prompt("python", re.compile(r"^\s*In \[\d+\]:\s?(?=\S)"), re.compile(r"^\s*\.\.\.+:\s?")),
    _Prompt(
        "ps",
        re.compile(r"^\s*PS(?: [A-Za-z]:\\[^>\n]*| [\w:\\/.~-]+)?>\s?(?=\S)"),
        re.compile(r"^\s*>>\s?"),
    ),
    _Prompt("shell", re.compile(r"^\s*[A-Z]:\\[^>\n]*>\s?(?=\S)"), None),
    _Prompt("cypher", re.compile(r"^\s*(?:[\w-]+@)?neo4j>\s?(?=\S)"), None),
    _Prompt(
        "mongo",
        re.compile(
            r"^\s*(?:mongo|mongos|[\w-]+:(?:PRIMARY|SECONDARY|ARBITER)"
            r"|[\w-]+ \[[\w: -]*\] [\w-]+)>\s?(?=\S)"
        ),
        None,
    ),
    _Prompt(
        "shell",
        re.compile(r"^\s*(?:\([\w.-]+\)\s*)?(?:" + _HOST + r"\s*)?\$\s+(?=\S)"),
        re.compile(r"^\s*>\s?"),
    ),
    _Prompt("root", re.compile(r"^\s*" + _HOST + r"\s*#\s+(?=\S)"), re.compile(r"^\s*>\s?")),
)
_ANY_PROMPT = re.compile("|".join(f"(?:{p.pattern.pattern})" for p in _PROMPTS), re.M)
_ANY_ROOT = re.compile(r"^\s*#\s+\S", re.M)
_LANGS = {"root": "shell"}
_BARE_ROOT = re.compile(r"^\s*#\s+(?=\S)")
_QUICK = re.compile(r"[$#>]")
_SQL_DONE = re.compile(r"(?:;|\\[gG])\s*(?:--.*)?$|^\s*\\[a-zA-Z?!]")
_SHELL_MORE = re.compile(r"(?:\\|\||&&|\|\||\(|\{|\bdo|\bthen)\s*$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][\w-]*)\1")
_MAX_LINES = 20_000


class _Cmd:
    """A command being read: its prompt language, first line and text lines."""

    def __init__(self, lang: str, line: int, text: str, prompt: _Prompt | None) -> None:
        self.lang = lang
        self.line = line
        self.lines = [text]
        self.prompt = prompt
        self.heredoc: str | None = None
        m = _HEREDOC.search(text) if lang in ("shell", "root") else None
        if m:
            self.heredoc = m.group(2)

    def wants_more(self) -> bool:
        """True when the command is not finished (a shell continuation or open heredoc)."""
        if self.heredoc is not None:
            return True
        if self.lang in ("shell", "root"):
            return bool(_SHELL_MORE.search(self.lines[-1])) or _open_quote("\n".join(self.lines))
        return False

    def feed(self, raw: str) -> bool:
        """Take a continuation line if it belongs to this command; False when it does not."""
        cont = self.prompt.continuation if self.prompt else None
        if self.heredoc is not None:
            self.lines.append(raw)
            if raw.strip() == self.heredoc:
                self.heredoc = None
            return True
        if self.lang == "sql":
            if cont is not None and not _SQL_DONE.search(self.lines[-1]):
                m = cont.match(raw)
                if m:
                    self.lines.append(raw[m.end() :])
                    return True
            return False
        if self.lang in ("python", "ps"):
            m = cont.match(raw) if cont is not None else None
            if m:
                self.lines.append(raw[m.end() :])
                return True
            return False
        if self.wants_more():
            m = cont.match(raw) if cont is not None else None
            self.lines.append(raw[m.end() :] if m else raw)
            return True
        return False

    def text(self) -> str:
        """The command with continuations joined."""
        if self.lang == "python":
            return "\n".join(self.lines).strip()
        joined = "\n".join(ln.rstrip() for ln in self.lines)
        if self.lang in ("shell", "root") and "\\\n" in joined:
            joined = re.sub(r"[ \t]*\\\n[ \t]*", " ", joined)
        if self.lang == "sql":
            joined = "\n".join(ln.strip() for ln in joined.split("\n"))
        return joined.strip()


def _open_quote(text: str) -> bool:
    """True when a single or double quote is left open (a multi-line quoted argument)."""
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c == "\\":
            i += 2
            continue
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t"):
            nl = text.find("\n", i)
            if nl < 0:
                break
            i = nl
        i += 1
    return bool(quote)


def _match(raw: str, *, roots: bool, shell_only: bool) -> tuple[_Prompt | None, str, int] | None:
    """The prompt a line starts with: (prompt, language, where the command starts)."""
    if not _QUICK.search(raw[:80]):
        return None
    for p in _PROMPTS:
        if shell_only and p.lang not in ("shell", "root"):
            continue
        m = p.pattern.match(raw)
        if m:
            return p, _LANGS.get(p.lang, p.lang), m.end()
    if roots:
        m = _BARE_ROOT.match(raw)
        if m and command_line(raw[m.end() :], block=True):
            return None, "shell", m.end()
    return None


def read_transcript(
    body: str, first_line: int, *, roots: bool, foreign_only: bool
) -> list[RawCommand] | None:
    """Commands typed at prompts in ``body`` (whose first line is ``first_line``), or None when
    the block is not a transcript. ``roots``: a bare ``# `` before a command line is a root
    prompt (untagged, text and console blocks; in a shell script it is a comment).
    ``foreign_only``: only prompts other than the shell's make it a transcript (a shell block
    whose ``$`` prompts the shell splitter reads itself)."""
    if not _ANY_PROMPT.search(body) and not (roots and _ANY_ROOT.search(body)):
        return None
    lines = body.split("\n")
    if len(lines) > _MAX_LINES:
        return None
    found: list[tuple[int, _Prompt | None, str, int]] = []
    foreign = bare_roots = 0
    for idx, raw in enumerate(lines):
        hit = _match(raw, roots=roots, shell_only=False)
        if hit is not None:
            prompt, lang, end = hit
            found.append((idx, prompt, lang, end))
            foreign += prompt is None or prompt.lang != "shell"
            bare_roots += prompt is None
    if not found or (foreign_only and not foreign):
        return None
    if bare_roots == len(found):
        # only "# cmd" lines: a root transcript unless other lines are commands too (then the
        # "#" lines are comments of a script)
        hits = {i for i, *_ in found}
        others = [
            raw.strip()
            for idx, raw in enumerate(lines)
            if idx not in hits and raw.strip() and not raw.lstrip().startswith("#")
        ]
        commands = sum(1 for o in others if command_line(o, block=True, strict=True))
        if commands and commands * 2 >= len(others):
            return None
    out: list[RawCommand] = []
    starts = {i: (p, lang, end) for i, p, lang, end in found}
    cur: _Cmd | None = None
    for idx, raw in enumerate(lines):
        if idx in starts and (cur is None or not (cur.heredoc or cur.wants_more())):
            if cur is not None:
                out.extend(_emit(cur, first_line))
            prompt, lang, end = starts[idx]
            cur = _Cmd(lang, first_line + idx, raw[end:], prompt)
            continue
        if cur is not None and cur.feed(raw):
            continue
        if cur is not None:
            out.extend(_emit(cur, first_line))
            cur = None
        # anything else is output printed by the last command (or prose): never a step
    if cur is not None:
        out.extend(_emit(cur, first_line))
    return _merge_python(out)


def _merge_python(raws: list[RawCommand]) -> list[RawCommand]:
    """Consecutive ``>>>`` lines are one Python session: one step, so names carry over."""
    out: list[RawCommand] = []
    for r in raws:
        prev = out[-1] if out else None
        if r.repl == "python" and prev is not None and prev.repl == "python":
            out[-1] = RawCommand(prev.line, prev.title, prev.text + "\n" + r.text, repl="python")
        else:
            out.append(r)
    return out


def _emit(cmd: _Cmd, first_line: int) -> list[RawCommand]:
    text = cmd.text()
    if not text or text.startswith("#"):
        return []
    if cmd.lang == "sql" and not text.lstrip().startswith("\\"):
        parts = split_statements(text, cmd.line, comment="--")
        return [RawCommand(p.line, p.title, p.text, repl=cmd.lang) for p in parts]
    return [RawCommand(cmd.line, "", text, repl="shell" if cmd.lang == "ps" else cmd.lang)]
