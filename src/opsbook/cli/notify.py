"""`opsbook notify …`: check a contact URL by sending it a message now (no server, no database).

A person adds a contact to opsbook.yaml and wants to know, before 3 a.m., that a page will
reach them: ``opsbook notify test 'mailto://…'`` sends through the same Apprise channel the
outbox uses and prints ``delivered`` or the reason (with the URL's secrets masked).
"""

from __future__ import annotations

import typer

URL_FORMS = """\
CONTACT is an Apprise URL (https://github.com/caronc/apprise/wiki), as in users[].contacts:

\b
  Email over SMTP with STARTTLS (mailtos:// for SMTPS on port 465):
    mailto://USER:PASSWORD@smtp.example.com?to=alice@example.com
  Email through a local relay without TLS:
    mailto://127.0.0.1:25?from=ops@example.com&to=me@example.com&mode=insecure
  Slack incoming webhook:
    slack://TokenA/TokenB/TokenC/#channel
  Microsoft Teams incoming webhook:
    msteams://TEAM/TokenA/TokenB/TokenC
  ntfy topic (push to a phone):
    ntfy://ntfy.sh/alice-pager
  Your own webhook (a JSON POST):
    json://hooks.example.com/opsbook
  PagerDuty Events API v2:
    pagerduty://INTEGRATION_KEY@API_KEY
  opsbook's own inbox (/ui/inbox; works offline). In users[].contacts
  write inbox://; to test, name the user: inbox://alice

Quote the URL in the shell: it contains ? and &. Webhooks and email carry an
X-Opsbook-Delivery header with the message id, so a receiver can drop duplicates.
"""

app = typer.Typer(
    help="Check notification contacts: `opsbook notify test CONTACT` sends a message now.",
    no_args_is_help=True,
)


@app.callback()
def notify() -> None:
    """Check notification contacts before they matter."""


@app.command(
    "test", help="Send a test message to CONTACT now and say whether it arrived.\n\n" + URL_FORMS
)
def test_contact(
    contact: str = typer.Argument(..., help="an Apprise URL, as written in users[].contacts"),
    title: str = typer.Option(
        "Test message from opsbook", "--title", help="message title / subject"
    ),
    body: str = typer.Option(
        "If you can read this, opsbook can page you here.", "--body", help="message text"
    ),
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.5, help="seconds to wait for the service"
    ),
) -> None:
    """Send one message; exit 0 and print ``delivered``, or exit 1 with the masked reason."""
    from opsbook.notify.inbox import is_inbox

    if is_inbox(contact):
        _test_inbox(contact, title, body)
        return
    from opsbook.core.ids import new_id
    from opsbook.notify.apprise_channel import send
    from opsbook.notify.redact import mask_url, scrub

    result = send(contact, title, body, timeout, delivery_id=new_id("ntf_test"))
    if result.ok:
        typer.echo("delivered")
        return
    reason = scrub(result.detail, contact) or "delivery failed"
    typer.echo(f"not delivered to {mask_url(contact)}: {reason}", err=True)
    if result.retryable:
        hint = "the service did not answer or is failing now; check that it is reachable, then try again"
    else:
        hint = "the service refused the message or the URL is wrong; check its form in `opsbook notify test --help`"
    typer.echo(f"what to do: {hint}", err=True)
    raise typer.Exit(1)


def _test_inbox(contact: str, title: str, body: str) -> None:
    """``inbox://USER``: put the message in USER's inbox in the server's database."""
    from opsbook.cli.common import config_or_exit, fail, ready_engine, settings
    from opsbook.core.clock import SystemClock
    from opsbook.core.errors import OpsbookError
    from opsbook.flows.inbox import test_message
    from opsbook.notify.inbox import user_of
    from opsbook.storage.db import make_sessionmaker

    user = user_of(contact)
    if user is None:
        fail("name the user whose inbox to test: inbox://alice")
    st = settings()
    cfg, _ = config_or_exit(None, st)
    engine = ready_engine(st)
    try:
        with make_sessionmaker(engine).begin() as s:
            tenant, _item = test_message(s, cfg, user, title, body, SystemClock().now())
    except OpsbookError as exc:
        fail(exc.detail)
    finally:
        engine.dispose()
    typer.echo(f"delivered to the inbox of {user} ({tenant}): see /ui/inbox")
