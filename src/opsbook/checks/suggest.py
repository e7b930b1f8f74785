"""``opsbook checks suggest RUNBOOK``: propose checks from what a runbook already checks by hand.

Pure: a parsed Runbook in, check dicts (the ``services[].checks`` YAML shape) out. Read-only
steps that curl a health endpoint (``/health``, ``/healthz``, ``/ready``, ``/status``, ``/ping``
…) become ``http`` checks; ``redis-cli … ping`` becomes a ``redis`` check; ``pg_isready`` and
``SELECT 1`` become ``postgres`` checks. ``$NAME``/``${NAME}`` become ``{{ NAME }}`` so the
service's variables fill them. The alert name is the section's bound alert where it has one.
"""

from __future__ import annotations

import re
from typing import Any

from opsbook.runbooks.models import Runbook, Section, Step

_URL = re.compile(r"""(?:https?://|\$\{?[A-Z_][A-Z0-9_]*\}?)[^\s'"|>]*""")
_HEALTH = re.compile(r"/(?:health[a-z]*|healthz|livez|readyz|ready|status|ping)\b", re.I)
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}?")
_REDIS_URL = re.compile(r"-u\s+(\S+)")


def _templated(text: str) -> str:
    return _VAR.sub(lambda m: "{{ " + m.group(1) + " }}", text.strip("'\""))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "check"


def _from_step(step: Step) -> dict[str, Any] | None:
    if not step.executable or step.safety != "read-only":
        return None
    text = step.text
    if step.kind == "http":
        for m in _URL.finditer(text):
            if _HEALTH.search(m.group(0)):
                url = _templated(m.group(0))
                return {"name": _slug(url.rsplit("/", 1)[-1] or "http"), "http": {"url": url}}
        return None
    if step.kind == "redis" and re.search(r"\bping\b", text, re.I):
        found = _REDIS_URL.search(text)
        probe = {"url": _templated(found.group(1))} if found else {}
        return {"name": "redis-ping", "redis": probe}
    if step.kind == "sql" and re.search(r"\bselect\s+1\b", text, re.I):
        return {"name": "postgres-select-1", "postgres": {}}
    if step.kind == "shell" and text.lstrip().startswith("pg_isready"):
        return {"name": "postgres-ready", "postgres": {}}
    return None


def suggest(runbook: Runbook) -> list[dict[str, Any]]:
    """Proposed checks, one per distinct probe, each with ``every``, ``for``, ``alert`` and
    ``severity`` defaults taken from its section."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for section in runbook.sections:
        for step in section.steps:
            check = _from_step(step)
            if check is None:
                continue
            probe_key = repr({k: v for k, v in check.items() if k != "name"})
            if probe_key in seen:
                continue
            seen.add(probe_key)
            out.append({**check, **_defaults(section), "source": f"{runbook.path}:{step.line}"})
    names: dict[str, int] = {}
    for check in out:
        n = names[check["name"]] = names.get(check["name"], 0) + 1
        if n > 1:
            check["name"] = f"{check['name']}-{n}"
    return out


def _defaults(section: Section) -> dict[str, Any]:
    out: dict[str, Any] = {"every": "30s", "for": "2m"}
    if section.alerts and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", section.alerts[0]):
        out["alert"] = section.alerts[0]
    if section.severity_normalized in ("P0", "P1", "P2", "P3"):
        out["severity"] = section.severity_normalized
    return out
