"""Data in, data out: the context a step runs in, the blocks it shows and the result it returns.

Everything here is a frozen dataclass (thread-safe, hashable where it can be) with
``to_dict``/``from_dict`` so results can be stored as JSON and rendered by web, notify and
postmortem alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import SecretStr

from opsbook.core.errors import InputError
from opsbook.core.settings import DEFAULT_STEP_PATH
from opsbook.runbooks.models import Step

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
Status = Literal["ok", "failed", "error", "timeout", "unavailable"]
STATUSES: tuple[Status, ...] = ("ok", "failed", "error", "timeout", "unavailable")


@dataclass(frozen=True)
class TextBlock:
    """Plain text output (a command's stdout, a status message)."""

    text: str
    kind: Literal["text"] = "text"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class TableBlock:
    """Rows of strings under named columns; ``truncated`` when rows were left off."""

    columns: list[str]
    rows: list[list[str]]
    truncated: bool = False
    kind: Literal["table"] = "table"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "truncated": self.truncated,
        }


@dataclass(frozen=True)
class CodeBlock:
    """Preformatted text in a language (a JSON body, a response dump)."""

    text: str
    language: str = ""
    kind: Literal["code"] = "code"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "language": self.language}


@dataclass(frozen=True)
class ChartBlock:
    """Time series for a small chart: ``series`` = [{"name": str, "points": [[ts, value], …]}]."""

    title: str
    series: list[dict[str, Any]]
    kind: Literal["chart"] = "chart"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "series": [
                {"name": s["name"], "points": [list(p) for p in s["points"]]} for s in self.series
            ],
        }


Block = TextBlock | TableBlock | CodeBlock | ChartBlock


def block_from_dict(data: Mapping[str, Any]) -> Block:
    """Rebuild a block stored with ``to_dict``; raises InputError for an unknown kind."""
    kind = data.get("kind")
    if kind == "text":
        return TextBlock(str(data["text"]))
    if kind == "table":
        return TableBlock(
            [str(c) for c in data["columns"]],
            [[str(v) for v in row] for row in data["rows"]],
            bool(data.get("truncated", False)),
        )
    if kind == "code":
        return CodeBlock(str(data["text"]), str(data.get("language", "")))
    if kind == "chart":
        return ChartBlock(str(data["title"]), [dict(s) for s in data["series"]])
    raise InputError(f"unknown block kind {kind!r}: expected text, table, code or chart")


@dataclass(frozen=True)
class StepResult:
    """What running one step gave: status, a one-line summary for the timeline, typed blocks,
    whether trying again may help, and the command as run (secrets masked)."""

    status: Status
    summary: str
    duration_ms: float = 0.0
    blocks: tuple[Block, ...] = ()
    retryable: bool = False
    command: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "summary": self.summary,
            "duration_ms": round(self.duration_ms, 3),
            "blocks": [b.to_dict() for b in self.blocks],
            "retryable": self.retryable,
            "command": self.command,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepResult:
        status = data.get("status")
        if status not in STATUSES:
            raise InputError(f"unknown step status {status!r}: expected one of {STATUSES}")
        return cls(
            status=status,
            summary=str(data.get("summary", "")),
            duration_ms=float(data.get("duration_ms", 0.0)),
            blocks=tuple(block_from_dict(b) for b in data.get("blocks", ())),
            retryable=bool(data.get("retryable", False)),
            command=str(data.get("command", "")),
        )


Source = Literal["config", "request"]


