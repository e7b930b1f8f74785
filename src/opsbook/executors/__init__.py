"""Executors: run one runbook step against the real system it talks about, and return data.

Pure data in, data out, synchronous and thread-safe (no shared mutable state):

    resolve(step, ctx)  -> Resolved      variables put in; MissingVariables lists every missing one
    execute(step, ctx)  -> StepResult    never raises for a failing command (only MissingVariables)
    dry_run(step, ctx)  -> str           the resolved command, secrets masked, nothing run
    redact(text, secrets) -> str         every secret value (and URL-encoded form) → ******

One module per kind (http, postgres, redis, cypher, promql, shell, binary for kubectl/docker);
``REGISTRY`` maps a step kind to its executor.
"""

from __future__ import annotations

import re

from opsbook.executors.binary import docker_executor, kubectl_executor
from opsbook.executors.common import now, result, unavailable
from opsbook.executors.cypher import CypherExecutor
from opsbook.executors.http import HttpExecutor, check_http
from opsbook.executors.models import (
    Block,
    ChartBlock,
    CodeBlock,
    ExecContext,
    Executor,
    MissingVariables,
    Resolved,
    StepResult,
    TableBlock,
    TextBlock,
    block_from_dict,
)
from opsbook.executors.postgres import PostgresExecutor
from opsbook.executors.promql import PromqlExecutor
from opsbook.executors.redact import mask_url_passwords, redact, redact_result, redact_values
from opsbook.executors.redis import RedisExecutor
from opsbook.executors.resolve import resolve
from opsbook.executors.shell import ShellExecutor
from opsbook.runbooks.models import Step

__all__ = [
    "REGISTRY",
    "Block",
    "ChartBlock",
    "CodeBlock",
    "ExecContext",
    "Executor",
    "MissingVariables",
    "Resolved",
    "StepResult",
    "TableBlock",
    "TextBlock",
    "block_from_dict",
    "check_http",
    "dry_run",
    "execute",
    "redact",
    "resolve",
]

REGISTRY: dict[str, Executor] = {
    "http": HttpExecutor(),
    "sql": PostgresExecutor(),
    "redis": RedisExecutor(),
    "cypher": CypherExecutor(),
    "promql": PromqlExecutor(),
    "shell": ShellExecutor(),
    "kubectl": kubectl_executor(),
    "docker": docker_executor(),
}


_PYTHON_COMMAND = re.compile(r"^\s*(?:\S*/)?python[0-9.]*\s+(?!<<)\S")


def _secret_values(ctx: ExecContext, resolved: Resolved | None) -> list[str]:
    values = ctx.secret_values()
    if resolved is not None:
        values += [v for v, s in zip(resolved.values, resolved.secret, strict=True) if s]
    return values


def dry_run(step: Step, ctx: ExecContext) -> str:
    """The fully resolved command with secrets (and URL passwords) masked; nothing runs.
    Raises MissingVariables like :func:`resolve`."""
    resolved = resolve(step, ctx)
    return mask_url_passwords(redact_values(resolved.display, _secret_values(ctx, resolved)))


def execute(step: Step, ctx: ExecContext) -> StepResult:
    """Run one step and return its result, every string redacted.

    A failing command is a result (failed/error/timeout/unavailable, with ``retryable``), never
    an exception. Raises only :class:`MissingVariables` (ask for them, then call again).
    """
    start = now()
    if not step.executable:
        return result(
            "unavailable", "this step is an instruction, not a command: nothing to run", start
        )
    resolved = resolve(step, ctx)
    executor = REGISTRY.get(step.kind)
    if step.kind == "python" and _PYTHON_COMMAND.match(step.text):
        executor = REGISTRY["shell"]  # `python3 script.py …` is a command line, not source code
    if executor is None:
        res = unavailable(
            f"{step.kind} steps are not run by opsbook; run this step by hand",
            start,
            resolved.display,
        )
    else:
        try:
            res = executor.run(step, resolved, ctx)
        except Exception as exc:  # noqa: BLE001 - the contract: a result, never an exception
            res = result(
                "error",
                f"the {step.kind} executor failed unexpectedly ({type(exc).__name__}: {exc}); "
                "please report this",
                start,
                command=resolved.display,
            )
    return redact_result(res, _secret_values(ctx, resolved))
