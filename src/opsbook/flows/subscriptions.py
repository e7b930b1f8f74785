"""Status-page subscriptions with double opt-in and per-client limits.

Anyone may ask for a tenant's public updates, so asking only stores a *pending* subscriber and
queues one message to that address with a signed, expiring confirmation link
(``statuspage.confirm``); only a confirmed address gets notices. A link works once: the row
keeps the live link's nonce and a compare-and-set clears it. Requests are counted per client
address and per email address in the database (``storage.rate_limits``), so a flood is
answered 429 on every replica, and nobody can use the page to mail-bomb an address.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.clock import isoformat
from opsbook.core.errors import InputError, NotFound, TooManyRequests
from opsbook.core.ids import new_id
from opsbook.core.settings import Settings
from opsbook.flows.statuspage import EMAIL, enabled_tenant
from opsbook.statuspage import confirm
from opsbook.storage import rate_limits
from opsbook.storage.tables_comms import StatusNoticeRow, SubscriberRow

CONFIRM_KIND = "confirm"
"""Kind of the one notice a pending subscriber may be sent: the confirmation link."""

CONFIRM_PATH = "/status/{tenant}/confirm/{token}"


def link_secret(settings: Settings) -> str:
    """The key that signs confirmation links; subscriptions are off without one."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if len(key.encode()) < 16:
        raise NotFound(
            "subscriptions are off on this server: it has no OPSBOOK_SECRET_KEY "
            "(16+ characters) to sign confirmation links"
        )
    return key


def address_of(email: str) -> str:
    """The normalised address, or InputError naming ``email``."""
    address = email.strip().lower()
    if len(address) > 320 or not EMAIL.match(address):
        raise InputError("enter an email address like name@example.com", field="email")
    return address


def _limit(
    s: Session, scope: str, value: str, most: int, settings: Settings, now: datetime
) -> None:
    count = rate_limits.hit(
        s, rate_limits.key_of(scope, value), now, timedelta(seconds=settings.subscribe_window)
    )
    if count.hits > most:
        wait = max(1, int((count.resets_at - now).total_seconds() + 0.999))
        raise TooManyRequests(
            f"too many subscribe requests from this {scope.split('-')[-1]}; try again in {wait} s",
            retry_after=wait,
            field="email" if scope.endswith("address") else None,
        )


def count_request(
    s: Session, settings: Settings, tenant: str, client: str, email: str, now: datetime
) -> None:
    """Count this request against the client's and the address's limits (TooManyRequests).

    Run it in a transaction of its own that commits even when it refuses, so refused
    requests count too."""
    _limit(s, "subscribe-client", client, settings.subscribe_per_client, settings, now)
    address = address_of(email)
    _limit(
        s, "subscribe-address", f"{tenant}\x00{address}", settings.subscribe_per_address,
        settings, now,
    )  # fmt: skip


def request(
    s: Session, config: Config, settings: Settings, tenant: str, email: str, now: datetime
) -> bool:
    """Store a pending subscriber and queue its confirmation; True if a message was queued.

    The caller answers the same either way, so the page reveals no address. A confirmed
    subscriber is sent nothing; a pending one gets a fresh link (the old one stops working)."""
    enabled_tenant(config, tenant)
    secret = link_secret(settings)
    address = address_of(email)
    row = s.scalars(
        select(SubscriberRow).where(SubscriberRow.tenant == tenant, SubscriberRow.email == address)
    ).first()
    if row is not None and row.confirmed_at is not None and row.unsubscribed_at is None:
        return False
    if row is None:
        row = SubscriberRow(id=new_id("sub"), tenant=tenant, email=address, created_at=now)
        s.add(row)
    row.unsubscribed_at = None
    row.confirmed_at = None
    row.confirm_nonce = secrets.token_hex(16)
    s.flush()
    expires = now + timedelta(seconds=settings.subscribe_confirm_ttl)
    token = confirm.sign(tenant, row.id, row.confirm_nonce, expires, secret)
    url = config.notify.base_url.rstrip("/") + CONFIRM_PATH.format(tenant=tenant, token=token)
    s.add(
        StatusNoticeRow(
            id=rate_limits.key_of("confirm", row.confirm_nonce),
            tenant=tenant,
            subscriber_id=row.id,
            kind=CONFIRM_KIND,
            source_key=f"confirm:{row.id}",
            subject=f"Confirm your subscription to the {tenant} status page",
            body=(
                f"Someone asked to send status updates of {tenant} to this address.\n\n"
                f"To confirm, open {url} and press Confirm (until {isoformat(expires)}).\n\n"
                "If it was not you, ignore this message: nothing more will be sent."
            ),
            queued_at=now,
        )
    )
    return True


@dataclass(frozen=True, slots=True)
class Pending:
    """What a confirmation link would confirm (shown before the person presses Confirm)."""

    tenant: str
    email: str


class ConfirmRefused(Exception):
    """``reason``: invalid (forged, other tenant, unknown), expired, or used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _claims(
    s: Session, settings: Settings, tenant: str, token: str, now: datetime
) -> tuple[confirm.ConfirmClaims, SubscriberRow]:
    try:
        claims = confirm.verify(token, link_secret(settings), now)
    except confirm.InvalidConfirm as exc:
        raise ConfirmRefused(exc.reason) from None
    row = s.get(SubscriberRow, claims.subscriber_id)
    if claims.tenant != tenant or row is None or row.tenant != tenant:
        raise ConfirmRefused("invalid")
    if row.confirm_nonce != claims.nonce:
        raise ConfirmRefused("used")  # confirmed with it already, or a newer link was sent
    return claims, row


def check(s: Session, settings: Settings, tenant: str, token: str, now: datetime) -> Pending:
    """What the link confirms; changes nothing (mail scanners fetch every link they see)."""
    _, row = _claims(s, settings, tenant, token, now)
    return Pending(tenant, row.email)


def confirm_subscription(
    s: Session, settings: Settings, tenant: str, token: str, now: datetime
) -> Pending:
    """Confirm the subscriber once: a compare-and-set on the nonce, so a second use is refused."""
    claims, row = _claims(s, settings, tenant, token, now)
    done = s.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == row.id, SubscriberRow.confirm_nonce == claims.nonce)
        .values(confirmed_at=now, confirm_nonce=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ConfirmRefused("used")
    return Pending(tenant, row.email)
