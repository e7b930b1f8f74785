"""Read ``opsbook.yaml`` and turn every problem into a message naming file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def check_references(config: Config) -> list[tuple[Loc, str]]:
    """Problems that span sections: unknown tenants and services, duplicate names."""
    problems: list[tuple[Loc, str]] = []
    tenants = [t.name for t in config.tenants]
    known = ", ".join(tenants)
    seen: set[str] = set()
    for i, t in enumerate(config.tenants):
        if t.name in seen:
            problems.append((("tenants", i, "name"), f"duplicate tenant {t.name!r}"))
        seen.add(t.name)
    services: set[tuple[str, str]] = set()
    for i, s in enumerate(config.services):
        if s.tenant not in tenants:
            problems.append(
                (
                    ("services", i, "tenant"),
                    f"unknown tenant {s.tenant!r}; expected one of: {known}",
                )
            )
        if (s.tenant, s.name) in services:
            problems.append(
                (("services", i, "name"), f"duplicate service {s.name!r} in tenant {s.tenant!r}")
            )
        services.add((s.tenant, s.name))
    for i, t in enumerate(config.tenants):
        if t.default_service and (t.name, t.default_service) not in services:
            problems.append(
                (
                    ("tenants", i, "default_service"),
                    f"unknown service {t.default_service!r} in tenant {t.name!r}",
                )
            )
    names = {name for _, name in services}
    for i, r in enumerate(config.routes):
        if r.tenant is not None and r.tenant not in tenants:
            problems.append(
                (("routes", i, "tenant"), f"unknown tenant {r.tenant!r}; expected one of: {known}")
            )
        if r.tenant is not None and (r.tenant, r.service) not in services:
            problems.append(
                (("routes", i, "service"), f"unknown service {r.service!r} in tenant {r.tenant!r}")
            )
        elif r.tenant is None and r.service not in names:
            problems.append(
                (
                    ("routes", i, "service"),
                    f"unknown service {r.service!r}; expected one of: {', '.join(sorted(names)) or '(none defined)'}",
                )
            )
        elif r.tenant is None and sum(1 for _, n in services if n == r.service) > 1:
            problems.append(
                (
                    ("routes", i, "tenant"),
                    f"service {r.service!r} exists in several tenants: name the tenant",
                )
            )
    users: set[tuple[str, str]] = set()
    for i, u in enumerate(config.users):
        if u.tenant not in tenants:
            problems.append(
                (("users", i, "tenant"), f"unknown tenant {u.tenant!r}; expected one of: {known}")
            )
        if (u.tenant, u.name) in users:
            problems.append(
                (("users", i, "name"), f"duplicate user {u.name!r} in tenant {u.tenant!r}")
            )
        users.add((u.tenant, u.name))
    problems += _oncall_references(config, tenants, users)
    return problems


def _oncall_references(
    config: Config, tenants: list[str], users: set[tuple[str, str]]
) -> list[tuple[Loc, str]]:
    """Schedules, escalation policies and the users and services that name them."""
    problems: list[tuple[Loc, str]] = []
    known = ", ".join(tenants)
    names: set[tuple[str, str]] = set()
    for i, sch in enumerate(config.schedules):
        if sch.tenant not in tenants:
            problems.append(
                (
                    ("schedules", i, "tenant"),
                    f"unknown tenant {sch.tenant!r}; expected one of: {known}",
                )
            )
        if (sch.tenant, sch.name) in names:
            problems.append(
                (
                    ("schedules", i, "name"),
                    f"duplicate schedule {sch.name!r} in tenant {sch.tenant!r}",
                )
            )
        names.add((sch.tenant, sch.name))
        for j, layer in enumerate(sch.layers):
            for who in layer.rotation.participants:
                if (sch.tenant, who) not in users:
                    problems.append(
                        (
                            ("schedules", i, "layers", j, "rotation", "participants"),
                            f"unknown user {who!r} in tenant {sch.tenant!r}; declare it under users",
                        )
                    )
    policies: set[tuple[str, str]] = set()
    for i, pol in enumerate(config.escalation_policies):
        if pol.tenant not in tenants:
            problems.append(
                (
                    ("escalation_policies", i, "tenant"),
                    f"unknown tenant {pol.tenant!r}; expected one of: {known}",
                )
            )
        if (pol.tenant, pol.name) in policies:
            problems.append(
                (
                    ("escalation_policies", i, "name"),
                    f"duplicate policy {pol.name!r} in tenant {pol.tenant!r}",
                )
            )
        policies.add((pol.tenant, pol.name))
        for j, level in enumerate(pol.steps):
            for sch_name in {s for s in (level.notify.schedule, level.notify.schedule_all) if s}:
                if (pol.tenant, sch_name) not in names:
                    problems.append(
                        (
                            ("escalation_policies", i, "steps", j, "notify"),
                            f"unknown schedule {sch_name!r} in tenant {pol.tenant!r}",
                        )
                    )
            for who in level.notify.users:
                if (pol.tenant, who) not in users:
                    problems.append(
                        (
                            ("escalation_policies", i, "steps", j, "notify", "users"),
                            f"unknown user {who!r} in tenant {pol.tenant!r}; declare it under users",
                        )
                    )
    for i, route in enumerate(config.routes):
        named = route.escalation_policy
        wanted = [named] if isinstance(named, str) else list((named or {}).values())
        owner = route.tenant or next(
            (x.tenant for x in config.services if x.name == route.service), None
        )
        for pol_name in wanted:
            if (owner, pol_name) not in policies:
                problems.append(
                    (
                        ("routes", i, "escalation_policy"),
                        f"unknown escalation policy {pol_name!r} in tenant {owner!r}",
                    )
                )
    for i, svc in enumerate(config.services):
        if svc.escalation_policy and (svc.tenant, svc.escalation_policy) not in policies:
            problems.append(
                (
                    ("services", i, "escalation_policy"),
                    f"unknown escalation policy {svc.escalation_policy!r} in tenant {svc.tenant!r}",
                )
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
