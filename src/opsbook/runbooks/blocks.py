"""Split a code block into commands: one per shell command (comments become titles,
``\\`` continuations join, quotes and heredocs stay with their command, ``$ ``-prompted console
output is skipped), one per SQL/Cypher statement, one per PromQL query."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

LANG_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        (
            "bash",
            "sh",
            "shell",
            "zsh",
            "ksh",
            "fish",
            "console",
            "shell-session",
            "shellsession",
            "terminal",
            "cli",
            "cmd",
            "command",
            "commands",
            "sh-session",
            "bash-session",
            "shellscript",
            "posix",
            "kubectl",
            "kubernetes",
            "k8s",
            "docker",
            "dockercli",
            "helm",
            "curl",
            "powershell",
            "ps",
            "ps1",
            "pwsh",
            "bat",
            "batch",
            "redis-cli",
            "psql",
        ),
        "shell",
    ),
    **dict.fromkeys(
        (
            "sql",
            "postgresql",
            "postgres",
            "pgsql",
            "plpgsql",
            "mysql",
            "sqlite",
            "tsql",
            "plsql",
            "mssql",
            "mariadb",
        ),
        "sql",
    ),
    **dict.fromkeys(("cypher", "neo4j", "cql", "opencypher"), "cypher"),
    **dict.fromkeys(("promql", "prometheus", "prom", "metricsql", "logql"), "promql"),
    **dict.fromkeys(("redis",), "redis"),
    **dict.fromkeys(("python", "py", "python3", "py3", "ipython", "pycon"), "python"),
    **dict.fromkeys(
        ("typescript", "ts", "tsx", "javascript", "js", "jsx", "node", "mjs"), "typescript"
    ),
    **dict.fromkeys(("yaml", "yml"), "yaml"),
    **dict.fromkeys(("json", "jsonc", "json5", "ndjson", "jsonl"), "json"),
    **dict.fromkeys(
        (
            "toml",
            "ini",
            "conf",
            "cfg",
            "config",
            "properties",
            "env",
            "dotenv",
            "nginx",
            "apache",
            "hcl",
            "terraform",
            "tf",
            "dockerfile",
            "systemd",
            "xml",
            "caddyfile",
            "haproxy",
            "diff",
            "go-template",
            "jinja",
            "jinja2",
            "promtail",
            "makefile",
            "make",
        ),
        "config",
    ),
    **dict.fromkeys(("ruby", "rb", "irb", "rails"), "ruby"),
    **dict.fromkeys(
        (
            "text",
            "txt",
            "plain",
            "plaintext",
            "output",
            "log",
            "logs",
            "none",
            "markdown",
            "md",
            "email",
            "template",
            "mermaid",
            "csv",
            "http-response",
        ),
        "text",
    ),
    **dict.fromkeys(("http", "httpie", "rest", "restclient"), "http"),
}
CONSOLE_LANGS = frozenset(
    {"console", "shell-session", "shellsession", "terminal", "sh-session", "bash-session", "pycon"}
)


@functools.lru_cache(maxsize=1024)
def fence_language(info: str | None) -> str:
    """The first word of a fence's info string, lower case (``{.bash}`` → ``bash``)."""
    if not info:
        return ""
    word = info.strip().split()[0] if info.strip() else ""
    return word.strip("{}.").split(",")[0].split("{")[0].lower()


def lang_kind(lang: str) -> str | None:
    """The step kind a fence language stands for, or None when unknown or absent."""
    return LANG_ALIASES.get(lang)


@dataclass(frozen=True)
class RawCommand:
    """A command cut out of a block: its first source line, title (from a comment) and text."""

    line: int
    title: str
    text: str
    output: bool = False
    """True for example output found in a shell block (becomes a non-executable text step)."""
    repl: str | None = None
    """For a line typed at an interactive prompt (``redis> …``, ``postgres=# …``, ``> …``):
    the prompt, which tells the language."""


_PROMPT = re.compile(r"^\s*(?:\([\w.-]+\)\s*)?(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s*)?\$\s+(?=\S)")
_PS_PROMPT = re.compile(r"^\s*PS [A-Z]:\\[^>]*>\s+")
_QUERY_PROMPT = re.compile(r"^\s*(?:[\w.@-]+(?::\d+)?(?:\[\d+\])?)(?:=[#>]|>)\s+")
_OUTPUT_HINT = re.compile(
    r"\b(?:expected|example|sample)\b.*\b(?:output|response|result)s?\b|^\s*(?:output|response"
    r"|result|returns?|should (?:see|show|print|return)|you should see)\b",
    re.I,
)
_OPENER = re.compile(r"(?:^|[;&|]\s*|\b(?:then|do|else)\s+)(if|for|while|until|case|select)\b")
_OUTPUT_FIRST = frozenset('{}[]"|+=├└│─')  # JSON, tables and trees: output, never a command
_CONTINUATION = re.compile(r"[ \t]*\\\n[ \t]*")
_QUOTE_CHARS = re.compile(r"['\"\\#]")
_COMPOUND_WORD = re.compile(r"\b(?:if|for|while|until|case|select|fi|done|esac)\b")
_CLOSER = re.compile(r"(?:^|[;&|]\s*)(fi|done|esac)\b")
_HEREDOC_START = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][\w-]*)\1")


