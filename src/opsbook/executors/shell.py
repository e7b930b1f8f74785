"""The shell executor: argv lists only, never ``shell=True``.

The command is split *before* variables are put in, so each value is exactly one argv element
whatever it contains. Pipelines run as a chain of ``Popen`` in one new process group, killed as a
whole on timeout; ``&&``/``;`` lists stop at the first failure; ``||`` runs on failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from opsbook.executors.common import (
    Command,
    Unsupported,
    cap,
    now,
    one_line,
    result,
    split_commands,
    unavailable,
)
from opsbook.executors.environment import build_env, connection_setting, denied, scratch_home
from opsbook.executors.models import Block, CodeBlock, ExecContext, Resolved, StepResult, TextBlock
from opsbook.runbooks.models import Step

__all__ = ["ShellExecutor", "Stage", "build_env", "plan", "run_plan", "run_resolved"]

_CONTROL = {"for", "while", "until", "if", "case", "function", "select", "{", "(", "[[", "exec"}
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_ENV_REF = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")
_GLOB = re.compile(r"[*?\[]")
_ENV_SETTERS = {"env", "sudo", "doas"}


@dataclass
class Stage:
    """One process of a pipeline."""

    argv: list[str]
    shown: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stdin_text: str | None = None
    merge_stderr: bool = False
    discard_stdout: bool = False
    discard_stderr: bool = False
    cd: str | None = None
    template: list[str] = field(default_factory=list)
    """``argv`` as the runbook wrote it, values still as markers (who gave which value)."""


Plan = list[tuple[str, list[Stage]]]
"""(operator before, pipeline) in order: operator is "", "&&", "||" or ";"."""


def _expand_word(
    template: str, word: str, quoted: bool, env: dict[str, str], cwd: str
) -> list[str]:
    """Shell-like expansion of what the *runbook* wrote (``$HOME``, ``~``, globs), never of a
    variable value: words holding a value are taken as they are."""
    if Resolved.slots(template):
        return [word]
    word = _ENV_REF.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), word)
    if quoted:
        return [word]
    if word == "~" or word.startswith("~/"):
        word = env.get("HOME", "~") + word[1:]
    if _GLOB.search(word):
        matches = sorted(glob.glob(word, root_dir=cwd))
        if matches:
            return matches
    return [word]


_Taint = tuple[Resolved, "ExecContext | None"]
"""The resolved line and its context: which values came from a request."""


def _from_request(template: str, resolved: Resolved, ctx: ExecContext | None) -> list[str]:
    """Names of request-given variables whose values are in this piece of the template."""
    if ctx is None:
        return []
    names = (resolved.names[i] for i in Resolved.slots(template) if i < len(resolved.names))
    return [n for n in dict.fromkeys(names) if ctx.source(n) == "request"]


def _check_assignment(name: str, name_template: str, value_template: str, taint: _Taint) -> None:
    """Refuse an environment assignment opsbook must not make (see environment.py)."""
    resolved, ctx = taint
    if Resolved.slots(name_template):
        raise Unsupported(
            "a variable's value cannot name an environment variable; opsbook refuses to run "
            "this step"
        )
    if denied(name):
        raise Unsupported(
            f"`{name}=…` sets a loader, interpreter or shell variable; opsbook refuses to run "
            "this step as unsafe (remove the assignment from the runbook)"
        )
    given = _from_request(value_template, resolved, ctx)
    if connection_setting(name) and given:
        raise Unsupported(
            f"{name} decides where the client connects and comes from the service's config; "
            f"{', '.join(given)} was given in the request"
        )


def _check_env_setters(argv_template: list[str], argv: list[str], taint: _Taint) -> None:
    """``env NAME=v cmd`` / ``sudo NAME=v cmd``: the same rules as an inline assignment."""
    for i, word in enumerate(argv):
        if os.path.basename(word) not in _ENV_SETTERS or i >= len(argv_template):
            continue
        for t, w in zip(argv_template[i + 1 :], argv[i + 1 :], strict=False):
            if w in ("-S", "--split-string") or w.startswith(("-S", "--split-string=")):
                raise Unsupported("`env -S` splits a string like a shell; run this step by hand")
            if w.startswith("-"):
                continue
            if "=" not in w:
                break
            name_t, _, value_t = t.partition("=") if "=" in t else (t, "", "")
            _check_assignment(w.partition("=")[0], name_t, value_t, taint)


def _stage(
    command: Command, raw: str, env: dict[str, str], cwd: str, taint: _Taint | None = None
) -> Stage:
    words, shown, template, quoted = command.words, command.shown, command.template, command.quoted
    taint = taint or (Resolved("", "", ""), None)
    extra: dict[str, str] = {}
    while template and _ASSIGN.match(template[0]) and len(template) > 1:
        key, _, value = words[0].partition("=")
        _check_assignment(key, template[0].partition("=")[0], template[0].partition("=")[2], taint)
        extra[key] = value
        words, shown, template, quoted = words[1:], shown[1:], template[1:], quoted[1:]
    if not words:
        raise Unsupported("a bare assignment does nothing outside a shell")
    if words[0] in _CONTROL:
        raise Unsupported(
            f"shell `{words[0]}` blocks need a shell; opsbook runs simple commands only, "
            "so run this step by hand"
        )
    stage = Stage(argv=[], shown=[], env={**env, **extra})
    argv_template: list[str] = []
    for t, w, s, q in zip(template, words, shown, quoted or [False] * len(words), strict=False):
        expanded = _expand_word(t, w, q, stage.env, cwd)
        stage.argv += expanded
        stage.shown += [s] if expanded == [w] else expanded
        argv_template += [t] if expanded == [w] else expanded
    stage.template = argv_template
    _check_env_setters(argv_template, stage.argv, taint)
    if command.heredoc is not None:
        stage.stdin_text = command.heredoc + "\n"
    for op, target in command.redirects:
        if op in (">", ">>") and target == "/dev/null":
            if re.search(r"2>>?\s*/dev/null", raw):
                stage.discard_stderr = True
            if re.search(r"(?<![2&])>>?\s*/dev/null", raw) or re.search(r"&>\s*/dev/null", raw):
                stage.discard_stdout = True
        elif op in ("<<", "<<-"):
            continue
        elif op == "<<<":
            stage.stdin_text = target + "\n"
        else:
            raise Unsupported(
                f"redirection `{op} {target}` is not run by opsbook (files are not read or "
                "written); run this step by hand"
            )
    if stage.argv[0] == "cd":
        stage.cd = stage.argv[1] if len(stage.argv) > 1 else stage.env.get("HOME", "/")
    return stage


def plan(resolved: Resolved, env: dict[str, str], cwd: str, ctx: ExecContext | None = None) -> Plan:
    """Turn a resolved command line into pipelines of argv lists; raises Unsupported (also for
    an assignment opsbook refuses to make: a hook variable, or a target given by a request)."""
    commands, subshells = split_commands(resolved)
    if subshells:
        raise Unsupported(
            "command substitution `$(…)`/backticks needs a shell; opsbook does not run it, "
            "so run this step by hand"
        )
    if not commands:
        raise Unsupported("the step has no command to run")
    merge = "2>&1" in resolved.template or "|&" in resolved.template
    out: Plan = []
    for command in commands:
        op = command.op_before
        if op in ("&", ";;"):
            raise Unsupported("background jobs (`&`) are not run by opsbook; run this step by hand")
        stage = _stage(command, resolved.template, env, cwd, (resolved, ctx))
        stage.merge_stderr = merge
        if op in ("|", "|&") and out:
            out[-1][1].append(stage)
        else:
            out.append(("" if not out else ";" if op in (";", "\n") else op, [stage]))
    return out


class _Reader(threading.Thread):
    """Drains one pipe, keeping at most ``limit`` bytes (draining the rest so nothing blocks)."""

    def __init__(self, pipe: object, limit: int) -> None:
        super().__init__(daemon=True)
        self.pipe = pipe
        self.limit = limit
        self.data = bytearray()
        self.cut = False

    def run(self) -> None:
        read = self.pipe.read  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, ValueError):
            while chunk := read(65536):
                room = self.limit - len(self.data)
                if room > 0:
                    self.data += chunk[:room]
                if len(chunk) > room:
                    self.cut = True

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@dataclass
class PipelineOutcome:
    """How one pipeline ended."""

    rc: int
    stdout: str
    stderr: str
    timed_out: bool
    cut: bool
    missing: str | None = None


def run_pipeline(stages: list[Stage], cwd: str, deadline: float, limit: int) -> PipelineOutcome:
    """Run ``stages`` connected by pipes in one new process group (every stage joins the
    first one's group); SIGKILL the whole group at the deadline."""
    procs: list[subprocess.Popen[bytes]] = []
    readers: list[_Reader] = []
    err_readers: list[_Reader] = []
    pgid = 0
    prev = None
    try:
        for i, st in enumerate(stages):
            last = i == len(stages) - 1
            stdin = (
                prev
                if prev is not None
                else (subprocess.PIPE if st.stdin_text else subprocess.DEVNULL)
            )
            stdout = subprocess.DEVNULL if (st.discard_stdout and last) else subprocess.PIPE
            stderr = (
                subprocess.STDOUT if st.merge_stderr
                else subprocess.DEVNULL if st.discard_stderr
                else subprocess.PIPE
            )  # fmt: skip
            try:
                proc = subprocess.Popen(  # noqa: S603 - an argv list, values never re-parsed
                    st.argv,
                    stdin=stdin,
                    stdout=stdout,
                    stderr=stderr,
                    cwd=cwd,
                    env=st.env,
                    close_fds=True,
                    process_group=pgid,  # 0 = a new group led by the first process
                )
            except FileNotFoundError:
                return PipelineOutcome(127, "", "", False, False, missing=st.argv[0])
            if i == 0:
                pgid = proc.pid
            procs.append(proc)
            if prev is not None:
                prev.close()
            if st.stdin_text and proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.write(st.stdin_text.encode())
                    proc.stdin.close()
            if proc.stderr is not None:
                err_readers.append(_Reader(proc.stderr, limit))
            prev = proc.stdout if not last else None
            if last and proc.stdout is not None:
                readers.append(_Reader(proc.stdout, limit))
        for r in (*readers, *err_readers):
            r.start()
        timed_out = False
        for proc in procs:
            remaining = deadline - time.monotonic()
            try:
                proc.wait(timeout=max(remaining, 0.0))
            except subprocess.TimeoutExpired:
                timed_out = True
                break
    finally:
        if pgid:
            _kill_group(pgid)  # on timeout, and any stragglers the commands left behind
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
    for r in (*readers, *err_readers):
        r.join(timeout=1.0)
    rc = procs[-1].returncode if procs else 127
    return PipelineOutcome(
        rc=rc if rc is not None else -9,
        stdout="".join(r.text() for r in readers),
        stderr="".join(r.text() for r in err_readers),
        timed_out=timed_out,
        cut=any(r.cut for r in (*readers, *err_readers)),
    )


def run_plan(the_plan: Plan, ctx: ExecContext, command: str) -> StepResult:
    """Run pipelines in order with ``&&``/``;``/``||`` semantics under one overall timeout."""
    start = now()
    deadline = time.monotonic() + ctx.timeout
    cwd = ctx.workdir or os.getcwd()
    outputs: list[str] = []
    errors: list[str] = []
    last: PipelineOutcome | None = None
    for op, stages in the_plan:
        if last is not None:
            failed = last.rc != 0
            if (op in ("&&", ";") and failed) or (op == "||" and not failed):
                break
        if len(stages) == 1 and stages[0].cd is not None:
            target = os.path.join(cwd, os.path.expanduser(stages[0].cd))
            if not os.path.isdir(target):
                last = PipelineOutcome(
                    1, "", f"cd: {stages[0].cd}: no such directory", False, False
                )
                errors.append(last.stderr)
                continue
            cwd = target
            last = PipelineOutcome(0, "", "", False, False)
            continue
        last = run_pipeline(stages, cwd, deadline, ctx.output_limit)
        if last.missing:
            prog = os.path.basename(last.missing)
            return unavailable(
                f"{prog} is not installed on this host; install it or run this step by hand",
                start,
                command,
            )
        outputs.append(last.stdout)
        if last.stderr:
            errors.append(last.stderr)
        if last.timed_out:
            break
    stdout, _ = cap("".join(outputs), ctx.output_limit)
    stderr, _ = cap("".join(errors), ctx.output_limit)
    blocks: list[Block] = []
    if stdout:
        blocks.append(CodeBlock(stdout.rstrip("\n"), "text"))
    if stderr:
        blocks.append(TextBlock("stderr:\n" + stderr.rstrip("\n")))
    if last is None:
        return result("ok", "nothing to run", start, command=command)
    if last.timed_out:
        return result(
            "timeout",
            f"timed out after {ctx.timeout:g} s; the whole process group was killed",
            start,
            blocks=blocks,
            retryable=True,
            command=command,
        )
    if last.rc != 0:
        why = one_line(last.stderr) or one_line(last.stdout)
        return result(
            "failed",
            f"exit {last.rc}" + (f": {why}" if why else ""),
            start,
            blocks=blocks,
            command=command,
        )
    return result(
        "ok", one_line(stdout) or "exit 0 (no output)", start, blocks=blocks, command=command
    )


def run_resolved(step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult:
    """Plan and run a resolved shell line in a scratch HOME; Unsupported becomes an
    ``unavailable`` result."""
    start = now()
    with scratch_home() as scratch:
        env = build_env(step, resolved, ctx, scratch)
        try:
            the_plan = plan(resolved, env, ctx.workdir or os.getcwd(), ctx)
        except Unsupported as exc:
            return unavailable(str(exc), start, resolved.display)
        return run_plan(the_plan, ctx, resolved.display)


class ShellExecutor:
    """Plain shell command lines, run as argv lists."""

    kind = "shell"

    def run(self, step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult:
        return run_resolved(step, resolved, ctx)


def which(program: str) -> str | None:
    return shutil.which(program)
