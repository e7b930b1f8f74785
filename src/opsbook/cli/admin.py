"""Commands that work on the config file and the database directly: config, db, tokens."""

from __future__ import annotations

from pathlib import Path

import typer

from opsbook.cli.common import ConfigOpt, config_or_exit, fail, ready_engine, settings
from opsbook.cli.render import table, when
from opsbook.core.errors import OpsbookError

config_app = typer.Typer(help="Validate opsbook.yaml.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)
tokens_app = typer.Typer(
    help="API tokens (for people and scripts) and intake tokens (for alert senders).",
    no_args_is_help=True,
)


@config_app.command("check")
def config_check(
    path: Path = typer.Argument(
        None, help="config file \\[default: $OPSBOOK_CONFIG or ./opsbook.yaml]"
    ),
) -> None:
    """Validate a config file offline; errors name file, line and field. Exit 2 when invalid."""
    cfg, p = config_or_exit(path, settings())
    typer.echo(
        f"{p}: OK ({len(cfg.tenants)} tenants, {len(cfg.services)} services, {len(cfg.routes)} routes, "
        f"{len(cfg.users)} users)"
    )


@config_app.command("reload")
def config_reload(
    url: str = typer.Option(
        None, "--url", help="server \\[env OPSBOOK_URL; default http://127.0.0.1:8080]"
    ),
    token: str = typer.Option(
        None, "--token", help="operator token \\[env OPSBOOK_OPERATOR_TOKEN]", show_default=False
    ),
) -> None:
    """Ask a running server to re-read its config (POST /-/reload with an operator token).

    On the server's own machine `kill -HUP <pid>` does the same without a token.
    """
    import os

    from opsbook.cli.client import Client

    secret = token or os.environ.get("OPSBOOK_OPERATOR_TOKEN")
    if not secret:
        fail(
            "no operator token: set OPSBOOK_OPERATOR_TOKEN=$(opsbook tokens create --operator) "
            "or pass --token"
        )
    answer = Client(url, secret).call("POST", "/-/reload")
    typer.echo(answer.get("detail") or answer.get("status", "reloaded"))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database at OPSBOOK_DATABASE_URL to the current schema (safe to repeat)."""
    from opsbook.storage import migrate
    from opsbook.storage.db import make_engine

    st = settings()
    engine = make_engine(st.database_url)
    try:
        migrate.upgrade(engine)
        typer.echo(f"{st.safe_database_url()}: schema at {migrate.current_revision(engine)} (head)")
    except OpsbookError as exc:
        fail(f"cannot upgrade {st.safe_database_url()}: {exc.detail}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and whether it is current."""
    from opsbook.storage import migrate
    from opsbook.storage.db import make_engine

    st = settings()
    engine = make_engine(st.database_url)
    try:
        rev = migrate.current_revision(engine)
    except OpsbookError as exc:
        fail(f"cannot reach {st.safe_database_url()}: {exc.detail}")
    head = migrate.head_revision()
    typer.echo(
        f"{rev or '(empty)'} ({'current' if rev == head else f'behind; head is {head}: run opsbook db upgrade'})"
    )


@tokens_app.command("create")
def tokens_create(
    tenant: str = typer.Option(None, "--tenant", "-t", help="tenant the token belongs to"),
    role: str = typer.Option(
        None, "--role", "-r", help="viewer, responder, commander or admin (API token)"
    ),
    integration: str = typer.Option(
        None, "--integration", "-i", help="sender name, e.g. alertmanager (intake token)"
    ),
    operator: bool = typer.Option(
        False,
        "--operator",
        help="a token of no tenant for whoever runs the server: reloads the config (POST /-/reload)",
    ),
    name: str = typer.Option(
        None, "--name", "-n", help="who or what uses it; shown on the timeline as the actor"
    ),
    config: Path = ConfigOpt,
) -> None:
    """Create a token and print it ONCE, alone on stdout (so `TOKEN=$(opsbook tokens create …)` works)."""
    from opsbook.core.clock import SystemClock
    from opsbook.flows import tokens as flows
    from opsbook.storage.db import make_sessionmaker

    if operator and (tenant or role or integration):
        fail("--operator makes a token of no tenant: give no --tenant, --role or --integration")
    if not operator and not tenant:
        fail("give --tenant (with --role or --integration), or --operator")
    st = settings()
    cfg, _ = config_or_exit(config, st)
    engine = ready_engine(st)
    try:
        with make_sessionmaker(engine).begin() as s:
            if operator:
                token, secret = flows.create_operator_token(s, SystemClock().now(), name=name)
                what = "operator: may reload the config, nothing else"
            else:
                token, secret = flows.create_token(
                    s,
                    cfg,
                    SystemClock().now(),
                    tenant=tenant,
                    role=role,
                    integration=integration,
                    name=name,
                )
                what = f"tenant {tenant}, " + (
                    f"role {role}" if role else f"integration {integration}"
                )
            typer.echo(f"created {token.id} ({what}); it is shown only now", err=True)
    except OpsbookError as exc:
        fail(exc.detail)
    typer.echo(secret)


@tokens_app.command("list")
def tokens_list(
    tenant: str = typer.Option(None, "--tenant", "-t", help="only this tenant"),
) -> None:
    """List tokens (never their secrets)."""
    from opsbook.storage import repos
    from opsbook.storage.db import make_sessionmaker

    engine = ready_engine(settings())
    with make_sessionmaker(engine)() as s:
        rows = [
            [
                t.id,
                "(none)" if t.kind == "operator" else t.tenant,
                t.name,
                t.kind,
                t.role or t.integration or "",
                t.hint + "…",
                when(t.created_at),
                "revoked" if t.revoked_at else "active",
            ]
            for t in repos.list_tokens(s, tenant)
        ]
    typer.echo(
        table(
            ["ID", "TENANT", "NAME", "KIND", "ROLE/INTEGRATION", "STARTS", "CREATED", "STATE"], rows
        )
    )


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: str = typer.Argument(..., help="id from `opsbook tokens list`"),
) -> None:
    """Revoke a token; servers stop accepting it within a few seconds."""
    from opsbook.core.clock import SystemClock
    from opsbook.flows import tokens as flows
    from opsbook.storage.db import make_sessionmaker

    engine = ready_engine(settings())
    try:
        with make_sessionmaker(engine).begin() as s:
            flows.revoke_token(s, token_id, SystemClock().now())
    except OpsbookError as exc:
        fail(exc.detail)
    typer.echo(f"revoked {token_id}")
