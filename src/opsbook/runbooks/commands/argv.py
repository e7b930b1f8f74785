"""Reading command-line arguments: positionals, flags and their values, redirections, and
the inner command of a wrapper (``kubectl exec``, ``docker exec``)."""

from __future__ import annotations

from typing import NamedTuple

from opsbook.runbooks.safety import Verdict, mut, unk
from opsbook.runbooks.shellwords import SimpleCommand


def words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(text.split())


class Part(NamedTuple):
    """What one simple command is: kind, inner kind (for wrappers) and safety verdict."""

    kind: str
    inner_kind: str | None
    verdict: Verdict


def positionals(args: list[str], with_arg: frozenset[str]) -> list[str]:
    """Positional words of an argument list, skipping options (and the values of ``with_arg``
    options). Stops at ``--``."""
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--":
            break
        if a.startswith("-") and len(a) > 1:
            if a in with_arg:
                skip = True
            continue
        out.append(a)
    return out


def has_flag(args: list[str], *flags: str) -> bool:
    """True when any of the flags is present (also as ``--flag=value``)."""
    for a in args:
        if a == "--":
            return False
        for f in flags:
            if a == f or a.startswith(f + "="):
                return True
    return False


def flag_value(args: list[str], *flags: str) -> str | None:
    """The value of the first of the flags (``-X POST``, ``-XPOST``, ``--request=POST``)."""
    for i, a in enumerate(args):
        for f in flags:
            if a == f and i + 1 < len(args):
                return args[i + 1]
            if f.startswith("--") and a.startswith(f + "="):
                return a.split("=", 1)[1]
            if not f.startswith("--") and a.startswith(f) and len(a) > len(f):
                return a[len(f) :]
    return None


def dry_run(args: list[str]) -> bool:
    """True when a ``--dry-run`` flag (other than ``--dry-run=none``) is present."""
    return any(
        a == "--dry-run" or (a.startswith("--dry-run=") and a != "--dry-run=none") for a in args
    )


def output_redirects(cmd: SimpleCommand) -> Verdict | None:
    """A verdict for ``> file`` / ``>> file`` redirections (writing a local file), if any."""
    for op, target in cmd.redirects:
        if op in (">", ">>", "<>") and target not in ("/dev/null", "/dev/stdout", "/dev/stderr"):
            return mut(f"writes output to the local file {target}")
    return None


def input_file(cmd: SimpleCommand) -> str | None:
    """The file redirected into the command with ``<``, if any."""
    for op, target in cmd.redirects:
        if op == "<":
            return target
    return None


def positionals_until_command(args: list[str], with_arg: frozenset[str]) -> list[str]:
    """Positionals of ``exec``/``run``-style arguments: options stop at the first positional
    (the container); everything after it is the command, options included."""
    out: list[str] = []
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == "--":
            continue
        if a.startswith("-") and len(a) > 1:
            if a in with_arg:
                skip = True
            continue
        out.append(a)
        out.extend(args[i + 1 :])
        break
    return out


SHELLS = frozenset(
    {
        "sh",
        "bash",
        "zsh",
        "ash",
        "dash",
        "ksh",
        "/bin/sh",
        "/bin/bash",
        "/bin/zsh",
        "/bin/ash",
        "/usr/bin/bash",
        "/usr/bin/env",
    }
)


def run_inner(
    words: list[str],
    wrapper: str,
    kind: str,
    outer: SimpleCommand | None = None,
    piped: bool = False,
) -> Part:
    """A wrapper (kubectl exec, docker exec) running ``words``: its safety is the inner one.
    Input redirections, heredocs and pipes of the wrapper feed the inner command."""
    if not words:
        return Part(kind, None, unk(f"{wrapper} without a command"))
    if (
        words[0] in SHELLS
        and "-c" not in words
        and len(words) <= 2
        and outer is not None
        and (not outer.heredoc and not piped and not input_file(outer))
    ):
        return Part(kind, "shell", unk(f"{wrapper} opens an interactive shell"))
    inner_cmd = SimpleCommand(words=list(words), quoted=[False] * len(words))
    if outer is not None:
        inner_cmd.redirects = [r for r in outer.redirects if r[0] in ("<", "<<", "<<-", "<<<")]
        inner_cmd.heredoc = outer.heredoc
    from opsbook.runbooks.commands.dispatch import simple_command

    part = simple_command(inner_cmd, piped=piped)
    v = part.verdict
    return Part(kind, part.kind, Verdict(v.safety, f"{wrapper} runs {part.kind}: {v.reason}"))
