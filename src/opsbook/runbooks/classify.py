"""Classify one command: its kind (shell, kubectl, http, sql, redis, cypher, promql, docker,
python, or a non-executable kind), the kind it wraps, and its safety class with a reason.

The whole command is read — subcommands, flags, SQL inside ``psql -c``, the command after
``kubectl exec --``, every part of a pipeline — and the worst part decides the safety.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from opsbook.runbooks.blocks import fence_language, lang_kind
from opsbook.runbooks.commands.argv import Part
from opsbook.runbooks.commands.clients import http_verdict
from opsbook.runbooks.commands.dispatch import KNOWN_PROGRAMS, simple_command, strip_wrappers
from opsbook.runbooks.commands.ops import POWERSHELL, powershell_line
from opsbook.runbooks.models import TEXT_KINDS
from opsbook.runbooks.queries import (
    cypher_safety,
    promql_safety,
    python_safety,
    redis_safety,
    sql_safety,
)
from opsbook.runbooks.safety import Verdict, unk, worst
from opsbook.runbooks.shellwords import Parsed
from opsbook.runbooks.shellwords import tokenize_shared as tokenize


@dataclass(frozen=True)
class Classification:
    """What a command is and how safe it is to run, with a one-line human reason."""

    kind: str
    inner_kind: str | None
    executable: bool
    safety: str
    reason: str


_TEXT_REASONS = {
    "typescript": "TypeScript/JavaScript snippet shown for reference; nothing runs",
    "yaml": "YAML shown for reference; nothing runs",
    "json": "JSON shown for reference; nothing runs",
    "config": "configuration shown for reference; nothing runs",
    "ruby": "Ruby snippet shown for reference; nothing runs",
    "text": "text or example output; nothing runs",
}
_SQL_START = re.compile(
    r"^(SELECT|INSERT\s+INTO|UPDATE\s+\w|DELETE\s+FROM|CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|"
    r"VIEW|POLICY|EXTENSION|SCHEMA|DATABASE|ROLE|USER|FUNCTION|TRIGGER|MATERIALIZED)|DROP\s+\w|"
    r"ALTER\s+(?:TABLE|SYSTEM|DATABASE|INDEX|ROLE|USER)|TRUNCATE|WITH\s+\w+\s+AS|SHOW\s+\w|"
    r"EXPLAIN|GRANT|REVOKE|VACUUM|ANALYZE|REINDEX|BEGIN|COMMIT|SET\s+\w+\s*(?:=|TO))\b",
    re.I,
)
_CYPHER_START = re.compile(
    r"^(MATCH\s*\(|OPTIONAL\s+MATCH|MERGE\s*\(|UNWIND\s|CALL\s+(?:db|dbms|apoc|gds)\.|"
    r"CREATE\s*\(|CREATE\s+(?:CONSTRAINT|VECTOR\s+INDEX|FULLTEXT\s+INDEX)|DETACH\s+DELETE|"
    r"SHOW\s+(?:DATABASES|INDEXES|CONSTRAINTS|TRANSACTIONS|PROCEDURES)|RETURN\s)",
    re.I,
)
_PROMQL_FUNCS = (
    "rate",
    "irate",
    "increase",
    "sum",
    "avg",
    "max",
    "min",
    "count",
    "topk",
    "bottomk",
    "histogram_quantile",
    "absent",
    "absent_over_time",
    "delta",
    "deriv",
    "predict_linear",
    "label_replace",
    "label_join",
    "quantile_over_time",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "changes",
    "resets",
    "clamp_max",
    "clamp_min",
    "sort_desc",
    "quantile",
    "stddev",
    "count_values",
)
_PROMQL_START = re.compile(
    r"^(?:(?:" + "|".join(_PROMQL_FUNCS) + r")\s*(?:by|without)?\s*(?:\([^)]*\))?\s*\("
    r"|[a-zA-Z_:][\w:]*\{[^}]*\}(?:\[\w+\])?|[a-zA-Z_:][\w:]*\[\d+[smhdw]\])"
)
_PROMQL_EXPR = re.compile(r"[\w\s:(){}\[\]\"'=~!,.*/+\-<>^%]+")
_METRIC_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+){2,}\b")
_REDIS_BARE = frozenset(
    {
        "PING",
        "INFO",
        "FLUSHDB",
        "FLUSHALL",
        "CONFIG",
        "DBSIZE",
        "KEYS",
        "SCAN",
        "SLOWLOG",
        "CLIENT",
        "MEMORY",
        "DEL",
        "UNLINK",
        "GET",
        "SET",
        "HGETALL",
        "LLEN",
        "XINFO",
        "XLEN",
        "TTL",
        "EXPIRE",
        "LATENCY",
        "BGSAVE",
        "MONITOR",
        "TYPE",
    }
)
_PROMPT = re.compile(r"^\s*(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s*)?\$\s+")


_RAW_HTTP = re.compile(r"^(?:GET|HEAD|OPTIONS|POST|PUT|PATCH|DELETE)\s+(?:https?://|/|_)\S*")


def sniff_query(text: str) -> str | None:
    """The query language a bare text is written in (sql, cypher, promql, redis, or a raw
    ``GET /path`` HTTP request), if any."""
    t = text.lstrip()
    if _RAW_HTTP.match(t):
        return "http"
    if _CYPHER_START.match(t):
        return "cypher"
    if _SQL_START.match(t):
        return "sql"
    if _PROMQL_START.match(t) or (
        t.startswith("(") and _PROMQL_EXPR.fullmatch(t) and _METRIC_NAME.search(t)
    ):
        return "promql"
    first = t.split(None, 1)[0] if t.split() else ""
    if first in _REDIS_BARE and first.isupper() and "(" not in t and "|" not in t:
        return "redis"
    return None


def looks_like_command(text: str, *, min_words: int = 2) -> bool:
    """True when inline text reads as a command: a known program with arguments, a path to a
    script, or a query (``kubectl get pods``, ``./restore.sh``, ``SELECT 1``)."""
    t = _PROMPT.sub("", text.strip(), count=1)
    parsed = tokenize(t)
    words = strip_wrappers(list(parsed.commands[0].words))[0] if parsed.commands else []
    if not words:
        return False
    prog = words[0].rsplit("/", 1)[-1]
    if (
        prog in KNOWN_PROGRAMS
        and len(words) >= min_words
        and prog not in ("true", "false", "[", "test", "type")
    ):
        return True
    if sniff_query(t) in ("sql", "cypher") and len(t.split()) >= 2:
        return True
    return words[0].startswith(("./", "~/")) and len(words[0]) > 3


def _query_part(kind: str, text: str) -> Verdict:
    if kind == "http":
        m = _RAW_HTTP.match(text.lstrip())
        method, _, url = text.lstrip().partition(" ")
        return http_verdict("HTTP", method, url.split()[0] if m and url.split() else url)
    if kind == "sql":
        return sql_safety(text)
    if kind == "cypher":
        return cypher_safety(text)
    if kind == "promql":
        return promql_safety(text)
    if kind == "redis":
        parsed = tokenize(text)
        return (
            worst(redis_safety(c.words) for c in parsed.commands)
            if parsed.commands
            else unk("no Redis command")
        )
    return python_safety(text)


_MAX_SUBSHELL_DEPTH = 3
_MAX_REASON = 160


def shell_parts(
    text: str, parsed: Parsed | None = None, depth: int = 0
) -> tuple[str, str | None, Verdict]:
    """Kind, inner kind and worst verdict of a shell command line (pipelines, lists,
    subshells)."""
    parsed = parsed or tokenize(text)
    if not parsed.commands:
        return "shell", None, unk("no command found")
    parts: list[Part] = []
    for n, cmd in enumerate(parsed.commands):
        words = cmd.words
        if (
            len(words) == 1
            and cmd.op_before == ";;"
            and n + 1 < len(parsed.commands)
            and parsed.commands[n + 1].op_before == ")"
        ):
            continue  # "stop)" after ";;": a case pattern, not a command
        joined = " ".join(words)
        q = sniff_query(joined) if words and words[0] not in KNOWN_PROGRAMS else None
        if q is not None:
            parts.append(Part(q, None, _query_part(q, joined)))
            continue
        parts.append(simple_command(cmd, piped=cmd.op_before in ("|", "|&")))
    verdicts = [p.verdict for p in parts]
    for sub in parsed.subshells[:20]:
        if depth >= _MAX_SUBSHELL_DEPTH:
            verdicts.append(unk("subshells nested too deep to read"))
            break
        _, _, v = shell_parts(sub, depth=depth + 1)
        verdicts.append(Verdict(v.safety, f"subshell: {v.reason}"))
    main = next((p for p in parts if p.kind != "shell"), parts[0])
    inner = main.inner_kind
    if main.kind == "shell" and inner is None:
        inner = next((p.kind for p in parts if p.kind != "shell"), None)
    return main.kind, inner, worst(verdicts)


@functools.lru_cache(maxsize=4096)
def classify(command: str, fence_lang: str | None = None) -> Classification:
    """Classify a command as written in a runbook, given its fence language (or None).
    Never raises: a command that cannot be read is ``unknown``."""
    try:
        c = _classify(command, fence_lang)
        if "\n" in c.reason or len(c.reason) > _MAX_REASON:
            reason = " ".join(c.reason.split())
            if len(reason) > _MAX_REASON:
                reason = reason[: _MAX_REASON - 1] + "…"
            c = Classification(c.kind, c.inner_kind, c.executable, c.safety, reason)
        return c
    except RecursionError:
        return Classification("shell", None, True, "unknown", "command nested too deep to read")
    except Exception as exc:  # noqa: BLE001 - a classifier bug must not hide the runbook
        return Classification(
            "shell", None, True, "unknown", f"could not read the command ({type(exc).__name__})"
        )


def _classify(command: str, fence_lang: str | None) -> Classification:
    text = command.strip()
    lang = fence_language(fence_lang)
    kind = lang_kind(lang)
    if not text:
        return Classification("text", None, False, "read-only", "empty; nothing runs")
    if kind in TEXT_KINDS:
        return Classification(kind, None, False, "read-only", _TEXT_REASONS[kind])
    if kind == "http":
        return _raw_http(text)
    if kind in ("sql", "cypher", "promql", "redis", "python"):
        if kind == "redis" and text.split()[0] in ("redis-cli", "valkey-cli", "keydb-cli"):
            kind = "shell"
        else:
            v = _query_part(kind, _strip_prompt(text, kind))
            return Classification(kind, None, True, v.safety, v.reason)
    text = _PROMPT.sub("", text, count=1)
    if POWERSHELL.match(text.split(None, 1)[0]):
        v = powershell_line(text)
        return Classification("shell", None, True, v.safety, v.reason)
    parsed = tokenize(text)
    words = strip_wrappers(list(parsed.commands[0].words))[0] if parsed.commands else []
    first = words[0].rsplit("/", 1)[-1] if words else ""
    known = first in KNOWN_PROGRAMS or (words and words[0].startswith(("./", "/", "~/")))
    if not known:
        q = sniff_query(text)
        if q is not None:
            v = _query_part(q, text)
            return Classification(q, None, True, v.safety, v.reason)
        if kind is None:
            reason = (
                f"unknown fence language {lang!r}; not read as a command"
                if lang
                else "not recognised as a command"
            )
            return Classification("text", None, False, "read-only", reason)
    k, inner, v = shell_parts(text, parsed)
    return Classification(k, inner if inner != k else None, True, v.safety, v.reason)


def _strip_prompt(text: str, kind: str) -> str:
    if kind == "redis":
        return re.sub(r"^\s*(?:[\w.-]+(?::\d+)?(?:\[\d+\])?>|redis>)\s*", "", text, flags=re.M)
    return text


def _raw_http(text: str) -> Classification:
    m = re.match(r"^(GET|HEAD|OPTIONS|POST|PUT|PATCH|DELETE)\s+(\S+)", text)
    if not m:
        k, inner, v = shell_parts(text)
        return Classification(k, inner, True, v.safety, v.reason)
    method, url = m.groups()
    v = http_verdict("HTTP", method, url)
    return Classification("http", None, True, v.safety, v.reason)