@dataclass(frozen=True)
class ExecContext:
    """Where and how a step runs: the service's variables and secrets, allowed hosts, limits.

    ``variables`` holds the config's values and, for the names in ``request_variables``, values
    a person gave with the run request: those are data (argv elements, SQL/Cypher parameters,
    URL paths), never a connection target, an allowed host or an unnamed environment variable.
    """

    variables: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretStr] = field(default_factory=dict)
    allowed_hosts: frozenset[str] = frozenset()
    """Hosts (``name``, ``name:port``, IP or CIDR) steps may reach besides those named in the
    config's variables and secrets; see :mod:`opsbook.executors.ssrf`."""
    timeout: float = 30.0
    workdir: str | None = None
    output_limit: int = 64_000
    kube_context: str | None = None
    namespace: str | None = None
    allow_private_hosts: bool = False
    """Loopback, private and reserved addresses allowed without being named (``opsbook run`` on
    a person's own machine); cloud-metadata addresses never are."""
    request_variables: frozenset[str] = frozenset()
    """Keys of ``variables`` whose values came from a run request, not from the config."""
    step_path: str = DEFAULT_STEP_PATH
    """PATH of a step's process (server settings), never the server's own PATH."""

    def _key(self, name: str) -> str | None:
        for key in _candidates(name):
            if key in self.variables or key in self.secrets:
                return key
        return None

    def lookup(self, name: str) -> str | None:
        """The value of a variable or secret, trying the name as written, then as
        UPPER_SNAKE (``<pod-name>`` → ``POD_NAME``)."""
        key = self._key(name)
        if key is None:
            return None
        if key in self.variables:
            return self.variables[key]
        return self.secrets[key].get_secret_value()

    def is_secret(self, name: str) -> bool:
        key = self._key(name)
        return key is not None and key not in self.variables

    def source(self, name: str) -> Source | None:
        """Where the value of ``name`` comes from: the config, a request, or nowhere."""
        key = self._key(name)
        if key is None:
            return None
        return "request" if key in self.variables and key in self.request_variables else "config"

    def secret_values(self) -> list[str]:
        return [s.get_secret_value() for s in self.secrets.values()]

    def config_values(self) -> list[str]:
        """Every value the config gave (variables and secrets), none a request gave."""
        own = [v for k, v in self.variables.items() if k not in self.request_variables]
        return own + self.secret_values()


def canonical_name(name: str) -> str:
    """The identifier a placeholder is known by: ``POD_NAME`` for ``<pod-name>``."""
    return name if _IDENT.fullmatch(name) else _candidates(name)[-1]


def _candidates(name: str) -> list[str]:
    snake = "".join(c if c.isalnum() else "_" for c in name).upper()
    return [name] if snake == name else [name, snake]


class MissingVariables(InputError):
    """A step needs variables that neither the variables nor the secrets define."""

    title = "missing variables"

    def __init__(self, names: list[str]) -> None:
        listed = ", ".join(names)
        super().__init__(
            f"missing variable{'s' if len(names) > 1 else ''}: {listed}; define "
            f"{'them' if len(names) > 1 else 'it'} in the service's variables or secrets "
            f"(or pass --var NAME=VALUE to `opsbook run`)"
        )
        self.names = list(names)


SLOT = re.compile(r"\x00(\d+)\x00")
MASK = "******"


def slot(index: int) -> str:
    """The marker standing for variable value ``index`` in ``Resolved.template``."""
    return f"\x00{index}\x00"


@dataclass(frozen=True)
class Resolved:
    """A step's command with its variables: ``text`` to run, ``display`` with secrets masked.

    ``template`` is the command with each variable replaced by a marker (``slot(i)``) so an
    executor can split the command first and put each value into exactly one argv element,
    SQL parameter or Cypher parameter afterwards: values are never re-parsed.
    """

    text: str
    display: str
    template: str
    values: tuple[str, ...] = ()
    secret: tuple[bool, ...] = ()
    names: tuple[str, ...] = ()

    def fill(self, fragment: str) -> str:
        """A piece of the template with the real values put back."""
        return SLOT.sub(lambda m: self.values[int(m.group(1))], fragment)

    def fill_display(self, fragment: str) -> str:
        """A piece of the template with values put back, secrets as ``******``."""
        return SLOT.sub(
            lambda m: MASK if self.secret[int(m.group(1))] else self.values[int(m.group(1))],
            fragment,
        )

    @staticmethod
    def slots(fragment: str) -> list[int]:
        """Indexes of the values used in a piece of the template."""
        return [int(m.group(1)) for m in SLOT.finditer(fragment)]


class Executor(Protocol):
    """Runs one kind of step. ``run`` gets the step already resolved and must not raise."""

    kind: str

    def run(self, step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult: ...