_OUTSIDE_SPECIAL = re.compile(r"[\\'\"#]")
_DOUBLE_SPECIAL = re.compile(r'[\\"]')


def _strip_quotes_state(line: str, quote: str) -> tuple[str, str]:
    """(line with quoted parts removed, open quote after the line) for continuation checks.
    Jumps from one quote, backslash or ``#`` to the next instead of walking every character."""
    if not quote and not _QUOTE_CHARS.search(line):
        return line, ""
    out: list[str] = []
    i = 0
    n = len(line)
    while i < n:
        if quote == "'":
            j = line.find("'", i)
            if j < 0:
                break
            quote, i = "", j + 1
            continue
        if quote:  # inside "…": a backslash escapes the next character
            m = _DOUBLE_SPECIAL.search(line, i)
            if m is None:
                break
            j = m.start()
            if line[j] == "\\":
                i = j + 2
            else:
                quote, i = "", j + 1
            continue
        m = _OUTSIDE_SPECIAL.search(line, i)
        if m is None:
            out.append(line[i:])
            break
        j = m.start()
        out.append(line[i:j])
        c = line[j]
        if c == "\\":
            out.append(line[j : j + 2])
            i = j + 2
        elif c == "#":
            if j == 0 or line[j - 1] in " \t;":
                break
            out.append(c)
            i = j + 1
        else:
            quote = c
            out.append(" ")
            i = j + 1
    return "".join(out), quote


def comment_text(line: str, marker: str = "#") -> str:
    """The text of a comment line without its marker."""
    return line.strip().lstrip(marker).strip()


_REPL_PROMPT = re.compile(r"^\s*((?:[\w.@-]+(?::\d+)?(?:\[\d+\])?)?(?:=[#>]|>))\s+(?=\S)")


def split_repl(content: str, first_line: int) -> list[RawCommand] | None:
    """Lines typed at an interactive prompt (``> slowlog get 10``, ``redis> INFO``,
    ``postgres=# SELECT 1;``) when the block opens with one; other lines are output.
    None when the block does not look like such a transcript."""
    lines = content.split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    if not _REPL_PROMPT.match(first) or first.lstrip().startswith((">>", "> >")):
        return None
    out: list[RawCommand] = []
    for idx, raw in enumerate(lines):
        m = _REPL_PROMPT.match(raw)
        if m:
            out.append(RawCommand(first_line + idx, "", raw[m.end() :].strip(), repl=m.group(1)))
    return out


def split_shell(content: str, first_line: int, *, console: bool = False) -> list[RawCommand]:
    """Cut a shell block into commands; ``first_line`` is the source line of ``content[0]``."""
    lines = content.split("\n")
    prompted = console or sum(1 for ln in lines if _PROMPT.match(ln)) > 0
    prompt_only = prompted and any(_PROMPT.match(ln) for ln in lines)
    out: list[RawCommand] = []
    title = ""
    buf: list[str] = []
    start = 0
    quote = ""
    depth = 0
    heredoc: str | None = None
    cont = False
    output_mode = False
    output_buf: list[str] = []
    output_start = 0

    def flush_output() -> None:
        """Emit collected example output as one text step."""
        nonlocal output_buf, title
        if output_buf:
            out.append(
                RawCommand(
                    output_start, title or "Example output", "\n".join(output_buf), output=True
                )
            )
            title = ""
        output_buf = []

    for idx, raw in enumerate(lines):
        lineno = first_line + idx
        if buf:
            if prompt_only and raw.startswith("> "):
                raw = raw[2:]  # the shell's continuation prompt (PS2) in a transcript
            buf.append(raw)
            if heredoc is not None:
                if raw.strip().lstrip("\t") == heredoc:
                    heredoc = None
                else:
                    continue
        else:
            stripped = raw.strip()
            if not stripped:
                output_mode = False
                flush_output()
                continue
            if prompt_only:
                m = _PROMPT.match(raw) or _PS_PROMPT.match(raw)
                if not m:
                    if stripped.startswith("#") and not stripped.startswith("#!"):
                        title = comment_text(stripped)
                    continue
                raw = raw[m.end() :]
                stripped = raw.strip()
                if stripped.startswith("#"):
                    title = comment_text(stripped)
                    continue
            elif stripped.startswith("#"):
                flush_output()
                if not stripped.startswith("#!"):
                    title = comment_text(stripped)
                    output_mode = bool(_OUTPUT_HINT.search(title))
                continue
            elif output_mode or stripped[0] in _OUTPUT_FIRST or stripped.startswith(("...", "`--")):
                if not output_buf:
                    output_start = lineno
                output_buf.append(raw)
                continue
            flush_output()
            buf = [raw]
            start = lineno
        code, quote = _strip_quotes_state(raw, quote)
        if heredoc is None and not quote and "<<" in code:
            hm = _HEREDOC_START.search(raw)  # on the raw line: the delimiter may be quoted
            if hm:
                heredoc = hm.group(2)
        if _COMPOUND_WORD.search(code):
            depth += len(_OPENER.findall(code)) - len(_CLOSER.findall(code))
            depth = max(depth, 0)
        tail = code.rstrip()
        cont = tail.endswith(("\\", "|", "&&", "||", "(", "{")) or tail.endswith(" do")
        if quote or heredoc is not None or depth > 0 or cont:
            continue
        out.append(RawCommand(start, title, _join(buf)))
        title = ""
        buf = []
    if buf:
        out.append(RawCommand(start, title, _join(buf)))
    flush_output()
    return out


