"""What an approver is shown for one run request, and the hash that binds an approval to it.

A review is the exact resolved command (and its argv), every variable with where its value
comes from (``service``, ``secret`` — masked —, ``request``, ``default``), where the step will
connect, and the step's safety class and reason. ``shown_hash`` is a sha256 over a canonical
JSON of those and the run id: an approval names that hash, so it approves one request exactly
as it was seen, and a changed step, config or request no longer matches (DESIGN §6.9).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from opsbook.executors import dry_run
from opsbook.executors.common import Unsupported, split_commands
from opsbook.executors.models import MASK, ExecContext, Resolved
from opsbook.executors.redact import mask_url_passwords, redact_values
from opsbook.executors.resolve import resolve
from opsbook.executors.target import describe_target
from opsbook.runbooks.models import Step

SOURCES = ("service", "secret", "request", "default", "unset")
_QUERY_KINDS = ("sql", "promql", "cypher")
_CLIENTS = ("psql", "cypher-shell")


@dataclass(frozen=True)
class ShownVariable:
    """One variable as the approver sees it; ``used`` is False for a request value the step
    does not declare (it is shown because it reaches the run, not because it is needed)."""

    name: str
    value: str
    source: str
    used: bool = True


@dataclass(frozen=True)
class Review:
    """One run request as shown to whoever approves it (secrets masked everywhere)."""

    run_id: str
    step: int
    step_text: str
    kind: str
    command: str
    argv: list[list[str]] | None
    variables: list[ShownVariable]
    target: str
    safety: str
    reason: str

    def canonical(self) -> str:
        """The JSON the hash covers: sorted keys, no whitespace, UTF-8 kept."""
        return json.dumps(
            {
                "run_id": self.run_id,
                "step": self.step,
                "step_text": self.step_text,
                "kind": self.kind,
                "command": self.command,
                "argv": self.argv,
                "variables": [[v.name, v.source, v.value, v.used] for v in self.variables],
                "target": self.target,
                "safety": [self.safety, self.reason],
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @property
    def shown_hash(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "shown_hash": self.shown_hash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Review:
        fields = {k: v for k, v in data.items() if k != "shown_hash"}
        fields["variables"] = [ShownVariable(**v) for v in data.get("variables", [])]
        return cls(**fields)


def _candidates(name: str) -> list[str]:
    """The keys a variable is looked up by, as ``ExecContext.lookup`` does."""
    snake = "".join(c if c.isalnum() else "_" for c in name).upper()
    return [name] if snake == name else [name, snake]


def _clean(text: str, ctx: ExecContext) -> str:
    return mask_url_passwords(redact_values(text, ctx.secret_values()))


def shown_variables(
    step: Step, resolved: Resolved, ctx: ExecContext, service_names: set[str]
) -> list[ShownVariable]:
    """The step's variables with their sources, then any other value a request put in."""
    out: list[ShownVariable] = []
    used: set[str] = set()
    for name in step.variables:
        shown: ShownVariable | None = None
        for key in _candidates(name):
            if key in ctx.variables:
                source = "service" if key in service_names else "request"
                shown = ShownVariable(name, _clean(ctx.variables[key], ctx), source)
            elif key in ctx.secrets:
                shown = ShownVariable(name, MASK, "secret")
            if shown is not None:
                used.add(key)
                break
        if shown is None and name in resolved.names:
            value = resolved.values[resolved.names.index(name)]
            shown = ShownVariable(name, _clean(value, ctx), "default" if value else "unset")
        out.append(shown or ShownVariable(name, "", "unset"))
    for key in sorted(ctx.variables):
        if key not in used and key not in service_names:
            out.append(ShownVariable(key, _clean(ctx.variables[key], ctx), "request", used=False))
    return out


def _argv(step: Step, resolved: Resolved, ctx: ExecContext) -> list[list[str]] | None:
    """Each simple command's words as the process gets them (secrets masked); None for a bare
    query (SQL, PromQL, Cypher), whose text is what runs."""
    first = resolved.template.split(None, 1)[:1]
    if step.kind in _QUERY_KINDS and not (first and first[0].rsplit("/", 1)[-1] in _CLIENTS):
        return None
    try:
        commands, _ = split_commands(resolved)
    except (Unsupported, ValueError):
        return None
    return [[_clean(w, ctx) for w in c.shown] for c in commands]


def review(
    step: Step, index: int, run_id: str, ctx: ExecContext, service_names: set[str]
) -> Review:
    """The review of running ``step`` (number ``index``) with ``ctx``; raises MissingVariables."""
    resolved = resolve(step, ctx)
    return Review(
        run_id=run_id,
        step=index,
        step_text=step.text,
        kind=step.kind,
        command=dry_run(step, ctx),
        argv=_argv(step, resolved, ctx),
        variables=shown_variables(step, resolved, ctx, service_names),
        target=_clean(describe_target(step, resolved, ctx), ctx),
        safety=step.safety,
        reason=step.reason,
    )
