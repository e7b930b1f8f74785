"""`opsbook slo rules`: the config's SLOs as Prometheus recording and alerting rules (stdout),
for teams that let Prometheus evaluate burn rates and route the alerts to opsbook."""

from __future__ import annotations

from pathlib import Path

import typer

from opsbook.cli.common import ConfigOpt, config_or_exit, settings

app = typer.Typer(help="SLOs: Prometheus rules for the burn-rate alerts.", no_args_is_help=True)


@app.command("rules")
def rules_cmd(config: Path = ConfigOpt) -> None:
    """Write the rule file (valid for `promtool check rules`) to stdout."""
    from opsbook.checks.rules import rules_yaml

    cfg, _ = config_or_exit(config, settings())
    typer.echo(rules_yaml(cfg), nl=False)
