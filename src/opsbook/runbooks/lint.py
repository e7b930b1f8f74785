"""Review runbooks the way a reviewer would, with ``file:line`` findings.

Codes (severity):
- ``no-steps`` (error): a section bound to an alert has no steps at all, and no other section
  for that alert has any (a row of an alert table that links to a runbook elsewhere is fine).
- ``unknown-kind`` (warning): a code block in a language that cannot be read as a command.
- ``unknown-safety`` (warning): a command whose safety cannot be told (treated as destructive).
- ``interactive-step`` (warning): a command that never ends or needs a terminal (``tail -f``,
  ``kubectl exec -it``); it is never run automatically and a run request is refused.
- ``destructive-without-warning`` (error): a destructive step with no warning word
  (warning, caution, danger, careful, ⚠ …) in its title or the few lines above it.
- ``duplicate-alert`` (error): one alert name bound by two sections with steps (a summary
  table row without steps does not count).
- ``undefined-variable`` (warning): a variable that no service defines (needs known_variables).
- ``alert-without-runbook`` (error): an alert of the Prometheus rules with no section.
- ``read-error`` (error): the file could not be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import yaml

from opsbook.runbooks.match import heading_key
from opsbook.runbooks.models import Runbook
from opsbook.runbooks.names import normalize_key

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    """One lint finding, printable as ``path:line: severity code: message``."""

    path: str
    line: int
    severity: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity} {self.code}: {self.message}"


def alerts_from_rules_yaml(text: str) -> list[str]:
    """Alert names in Prometheus rule files (``groups[].rules[].alert``), also inside a
    PrometheusRule resource (``spec.groups``) and multi-document YAML. Bad YAML gives []."""
    names: list[str] = []
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return names
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        spec = doc.get("spec")
        groups = doc.get("groups") or (spec.get("groups") if isinstance(spec, dict) else None)
        if not isinstance(groups, list):
            continue
        for group in groups:
            rules = group.get("rules") if isinstance(group, dict) else None
            for rule in rules if isinstance(rules, list) else []:
                name = rule.get("alert") if isinstance(rule, dict) else None
                if isinstance(name, str) and name and name not in names:
                    names.append(name)
    return names


def _step_findings(
    rb: Runbook, known_variables: set[str] | None, with_steps: set[str]
) -> list[Finding]:
    out: list[Finding] = []
    for section in rb.sections:
        if (
            section.alerts
            and not section.steps
            and not section.runbook_url  # a generated alert table linking to its runbook
            and not set(section.alerts) <= with_steps
        ):
            out.append(
                Finding(
                    rb.path,
                    section.line,
                    ERROR,
                    "no-steps",
                    f"section '{section.heading}' for alert "
                    f"{', '.join(section.alerts)} has no steps",
                )
            )
        for step in section.steps:
            if not step.executable and step.reason.startswith("unknown fence language"):
                out.append(Finding(rb.path, step.line, WARNING, "unknown-kind", step.reason))
            if not step.executable:
                continue
            if step.safety == "unknown":
                out.append(
                    Finding(
                        rb.path,
                        step.line,
                        WARNING,
                        "unknown-safety",
                        f"cannot tell what `{_short(step.text)}` does "
                        f"({step.reason}); it will be treated as destructive",
                    )
                )
            if step.interactive:
                out.append(
                    Finding(
                        rb.path,
                        step.line,
                        WARNING,
                        "interactive-step",
                        f"`{_short(step.text)}` {step.interactive_reason}; it is never run "
                        "automatically"
                        + (
                            f" and a run request runs `{_short(step.bounded)}`"
                            if step.bounded
                            else " and cannot be run from opsbook (bound it, e.g. with "
                            "--tail/-n/timeout, to let it run)"
                        ),
                    )
                )
            if step.safety == "destructive" and not step.warned:
                out.append(
                    Finding(
                        rb.path,
                        step.line,
                        ERROR,
                        "destructive-without-warning",
                        f"destructive step `{_short(step.text)}` ({step.reason}) "
                        "has no warning near it",
                    )
                )
            if known_variables is not None:
                for var in step.variables:
                    if var not in known_variables:
                        out.append(
                            Finding(
                                rb.path,
                                step.line,
                                WARNING,
                                "undefined-variable",
                                f"variable {var} is defined by no service",
                            )
                        )
    return out


def _short(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    return first if len(first) <= 60 else first[:57] + "…"


def lint(
    runbooks: Iterable[Runbook],
    known_variables: set[str] | None = None,
    rule_alerts: list[str] | None = None,
    *,
    rules_path: str = "rules",
) -> list[Finding]:
    """All findings for the runbooks, sorted by file and line."""
    books = list(runbooks)
    out: list[Finding] = []
    bound: dict[str, tuple[str, int]] = {}
    # an alert listed in a summary table (no steps) and written up elsewhere is fine: only
    # sections with steps count as bindings for duplicates, and the write-up answers no-steps
    with_steps = {a for rb in books for s in rb.sections if s.steps for a in s.alerts}
    for rb in books:
        out.extend(Finding(rb.path, 1, ERROR, "read-error", e) for e in rb.errors)
        out.extend(_step_findings(rb, known_variables, with_steps))
        for section in rb.sections:
            for alert in section.alerts if section.steps else ():
                if alert in bound and bound[alert] != (rb.path, section.line):
                    first_path, first_line = bound[alert]
                    out.append(
                        Finding(
                            rb.path,
                            section.line,
                            ERROR,
                            "duplicate-alert",
                            f"alert {alert} is also bound at {first_path}:{first_line}",
                        )
                    )
                else:
                    bound.setdefault(alert, (rb.path, section.line))
    if rule_alerts:
        every = {a for rb in books for s in rb.sections for a in s.alerts}
        keys = {normalize_key(a) for a in every}
        keys |= {heading_key(s.heading) for rb in books for s in rb.sections}
        for alert in rule_alerts:
            if alert not in every and normalize_key(alert) not in keys:
                out.append(
                    Finding(
                        rules_path,
                        0,
                        ERROR,
                        "alert-without-runbook",
                        f"alert {alert} has no runbook section",
                    )
                )
    return sorted(out)
