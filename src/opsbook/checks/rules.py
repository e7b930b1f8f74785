"""``opsbook slo rules``: the SLOs as Prometheus recording and alerting rules.

For teams that prefer Prometheus (and Alertmanager → opsbook) to evaluate the burn-rate alerts:
the same error-ratio expressions opsbook evaluates itself (``burn.error_ratio_expr``), one
recording rule per SLO and window, and one alert per multi-window pair with the SRE workbook's
thresholds. Valid for ``promtool check rules``. Pure: config in, a dict (or YAML text) out.
"""

from __future__ import annotations

from typing import Any

import yaml

from opsbook.checks.burn import (
    budget,
    error_ratio_expr,
    prom_duration,
    range_windows,
    scaled,
    windows_of,
)
from opsbook.config.checks import Slo
from opsbook.config.models import Config, Service


def record_name(window: str) -> str:
    """The recorded series of the error ratio over ``window`` (``slo:sli_error:ratio_rate5m``)."""
    return f"slo:sli_error:ratio_rate{window}"


def _selector(service: Service, slo: Slo) -> str:
    return f'{{tenant="{service.tenant}", service="{service.name}", slo="{slo.name}"}}'


def slo_group(service: Service, slo: Slo) -> dict[str, Any]:
    """One rule group: the recording rules of every window, then the alerts."""
    ids = {"tenant": service.tenant, "service": service.name, "slo": slo.name}
    rules: list[dict[str, Any]] = []
    for d in range_windows(slo):
        w = prom_duration(d)
        rules.append(
            {"record": record_name(w), "expr": error_ratio_expr(slo, w), "labels": dict(ids)}
        )
    sel = _selector(service, slo)
    window = prom_duration(scaled(slo.window, slo.window_scale))
    remaining = (
        f"{{{{ with query `1 - {record_name(window)}{sel} / {budget(slo.objective):g}` }}}}"
        "{{ . | first | value | humanizePercentage }}{{ else }}unknown{{ end }}"
    )
    for win in windows_of(slo):
        long_w, short_w = prom_duration(win.long), prom_duration(win.short)
        threshold = f"{win.burn:g} * {budget(slo.objective):g}"
        severity = slo.page_severity if win.action == "page" else slo.ticket_severity
        rules.append(
            {
                "alert": slo.alert,
                "expr": (
                    f"{record_name(long_w)}{sel} > ({threshold})"
                    f" and {record_name(short_w)}{sel} > ({threshold})"
                ),
                "labels": {
                    **slo.labels,
                    **ids,
                    "severity": severity.value,
                    "action": win.action,
                    "long_window": long_w,
                    "short_window": short_w,
                },
                "annotations": {
                    "summary": (
                        f"{service.name} SLO {slo.name} burns its error budget "
                        f"{win.burn:g}x too fast ({long_w} and {short_w})"
                    ),
                    "objective": f"{slo.objective:g}",
                    "budget_remaining": remaining,
                },
            }
        )
    return {"name": f"slo:{service.tenant}:{service.name}:{slo.name}", "rules": rules}


def rules_for(config: Config) -> dict[str, Any]:
    """Every SLO of every service as one rule file (``groups: […]``)."""
    return {
        "groups": [slo_group(svc, slo) for svc in config.services for slo in svc.slos],
    }


def rules_yaml(config: Config) -> str:
    """The rule file as YAML text."""
    return yaml.dump(
        rules_for(config), Dumper=_NoAliases, sort_keys=False, width=1000, allow_unicode=True
    )


class _NoAliases(yaml.SafeDumper):
    """Write repeated label maps out in full: rule files are read by people."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
