"""Is this text a command line? For lines of untagged/``text`` blocks, inline code in prose
("run `sudo gitlab-ctl restart nginx`"), list items and table cells.

A known program with arguments is a command; so is an unknown lower-case word followed by
arguments that only commands have (flags, paths, ``key=value``, URLs, placeholders), or a word
shaped like a program name (``resize2fs``, ``apt-get``, ``xfs_growfs``). English stays prose:
a capitalised first word, sentence punctuation, or small words (``the``, ``to``, ``is``) with
nothing command-like beside them. Tabular output (columns aligned with runs of spaces) is
output, not a command.
"""

from __future__ import annotations

import functools
import re

from opsbook.runbooks.classify import sniff_query
from opsbook.runbooks.commands.argv import words
from opsbook.runbooks.commands.dispatch import KNOWN_PROGRAMS, strip_wrappers
from opsbook.runbooks.commands.system import DESTRUCTIVE_TOOLS, READ_ONLY_TOOLS
from opsbook.runbooks.names import code_spans
from opsbook.runbooks.shellwords import tokenize_shared as tokenize

_PROMPT = re.compile(r"^\s*(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s*)?[$#]\s+")
_PROGRAM = re.compile(r"^[a-z][a-z0-9_.+-]*$")
_PROGRAM_SHAPE = re.compile(r"^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)+$|^[a-z]+\d[a-z0-9]*$")
_POWERSHELL = re.compile(
    r"^(?:Get|Set|Start|Stop|Restart|New|Remove|Add|Clear|Test|Invoke|Import|Export|Enable"
    r"|Disable|Update|Install|Uninstall|Select|Where|Sort|Measure|Format|Out|Write|Wait|Resume"
    r"|Suspend|Register|Unregister|Move|Rename|Copy|Reset|Show|Find|Resolve|Compare|ConvertTo"
    r"|ConvertFrom|Group|Mount|Dismount|Connect|Disconnect|Grant|Revoke|Enter|Save|Restore"
    r"|Backup|Repair|Optimize|Publish|Sync|Initialize|Expand|Compress|Lock|Unlock|Tee)"
    r"-[A-Z][A-Za-z]+$"
)
"""A PowerShell cmdlet: an approved verb, a dash, a noun (``Content-Type`` is not one)."""
_ARG_SIGNAL = re.compile(
    r"^--?[A-Za-z0-9]|[/\\]|^[\w.-]+=|://|^<[^>]+>$|\{\{|\$\{?\w|^['\"]|^\d+[a-zA-Z%]*$|^[\w.-]+:\S"
)
_STOPWORDS = words(
    """a an the to of and or is are was be been if then than this that these those it its
    on in into for with from by as at we you your our they them their there here when which who
    what why how not no all any each every some can could should would will must may might do
    does done did has have had more most such also only just so but"""
)
_BLOCK_ONE_WORD_BAD = frozenset(
    {"true", "false", "[", "test", "type", "exit", "return", "break", "continue", "yes", "time",
     "help", "wait", "read", "done", "fi", "esac", "then", "else", "do", "echo", ":", "}", "{"}
)  # fmt: skip
_NOT_PROGRAMS = words(
    """note notes warning tip step steps output example result results error errors ok
    done yes no true false null none todo see check make ensure verify confirm look wait"""
)
_BARE_COMMANDS = (READ_ONLY_TOOLS | DESTRUCTIVE_TOOLS) - words(
    "true false yes exit return break continue wait trap shift : test [ [[ time sleep read"
)
"""Programs that do something useful with no argument at all (``reboot``, ``uptime``)."""
_K8S_TARGETED = words("""exec logs describe edit delete port-forward rsh debug attach cp apply
patch scale label annotate rollout drain cordon uncordon taint set""")
_NEEDS_TARGET: dict[str, frozenset[str]] = {
    "kubectl": _K8S_TARGETED,
    "oc": _K8S_TARGETED,
    "k": _K8S_TARGETED,
    "docker": words("exec logs rm restart stop start kill inspect run cp attach"),
    "helm": words("rollback uninstall upgrade install status history"),
    "systemctl": words("restart stop start status reload enable disable"),
}
_SHELL_WORDS = frozenset({"for", "while", "until", "if", "case", "function", "select"})
_ASSIGN = re.compile(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=")
_PSQL_META = re.compile(r"^\\(?:d[a-zA-Z]*\+?|l\+?|x|timing|conninfo|c)(?:\s|$)")
_NEGATED = re.compile(
    r"(?i)\b(?:never|don'?t|do not|avoid|must not|should not|shouldn'?t|instead of|rather than"
    r"|not)\b[^.;:!?,]*$"
)
_VERSION_LINE = re.compile(r"^[\w.-]+ v?\d+\.\d+[\w.+-]*(?: \(|,|$)")
_NOT_A_COMMAND_LINE = re.compile(r"\s(?:==|!=|=~|=|<=|>=)\s|\w:\s|\w,(?:\s|$)")
_COLUMNS = re.compile(r"\S(?: {2,}|\t)\S")
_IMPERATIVE = re.compile(
    r"(?i)\b(?:run|running|execute|type|enter|issue|invoke|try|with|via|using|use|command)"
    r"\s*:?\s*$"
)


@functools.lru_cache(maxsize=8192)
def command_line(text: str, *, block: bool = False, strict: bool = False) -> bool:
    """True when ``text`` reads as a command a person would type.

    ``block``: a line of a code block (a bare known program such as ``reboot`` counts).
    ``strict``: only known programs, scripts and queries count (no guessing at unknown names).
    """
    t = _PROMPT.sub("", text.strip(), count=1).strip()
    if _PSQL_META.match(t):
        return True
    if not t or len(t) > 4000 or (t[0] in "#/*-|+=([{<>!\"'`@%&" and not t.startswith(("./", "/"))):
        return False
    if "\n" not in t and _COLUMNS.search(t) and len(_COLUMNS.findall(t)) >= 2:
        return _quoted_columns(t)
    if _VERSION_LINE.match(t):
        return False  # "resize2fs 1.46.5 (30-Dec-2021)": a program printing its version
    q = sniff_query(t)
    if q in ("sql", "cypher") and len(t.split()) >= 2:
        return True
    if q in ("redis", "http") and block:
        return True
    first_line = t.split("\n", 1)[0]
    parsed = tokenize(first_line)
    if not parsed.commands:
        return False
    raw = list(parsed.commands[0].words)
    if not raw:
        return False
    if _ASSIGN.match(raw[0]) and (len(raw) == 1 or raw[0] == "export"):
        # FOO=bar: a command in a block, a value in prose; severity=warning is a label
        return block and raw[0].split("=", 1)[0].isupper()
    if raw[0] == "export" and len(raw) > 1 and _ASSIGN.match(raw[1]):
        return block
    words, _ = strip_wrappers(raw)
    if not words:
        return block and bool(raw)
    head = words[0]
    prog = head.rsplit("/", 1)[-1]
    args = words[1:]
    if head in _SHELL_WORDS:
        return block
    if head.startswith(("./", "~/", "/")) and len(head) > 3:
        return _not_prose(words) and (block or len(words) > 1 or head.startswith("./"))
    if prog in KNOWN_PROGRAMS and prog not in _BLOCK_ONE_WORD_BAD:
        if not args:
            return block
        if not block and len(args) == 1 and args[0] in _NEEDS_TARGET.get(prog, ()):
            return False  # "use `oc logs` to read them": a mention of the tool, not a command
        return _not_prose(words)
    if strict:
        return False
    if _POWERSHELL.match(head):
        return block or bool(args)
    if not _PROGRAM.match(head) or head in _STOPWORDS or head in _NOT_PROGRAMS:
        return False
    if (
        _NOT_A_COMMAND_LINE.search(first_line)
        or first_line.count('"') % 2
        or (first_line.count("'") % 2)
    ):
        return False  # "up == 0", "x = 2^n", "conflict with: a, b", a log line's stray quote
    if not args:
        return block and bool(_PROGRAM_SHAPE.match(head)) and len(raw) == len(words) == 1
    if not _not_prose(words):
        return False
    signals = sum(1 for a in args if _ARG_SIGNAL.search(a))
    if _PROGRAM_SHAPE.match(head):
        return signals >= 1 or (block and len(args) <= 3)
    return signals >= 1 and (signals * 2 >= len(args) or len(args) <= 3)


def _not_prose(words: list[str]) -> bool:
    """False for English: small words with nothing command-like, or a sentence's ending
    (``kill the process``, ``make sure the queue drains``, ``ssh into the box``)."""
    small = sum(1 for w in words[1:] if w.lower().strip(",.;:") in _STOPWORDS)
    flags = sum(1 for w in words[1:] if _ARG_SIGNAL.search(w))
    if small and flags == 0 and len(words) >= 3:
        return False
    if small >= 3 and flags <= 1:
        return False
    last = words[-1]
    return not (len(words) >= 3 and last.endswith(".") and flags == 0)


def _quoted_columns(text: str) -> bool:
    """A line with aligned columns is output, unless the spaces are inside quotes."""
    outside = re.sub(r"'[^']*'|\"[^\"]*\"", "''", text)
    return not (_COLUMNS.search(outside) and len(_COLUMNS.findall(outside)) >= 2) and bool(
        command_line(outside, block=True, strict=True)
    )


def _mention(text: str) -> bool:
    """True for a tool and a subcommand that needs a target, alone (``oc logs``)."""
    parts = text.split()
    return len(parts) == 2 and parts[1] in _NEEDS_TARGET.get(parts[0], frozenset())


def prose_commands(raw: str, above: str = "") -> list[str]:
    """Inline-code commands of a prose paragraph or list item: code spans that are command
    lines with arguments. After "run", "with", "execute" … (on this line or at the end of the
    line ``above``) a span that would be a command in a code block counts too (``reboot``,
    ``haproxy-drain api node-3``)."""
    if "`" not in raw:
        return []
    out: list[str] = []
    pos = 0
    for span in code_spans(raw):
        at = raw.find(span, pos)
        before = raw[max(0, pos) : at] if at >= 0 else ""
        if pos == 0 and not before.strip("` "):
            before = above.strip()[-40:] + " " + before
        pos = at + len(span) if at >= 0 else pos
        s = span.strip()
        if not s:
            continue
        if _NEGATED.search(before[-60:]):
            continue  # "never run `terraform destroy` against prod": a warning, not a step
        if command_line(s) or (
            _IMPERATIVE.search(before[-40:].rstrip("` "))
            and command_line(s, block=True)
            and not _ASSIGN.match(s)
            and (" " in s or s in _BARE_COMMANDS)
            and not _mention(s)
        ):
            out.append(_PROMPT.sub("", s, count=1))
    return out


def command_column(rows: list[list[str]]) -> int | None:
    """The index of a table column whose cells are inline-code command lines (at least half
    of the non-empty cells, and at least one), or None."""
    if not rows:
        return None
    width = max(len(r) for r in rows)
    best: tuple[int, int] | None = None
    for col in range(width):
        cells = [r[col].strip() for r in rows if col < len(r) and r[col].strip()]
        if not cells:
            continue
        hits = sum(1 for c in cells if cell_commands(c))
        if hits and hits * 2 >= len(cells) and (best is None or hits > best[1]):
            best = (col, hits)
    return best[0] if best else None


def cell_commands(cell: str) -> list[str]:
    """The commands written as inline code in one table cell."""
    if "`" not in cell:
        return []
    return [
        _PROMPT.sub("", s.strip(), count=1)
        for s in code_spans(cell)
        if s.strip() and command_line(s.strip())
    ]
