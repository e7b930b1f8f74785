"""Turn code blocks and list items into steps: split, classify, find variables, note warnings.

The parser decides *where* steps are; this module decides *what* each one is.
"""

from __future__ import annotations

import json
import re
import shlex

from opsbook.runbooks.blocks import (
    CONSOLE_LANGS,
    RawCommand,
    fence_language,
    lang_kind,
    leading_title,
    only_comments,
    split_lines,
    split_paragraphs,
    split_repl,
    split_shell,
    split_statements,
)
from opsbook.runbooks.classify import (
    Classification,
    classify,
    looks_like_command,
    sniff_query,
)
from opsbook.runbooks.fields import WARNING_WORDS
from opsbook.runbooks.inline import cell_commands, command_column, command_line, prose_commands
from opsbook.runbooks.interactive import bounded_form, interactive_reason
from opsbook.runbooks.models import TEXT_KINDS, Step
from opsbook.runbooks.names import code_spans, plain
from opsbook.runbooks.queries import REDIS_COMMANDS
from opsbook.runbooks.tables import TableRow
from opsbook.runbooks.transcript import read_transcript
from opsbook.runbooks.variables import assigned_names, find_variables

_MAX_STEP_TEXT = 20_000
_NESTED_FENCE = re.compile(
    r"^\s*(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)\n\s*(?P=fence)\s*$", re.S
)
_ASSIGNMENT = re.compile(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=\S")
_REPL_LINE = re.compile(r"^(?:[\w.@-]+(?::\d+)?)?(?:=[#>]|>)\s+\S")
_QUERY_KINDS = frozenset({"sql", "redis", "cypher", "promql", "python", "http"})
_PLAIN_TEXT_LANGS = frozenset({"text", "txt", "plain", "plaintext", "none"})
_TRANSCRIPT_LANG = {
    "shell": "bash",
    "sql": "sql",
    "redis": "redis",
    "python": "python",
    "cypher": "cypher",
}
_PROMPT_PREFIX = re.compile(r"(?m)^\s*(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s*)?\$\s+")


class StepMaker:
    """Makes steps, checking the source lines just above each for a warning word."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.scope_names: set[str] = set()

    def new_scope(self) -> None:
        """A new section: names set by earlier scripts no longer count as set."""
        self.scope_names = set()

    def warned(self, line: int, *texts: str) -> bool:
        """True when a warning word is in the given texts, on ``line`` itself (a note after an
        inline command) or in the 4 lines above it."""
        if any(WARNING_WORDS.search(t) for t in texts if t):
            return True
        start = max(0, line - 5)
        return any(WARNING_WORDS.search(ln) for ln in self.lines[start : max(line, 0)])

    def command(
        self,
        line: int,
        title: str,
        text: str,
        lang: str | None,
        local_names: frozenset[str] = frozenset(),
        *,
        as_mongo: bool = False,
    ) -> Step:
        """A step for one command (executable or not, as classification says). ``as_mongo``:
        a line typed at a MongoDB shell prompt, read as ``mongosh --eval`` would be."""
        c = classify(text[:_MAX_STEP_TEXT], lang)
        if as_mongo:
            m = classify("mongosh --eval " + shlex.quote(text[:_MAX_STEP_TEXT]), "bash")
            c = Classification("shell", None, True, m.safety, m.reason)
        if len(text) > _MAX_STEP_TEXT and c.executable:
            c = Classification(c.kind, c.inner_kind, True, "unknown", "command too long to read")
        text = text[:_MAX_STEP_TEXT]
        variables: tuple[str, ...] = ()
        if c.executable:
            variables = tuple(v for v in find_variables(text) if v not in local_names)
        risky = c.executable and c.safety in ("destructive", "unknown")
        query = lang_kind(fence_language(lang)) in _QUERY_KINDS or (
            c.kind in _QUERY_KINDS and not looks_like_command(text, min_words=1)
        )
        why = interactive_reason(text, c.kind if query else "shell") if c.executable else None
        return Step(
            line=line,
            title=title,
            text=text,
            executable=c.executable,
            kind=c.kind,
            inner_kind=c.inner_kind,
            safety=c.safety,
            reason=c.reason,
            variables=variables,
            warned=risky and self.warned(line, title),
            interactive=why is not None,
            interactive_reason=why or "",
            bounded=(bounded_form(text, c.kind if query else "shell") or "") if why else "",
        )

    def text(self, line: int, title: str, text: str) -> Step:
        """A non-executable instruction."""
        return Step(
            line=line,
            title=title,
            text=text[:_MAX_STEP_TEXT],
            executable=False,
            kind="text",
            inner_kind=None,
            safety="read-only",
            reason="an instruction for a person; nothing runs",
        )

    def non_exec(self, line: int, title: str, text: str, kind: str, reason: str) -> Step:
        """A non-executable block (configuration, code for reference, example output)."""
        return Step(
            line=line,
            title=title,
            text=text[:_MAX_STEP_TEXT],
            executable=False,
            kind=kind,
            inner_kind=None,
            safety="read-only",
            reason=reason,
        )

    def block(self, info: str, content: str, first_line: int, default_title: str) -> list[Step]:
        """Steps of a fenced or indented code block whose content starts at ``first_line``."""
        lang = fence_language(info)
        kind = lang_kind(lang)
        body = content.rstrip("\n")
        if not body.strip():
            return []
        inner = _NESTED_FENCE.match(body) if not lang else None
        if inner:  # an indented block holding a fence (content tabs, admonitions)
            offset = body[: inner.start("body")].count("\n")
            return self.block(
                inner.group("info"), inner.group("body"), first_line + offset, default_title
            )
        textish = not lang or (kind == "text" and lang in _PLAIN_TEXT_LANGS)
        if textish or kind in ("shell", "sql", "redis", "python", "cypher"):
            raws_t = read_transcript(
                body,
                first_line,
                roots=textish or lang in CONSOLE_LANGS,
                foreign_only=not textish or not lang,
            )
            if raws_t is not None:
                return self._transcript(raws_t, default_title)
        if textish:
            lines_steps = self._command_lines(body, first_line, default_title, lang)
            if lines_steps is not None:
                return lines_steps
        if kind is None and not lang:
            kind = _sniff_block(body)
            lang = {"shell": "bash"}.get(kind or "", kind or "")
        elif kind is None:
            c = classify(body, lang)
            return [
                self.non_exec(
                    first_line + _first_nonblank(body), default_title, body, c.kind, c.reason
                )
            ]
        if kind in TEXT_KINDS or kind == "http":
            start = first_line + _first_nonblank(body)
            if kind == "http":
                return [self.command(start, default_title, body.strip(), "http")]
            return [self.command(start, default_title, body, lang or kind)]
        if kind == "python":
            start = first_line + _first_nonblank(body)
            if only_comments(body, "#"):
                return [self.non_exec(start, default_title, body, "text", "only comments")]
            title = leading_title(body, "#") or default_title
            return [self.command(start, title, body, "python")]
        raws: list[RawCommand]
        if kind == "sql":
            raws = split_statements(body, first_line, comment="--")
        elif kind == "cypher":
            raws = split_statements(body, first_line, comment="//")
        elif kind == "promql":
            raws = split_paragraphs(body, first_line)
        elif kind == "redis":
            raws = split_lines(body, first_line)
        else:
            raws = split_repl(body, first_line) or split_shell(
                body, first_line, console=lang in CONSOLE_LANGS
            )
        if kind == "shell":
            self.scope_names |= assigned_names(_PROMPT_PREFIX.sub("", body))
        local = frozenset(self.scope_names)
        steps: list[Step] = []
        for raw in raws:
            title = raw.title or default_title
            if raw.output:
                steps.append(
                    self.non_exec(raw.line, title, raw.text, "text", "example output; nothing runs")
                )
            elif raw.repl is not None:
                steps.append(
                    self.command(
                        raw.line, title, raw.text, _repl_language(raw.repl, raw.text), local
                    )
                )
            else:
                steps.append(self.command(raw.line, title, raw.text, lang or kind, local))
        if not steps:
            start = first_line + _first_nonblank(body)
            steps.append(
                self.non_exec(start, default_title, body, "text", "only comments; nothing runs")
            )
        return steps

    def _transcript(self, raws: list[RawCommand], default_title: str) -> list[Step]:
        """Steps of the commands typed at prompts (output lines were dropped)."""
        steps: list[Step] = []
        for raw in raws:
            lang = raw.repl or "bash"
            title = raw.title or default_title
            if lang == "mongo":
                steps.append(self.command(raw.line, title, raw.text, "bash", as_mongo=True))
            else:
                steps.append(self.command(raw.line, title, raw.text, _TRANSCRIPT_LANG[lang]))
        return steps

    def _command_lines(
        self, body: str, first_line: int, default_title: str, lang: str
    ) -> list[Step] | None:
        """An untagged or ``text`` block read line by line: command lines become steps (known
        or not), the rest is output or prose. None when no line is a command line (a block
        of output or text), or when an untagged block holds a query or JSON instead."""
        sniffed = _sniff_block(body) if not lang else "text"
        if sniffed not in ("shell", "text"):
            return None
        raws = split_shell(body, first_line)
        commands = [r for r in raws if not r.output and command_line(r.text, block=True)]
        if not commands:
            return None
        self.scope_names |= assigned_names(body)
        local = frozenset(self.scope_names)
        steps: list[Step] = []
        for raw in commands:
            q = sniff_query(raw.text)
            known = looks_like_command(raw.text, min_words=1)
            step_lang = q if q in ("sql", "cypher", "redis", "http") and not known else "bash"
            steps.append(
                self.command(raw.line, raw.title or default_title, raw.text, step_lang, local)
            )
        return steps

    def prose(self, line: int, raw: str, title: str) -> list[Step]:
        """Steps of the inline-code commands in a prose line ("run `gitlab-ctl restart`");
        [] when it holds none."""
        above = self.lines[line - 2] if 2 <= line <= len(self.lines) + 1 else ""
        commands = prose_commands(raw, above)
        if not commands:
            return []
        lead = plain(raw.split("`", 1)[0]).strip(" :-–—,;")
        step_title = title or (lead if len(lead) <= 100 else lead[:99] + "…")
        return [self.command(line, step_title, cmd, _inline_lang(cmd)) for cmd in commands]

    def table_commands(self, header: list[str], rows: list[TableRow]) -> list[Step]:
        """Steps of a table's command column (cells of inline-code command lines), each
        titled by the row's first other cell; [] when the table has no such column."""
        col = command_column([r.cells for r in rows])
        if col is None:
            return []
        steps: list[Step] = []
        for row in rows:
            if col >= len(row.cells):
                continue
            others = [plain(c).strip() for i, c in enumerate(row.cells) if i != col]
            title = next((o for o in others if o), "")
            for cmd in cell_commands(row.cells[col]):
                steps.append(self.command(row.line, title, cmd, _inline_lang(cmd)))
        return steps

    def item(self, line: int, raw: str, title: str) -> list[Step]:
        """Steps of a list item: its inline-code commands, or the item as a text step."""
        spans = code_spans(raw)
        known = [c for c in spans if looks_like_command(c)]
        extra = (
            [c for c in prose_commands(raw) if c not in known] if len(known) < len(spans) else []
        )
        commands = [c for c in spans if c in known or c in extra]
        if commands:
            lead = raw.split("`", 1)[0]
            item_title = plain(lead).strip(" :-–—,;") or title
            return [
                self.command(line, item_title, cmd, None if cmd in known else _inline_lang(cmd))
                for cmd in commands
            ]
        return [self.text(line, title, plain(raw))]


def _inline_lang(command: str) -> str:
    """How to read an inline command: a psql meta-command as SQL, anything else as shell
    (which still recognises queries such as ``SELECT …``)."""
    return "sql" if command.startswith("\\") else "bash"


def _repl_language(prompt: str, text: str) -> str:
    """The language of a line typed at an interactive prompt, from the prompt or the line."""
    p = prompt.lower()
    if "redis" in p or re.search(r":63\d\d", p):
        return "redis"
    if p.endswith(("=#", "=>")) or "mysql" in p or "postgres" in p or "psql" in p:
        return "sql"
    if "neo4j" in p or "cypher" in p:
        return "cypher"
    first = text.split(None, 1)[0].upper() if text.split() else ""
    if first in REDIS_COMMANDS:
        return "redis"
    return sniff_query(text) or "text"


def _first_nonblank(body: str) -> int:
    for i, ln in enumerate(body.split("\n")):
        if ln.strip():
            return i
    return 0


def _sniff_block(body: str) -> str | None:
    """The kind of an untagged block: shell, a query language, JSON, or None (text)."""
    lines = [ln for ln in body.split("\n") if ln.strip()]
    first = next((ln for ln in lines if not ln.strip().startswith(("#", "//", "--"))), "")
    if not first:
        return "text"
    stripped = first.strip()
    if stripped.startswith(("{", "[")):
        try:
            json.loads(body)
        except ValueError:
            return "text"
        return "json"
    if (
        stripped.startswith("$ ")
        or _ASSIGNMENT.match(stripped)
        or looks_like_command(stripped, min_words=1)
    ):
        return "shell"
    if _REPL_LINE.match(stripped):
        return "shell"  # an interactive transcript; split_repl reads it
    q = sniff_query(stripped)
    if q is not None:
        return q
    return "text"
