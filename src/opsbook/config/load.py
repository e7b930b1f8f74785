"""Read ``opsbook.yaml`` and turn every problem into a message naming file, line and field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from opsbook.config.models import Config
from opsbook.core.errors import ConfigError

Loc = tuple[str | int, ...]


def _to_python(node: yaml.Node, path: Loc, lines: dict[Loc, int]) -> Any:
    """Build plain Python data from a YAML node tree, noting the 1-based line of every path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                yaml.safe_load(yaml.serialize(key_node))
                if key_node.tag != "tag:yaml.org,2002:str"
                else key_node.value
            )
            sub = (*path, str(key))
            out[key] = _to_python(value_node, sub, lines)
            lines[sub] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return 1


def parse_config(text: str, filename: str = "opsbook.yaml") -> Config:
    """Validate config text; raises ConfigError with one ``file:line: field: problem`` per line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{filename}:{line}: not valid YAML: {problem}") from None
    if node is None:
        raise ConfigError(
            f"{filename}:1: the file is empty; expected at least `tenants: [{{name: …}}]`"
        )
    lines: dict[Loc, int] = {}
    data = _to_python(node, (), lines)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{filename}:1: expected a mapping of sections (tenants, services, routes, …)"
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
            )
            what = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                what = "unknown key (check the spelling; see opsbook.example.yaml for the accepted keys)"
            elif err["type"] == "missing":
                what = "required field is missing"
            msgs.append(f"{filename}:{_line_of(loc, lines)}: {_dotted(loc)}: {what}")
        raise ConfigError("\n".join(msgs)) from None
    problems = check_references(config)
    if problems:
        raise ConfigError(
            "\n".join(
                f"{filename}:{_line_of(loc, lines)}: {_dotted(loc)}: {msg}" for loc, msg in problems
            )
        )
    return config


class _Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tenant(self) -> str: ...


Problems = list[tuple[Loc, str]]


def _owned(
    section: str, what: str, items: Sequence[_Named], tenants: list[str], problems: Problems
) -> set[tuple[str, str]]:
    """(tenant, name) of each item; unknown tenants and duplicate names become problems."""
    known = ", ".join(tenants)
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        if item.tenant not in tenants:
            problems.append(
                (
                    (section, i, "tenant"),
                    f"unknown tenant {item.tenant!r}; expected one of: {known}",
                )
            )
        if (item.tenant, item.name) in seen:
            problems.append(
                ((section, i, "name"), f"duplicate {what} {item.name!r} in tenant {item.tenant!r}")
            )
        seen.add((item.tenant, item.name))
    return seen


def _need(
    problems: Problems,
    have: set[tuple[str, str]],
    loc: Loc,
    tenant: str | None,
    name: str,
    what: str,
) -> None:
    if (tenant, name) not in have:
        hint = "; declare it under users" if what == "user" else ""
        problems.append((loc, f"unknown {what} {name!r} in tenant {tenant!r}{hint}"))


def check_references(config: Config) -> Problems:
    """Problems that span sections: unknown tenants, services, users, schedules, policies; duplicates."""
    problems: Problems = []
    tenants = [t.name for t in config.tenants]
    for i, t in enumerate(config.tenants):
        if t.name in tenants[:i]:
            problems.append((("tenants", i, "name"), f"duplicate tenant {t.name!r}"))
    services = _owned("services", "service", config.services, tenants, problems)
    users = _owned("users", "user", config.users, tenants, problems)
    schedules = _owned("schedules", "schedule", config.schedules, tenants, problems)
    policies = _owned(
        "escalation_policies", "policy", config.escalation_policies, tenants, problems
    )
    for i, t in enumerate(config.tenants):
        if t.default_service:
            _need(
                problems,
                services,
                ("tenants", i, "default_service"),
                t.name,
                t.default_service,
                "service",
            )
    names = sorted({name for _, name in services})
    for i, r in enumerate(config.routes):
        if r.tenant is not None:
            if r.tenant not in tenants:
                problems.append(
                    (
                        ("routes", i, "tenant"),
                        f"unknown tenant {r.tenant!r}; expected one of: {', '.join(tenants)}",
                    )
                )
            _need(problems, services, ("routes", i, "service"), r.tenant, r.service, "service")
        elif r.service not in names:
            problems.append(
                (
                    ("routes", i, "service"),
                    f"unknown service {r.service!r}; expected one of: {', '.join(names) or '(none defined)'}",
                )
            )
        elif sum(1 for _, n in services if n == r.service) > 1:
            problems.append(
                (
                    ("routes", i, "tenant"),
                    f"service {r.service!r} exists in several tenants: name the tenant",
                )
            )
        owner = r.tenant or next((x.tenant for x in config.services if x.name == r.service), None)
        named = r.escalation_policy
        for pol_name in [named] if isinstance(named, str) else list((named or {}).values()):
            _need(
                problems,
                policies,
                ("routes", i, "escalation_policy"),
                owner,
                pol_name,
                "escalation policy",
            )
    for i, sch in enumerate(config.schedules):
        for j, layer in enumerate(sch.layers):
            for who in layer.rotation.participants:
                _need(
                    problems,
                    users,
                    ("schedules", i, "layers", j, "rotation", "participants"),
                    sch.tenant,
                    who,
                    "user",
                )
    for i, pol in enumerate(config.escalation_policies):
        for j, level in enumerate(pol.steps):
            loc: Loc = ("escalation_policies", i, "steps", j, "notify")
            for sch_name in sorted(
                {x for x in (level.notify.schedule, level.notify.schedule_all) if x}
            ):
                _need(problems, schedules, loc, pol.tenant, sch_name, "schedule")
            for who in level.notify.users:
                _need(problems, users, (*loc, "users"), pol.tenant, who, "user")
    for i, svc in enumerate(config.services):
        if svc.escalation_policy:
            _need(
                problems,
                policies,
                ("services", i, "escalation_policy"),
                svc.tenant,
                svc.escalation_policy,
                "escalation policy",
            )
    return problems


def load_config(path: str | Path) -> Config:
    """Read and validate the config file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: no such file; copy opsbook.example.yaml there or pass --config PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    return parse_config(text, str(p))
