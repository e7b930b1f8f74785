"""`opsbook users add`: local users who sign in to the web UI with a password."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from opsbook.cli.common import ConfigOpt, config_or_exit, fail, ready_engine, settings

app = typer.Typer(help="Web UI users (name, tenant, role, password).", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="the sign-in name; also the actor on timelines"),
    tenant: str = typer.Option(..., "--tenant", "-t", help="tenant the user works in"),
    role: str = typer.Option(
        "responder", "--role", "-r", help="viewer, responder, commander or admin"
    ),
    password_env: str = typer.Option(
        None,
        "--password-env",
        help="read the password from this environment variable instead of a prompt",
    ),
    config: Path = ConfigOpt,
) -> None:
    """Create a user (or set a new role and password; their sessions end). Passwords are hashed."""
    from opsbook.core.clock import SystemClock
    from opsbook.storage.db import make_sessionmaker
    from opsbook.web.sessions import ROLES, save_user

    st = settings()
    cfg, _ = config_or_exit(config, st)
    if tenant not in {t.name for t in cfg.tenants}:
        fail(f"unknown tenant {tenant!r}; tenants are declared in opsbook.yaml")
    if role not in ROLES:
        fail(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            fail(f"${password_env} is empty or unset")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = ready_engine(st)
    try:
        with make_sessionmaker(engine).begin() as s:
            save_user(s, tenant, name, role, password, SystemClock().now())
    except ValueError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if cfg.user(tenant, name) is None:
        typer.echo(
            f"note: {name} is not in opsbook.yaml's users; they can sign in but not take command",
            err=True,
        )
    typer.echo(f"user {name} ({role}) saved in tenant {tenant}")


@app.command("hash")
def hash_(
    password_env: str = typer.Option(
        None, "--password-env", help="read the password from this variable"
    ),
) -> None:
    """Print an argon2 hash to paste as `password_hash:` of a user in opsbook.yaml (asks for the password)."""
    import os

    from opsbook.web.passwords import hash_password

    password = (
        os.environ.get(password_env, "")
        if password_env
        else typer.prompt("password", hide_input=True, confirmation_prompt=True)
    )
    if not password:
        typer.echo("error: empty password", err=True)
        raise typer.Exit(2)
    typer.echo(hash_password(password))
