"""Small helpers every executor shares: timing, capping output, splitting a resolved command."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from opsbook.executors.models import Block, Resolved, Status, StepResult, TextBlock
from opsbook.runbooks.shellwords import tokenize


class Unsupported(Exception):
    """The command uses something this executor does not run; the message says what to do."""


@dataclass
class Command:
    """One simple command of a resolved line: template words (with value markers), real words,
    shown words (secrets masked), redirections and the operator before it."""

    template: list[str]
    words: list[str]
    shown: list[str]
    redirects: list[tuple[str, str]] = field(default_factory=list)
    op_before: str = ""
    quoted: list[bool] = field(default_factory=list)
    heredoc: str | None = None


def split_commands(resolved: Resolved) -> tuple[list[Command], list[str]]:
    """Split the *template* first, then put values in, so a value is always one whole word."""
    parsed = tokenize(resolved.template)
    out = []
    for c in parsed.commands:
        out.append(
            Command(
                template=list(c.words),
                words=[resolved.fill(w) for w in c.words],
                shown=[resolved.fill_display(w) for w in c.words],
                redirects=[(op, resolved.fill(t)) for op, t in c.redirects],
                op_before=c.op_before,
                quoted=list(c.quoted),
                heredoc=resolved.fill(c.heredoc) if c.heredoc is not None else None,
            )
        )
    return out, list(parsed.subshells)


def first_command(resolved: Resolved) -> tuple[Command, list[Block]]:
    """The first simple command, plus a note block when the line has more (``| jq .``) that a
    client executor does not run."""
    commands, _ = split_commands(resolved)
    if not commands:
        raise Unsupported("the step has no command to run")
    notes: list[Block] = []
    if len(commands) > 1:
        rest = " ".join(" ".join(c.shown) for c in commands[1:])
        notes.append(TextBlock(f"note: only the first command ran; not run: {rest}"))
    return commands[0], notes


def now() -> float:
    return time.monotonic()


def since_ms(start: float) -> float:
    return (time.monotonic() - start) * 1000.0


def cap(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + f"\n… (output cut at {limit} characters)", True


def one_line(text: str, width: int = 200) -> str:
    """The first non-empty line of ``text``, shortened for a timeline summary."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""


def result(
    status: Status,
    summary: str,
    start: float,
    *,
    blocks: Sequence[Block] = (),
    retryable: bool = False,
    command: str = "",
) -> StepResult:
    return StepResult(
        status=status,
        summary=summary,
        duration_ms=since_ms(start),
        blocks=tuple(blocks),
        retryable=retryable,
        command=command,
    )


def unavailable(summary: str, start: float, command: str = "") -> StepResult:
    return result("unavailable", summary, start, command=command)


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 1 else f"{value:.1f} ms"