def _join(lines: list[str]) -> str:
    """Join continuation lines: ``\\``-newline becomes a space; other newlines are kept."""
    text = "\n".join(line.rstrip() for line in lines)
    if "\\\n" in text:
        text = _CONTINUATION.sub(" ", text)
    return _dedent(text).strip()


def _dedent(text: str) -> str:
    lines = text.split("\n")
    indents = [len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()]
    if not indents:
        return text
    cut = min(indents)
    return "\n".join([lines[0]] + [ln[cut:] for ln in lines[1:]])


def split_statements(content: str, first_line: int, *, comment: str) -> list[RawCommand]:
    """Cut SQL or Cypher text into statements at ``;`` (outside quotes and comments); a comment
    line just before a statement becomes its title."""
    out: list[RawCommand] = []
    title = ""
    buf: list[str] = []
    start = 0
    quote = ""
    dollar = False
    for idx, raw in enumerate(content.split("\n")):
        lineno = first_line + idx
        line = _QUERY_PROMPT.sub("", raw, count=1) if not buf else raw
        stripped = line.strip()
        if not buf and not quote:
            if not stripped:
                continue
            if stripped.startswith(comment) or stripped.startswith("/*"):
                title = comment_text(stripped, comment[0]).strip("*/ ").strip()
                continue
        if not buf:
            start = lineno
        buf.append(line)
        i = 0
        while i < len(line):
            c = line[i]
            if dollar:
                if line.startswith("$$", i):
                    dollar = False
                    i += 2
                    continue
            elif quote:
                if c == quote:
                    quote = ""
            elif line.startswith(comment, i):
                break
            elif line.startswith("$$", i):
                dollar = True
                i += 2
                continue
            elif c in "'\"`":
                quote = c
            elif c == ";":
                before = "\n".join(ln.rstrip() for ln in [*buf[:-1], line[: i + 1]]).strip()
                if before.strip("; \n"):
                    out.append(RawCommand(start, title, _dedent(before)))
                    title = ""
                buf = [line[i + 1 :]] if line[i + 1 :].strip() else []
                start = lineno
                line = line[i + 1 :]
                i = 0
                continue
            i += 1
        if buf and len(buf) == 1 and not buf[0].strip():
            buf = []
    rest = "\n".join(ln.rstrip() for ln in buf).strip()
    if rest and not all(ln.strip().startswith(comment) for ln in rest.split("\n") if ln.strip()):
        out.append(RawCommand(start, title, _dedent(rest)))
    return out


def split_paragraphs(content: str, first_line: int, *, comment: str = "#") -> list[RawCommand]:
    """Cut a block into queries separated by blank lines (PromQL, Redis); comments are titles."""
    out: list[RawCommand] = []
    title = ""
    buf: list[str] = []
    start = 0
    for idx, raw in enumerate([*content.split("\n"), ""]):
        stripped = _QUERY_PROMPT.sub("", raw, count=1).strip()
        if stripped.startswith(comment):
            if buf:
                out.append(RawCommand(start, title, "\n".join(buf)))
                buf, title = [], ""
            title = comment_text(stripped, comment[0])
            continue
        if not stripped:
            if buf:
                out.append(RawCommand(start, title, "\n".join(buf)))
                buf, title = [], ""
            continue
        if not buf:
            start = first_line + idx
        buf.append(stripped)
    return out


def split_lines(content: str, first_line: int, *, comment: str = "#") -> list[RawCommand]:
    """One command per non-blank line (Redis command blocks); comment lines are titles."""
    out: list[RawCommand] = []
    title = ""
    for idx, raw in enumerate(content.split("\n")):
        stripped = _QUERY_PROMPT.sub("", raw, count=1).strip()
        if not stripped:
            continue
        if stripped.startswith(comment):
            title = comment_text(stripped, comment[0])
            continue
        out.append(RawCommand(first_line + idx, title, stripped))
        title = ""
    return out


def leading_title(content: str, comment: str) -> str:
    """The first comment line of a block (the title of a one-step script block)."""
    for raw in content.split("\n"):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#!"):
            continue
        return comment_text(stripped, comment[0]) if stripped.startswith(comment) else ""
    return ""


def only_comments(content: str, comment: str) -> bool:
    """True when a block holds nothing but comments and blank lines."""
    return all(not ln.strip() or ln.strip().startswith(comment) for ln in content.split("\n"))
