"""Split runbook SQL into statements and bind variable values safely.

A value inside a quoted string literal (``WHERE id = '$ID'``) turns the whole literal into a
bound parameter; a value written bare is spliced only when it is a plain number or identifier,
and bound otherwise. So no value can ever change the statement's structure.
"""

from __future__ import annotations

import re

from opsbook.executors.common import Unsupported
from opsbook.executors.models import SLOT, Resolved

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_]\w*)?\$")


class _Statement:
    def __init__(self) -> None:
        self.pieces: list[tuple[str, bool]] = []  # (text, is_placeholder)
        self.params: list[str] = []

    def text(self, s: str) -> None:
        self.pieces.append((s, False))

    def param(self, value: str) -> None:
        self.pieces.append(("%s", True))
        self.params.append(value)

    def render(self) -> tuple[str, list[str]]:
        if not self.params:
            return "".join(t for t, _ in self.pieces).strip(), []
        return "".join(
            t if p else t.replace("%", "%%") for t, p in self.pieces
        ).strip(), self.params


def _bare(stmt: _Statement, value: str) -> None:
    if _NUMBER.fullmatch(value) or _IDENT.fullmatch(value):
        stmt.text(value)
    else:
        stmt.param(value)


def bind_sql(template: str, resolved: Resolved) -> list[tuple[str, list[str]]]:
    """Statements of a SQL template (``;``-separated, quote and comment aware), each as
    (query with ``%s`` placeholders, parameters). Raises Unsupported for psql meta-commands."""
    out: list[tuple[str, list[str]]] = []
    stmt = _Statement()
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "'":
            j = i + 1
            while j < n:
                if template[j] == "'" and template[j + 1 : j + 2] == "'":
                    j += 2
                    continue
                if template[j] == "'":
                    break
                j += 1
            literal = template[i : j + 1]
            if SLOT.search(literal):
                stmt.param(resolved.fill(literal[1:-1].replace("''", "'")))
            else:
                stmt.text(literal)
            i = j + 1
        elif c == '"':
            j = template.find('"', i + 1)
            j = n - 1 if j < 0 else j
            ident = resolved.fill(template[i : j + 1])
            if ident.count('"') != 2 or "\x00" in ident:
                raise Unsupported(
                    "a variable value inside a quoted SQL identifier contains a quote"
                )
            stmt.text(ident)
            i = j + 1
        elif template.startswith("--", i):
            j = template.find("\n", i)
            j = n if j < 0 else j
            stmt.text(SLOT.sub("", template[i:j]))
            i = j
        elif template.startswith("/*", i):
            j = template.find("*/", i + 2)
            j = n if j < 0 else j + 2
            stmt.text(SLOT.sub("", template[i:j]))
            i = j
        elif c == "$" and (m := _DOLLAR_TAG.match(template, i)):
            end = template.find(m.group(0), m.end())
            end = n if end < 0 else end + len(m.group(0))
            body = template[i:end]
            if SLOT.search(body):
                raise Unsupported("variables inside dollar-quoted SQL ($$ … $$) are not supported")
            stmt.text(body)
            i = end
        elif c == "\x00" and (m := SLOT.match(template, i)):
            _bare(stmt, resolved.values[int(m.group(1))])
            i = m.end()
        elif c == ";":
            query, params = stmt.render()
            if query:
                out.append((query, params))
            stmt = _Statement()
            i += 1
        elif c == "\\" and not "".join(t for t, _ in stmt.pieces).strip():
            raise Unsupported("psql meta-commands (\\dt, \\x …) are not run by opsbook; write SQL")
        else:
            j = i + 1
            while j < n and template[j] not in "'\";-/$\x00\\":
                j += 1
            stmt.text(template[i:j])
            i = j
    query, params = stmt.render()
    if query:
        out.append((query, params))
    return out
